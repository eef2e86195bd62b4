"""Fixtures: one real embedded MongoDB-compatible server and one real Redis per test session
(per xdist worker), one database provisioned once (indexes, validators, views) and
emptied after every test, one app shared by the tests, and authenticated clients for
each role. A test that changes the schema asks for a database of its own with
`@pytest.mark.fresh_schema`.
"""

import os
import secrets
import time
import urllib.request
import uuid

import pytest
from argon2 import PasswordHasher
from pymongo import monitoring

import cli
from identity import accounts
from identity.tokens import issue_token
from plumbing import embedded, provisioning
from plumbing.values import today
from run import close_app, create_app
from tests import recording  # noqa: F401 - registers the command recorder first
from tests.smtp_server import SmtpServer
from tests.stripe_server import API_KEY as STRIPE_API_KEY
from tests.stripe_server import FakeStripe

PASSWORD = "correct horse battery"
# argon2's production cost is deliberately slow; the tests hash and verify thousands of
# times, so they use argon2id with the smallest cost. Production never calls use_hasher.
accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
_PASSWORD_HASH = accounts.hash_password(PASSWORD)


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("servers")
    mongo = embedded.mongo_server(data_dir, embedded.free_port(), in_memory=True).start()
    redis = embedded.redis_server(data_dir, embedded.free_port(), persist=False).start()
    smtp = SmtpServer().start()
    yield {
        "mongo": mongo,
        "redis": redis,
        "smtp": smtp,
        "MONGO_URI": embedded.mongo_uri(mongo.port),
        "REDIS_URL": embedded.redis_url(redis.port),
        "SMTP_URL": smtp.url,
        "DATA_DIR": str(data_dir),
    }
    smtp.stop()
    redis.stop()
    mongo.stop()


@pytest.fixture
def smtp(servers):
    """The suite's real SMTP server (tests/smtp_server.py): its inbox."""
    servers["smtp"].inbox.refusing = False
    return servers["smtp"]


def _config(servers, data_dir, dbname):
    return {
        "MONGO_URI": servers["MONGO_URI"],
        "REDIS_URL": servers["REDIS_URL"],
        "SMTP_URL": servers["SMTP_URL"],
        "MONGO_DBNAME": dbname,
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PAYMENT_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        # Real servers, test cards: a staging deployment, as far as payments go.
        "PAYMENT_SANDBOX_ALLOWED": True,
        "SEED_DEMO": False,
        "TESTING": True,
        # Searches read MongoDB here: a read model per app would poll the one shared
        # server's change stream all session long. tests/search/test_read_model.py
        # turns it on and checks its answers against the database's.
        "SEARCH_MODEL": False,
        # The suite's webhook receivers listen on loopback (tests/webhook_receiver.py).
        "WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"],
        # Generous limits so that only the rate-limit tests ever meet one.
        "RATE_LIMIT": "100000/minute",
        "AUTH_RATE_LIMIT": "100000/minute",
        "BOOKING_RATE_LIMIT": "100000/minute",
    }


@pytest.fixture(scope="session")
def shared_app(servers, tmp_path_factory):
    """The app most tests use, on a database provisioned once for the session."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    config = _config(servers, tmp_path_factory.mktemp("data"), f"test_{worker}")
    app = create_app(config)
    cli.provision(app)
    yield app
    with app.app_context():
        app.data.driver.db.client.drop_database(config["MONGO_DBNAME"])
    close_app(app)


class _Writes(monitoring.CommandListener):
    """Which collections of which database this process wrote to since the last reset."""

    COMMANDS = {"insert", "update", "delete", "findAndModify"}

    def __init__(self):
        self.written = set()

    def started(self, event):
        if event.command_name in self.COMMANDS:
            self.written.add((event.database_name, event.command[event.command_name]))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


WRITES = _Writes()
monitoring.register(WRITES)  # before any client exists, so every client reports


def _empty(app, everything):
    """Remove the documents the test wrote (indexes, validators and views stay) and every
    Redis key. `everything` when processes other than this one may have written."""
    db = app.data.driver.db
    if everything:
        names = [
            c["name"]
            for c in db.list_collections(filter={"type": "collection"})
            if not c["name"].startswith("system.")
        ]
    else:
        names = {name for database, name in WRITES.written if database == db.name}
    for name in names:
        if name != provisioning.MARKER:  # provisioning state, like indexes and validators
            db[name].delete_many({})
    WRITES.written.clear()
    app.redis.flushdb()


def _started(server):
    """A session's Stripe stand-in: started, stopped after."""
    server.start()
    yield server
    server.stop()


def _stripe_app(servers, shared_app, tmp_path_factory, stand_in):
    """An app with PAYMENT_PROVIDER=stripe on the shared app's database, its SDK pointed
    at a local stand-in for Stripe."""
    config = _config(servers, tmp_path_factory.mktemp("stripe"), shared_app.config["MONGO_DBNAME"])
    config.update(
        PAYMENT_PROVIDER="stripe",
        STRIPE_SECRET_KEY=STRIPE_API_KEY,
        STRIPE_WEBHOOK_SECRET=stand_in.webhook_secret,
        STRIPE_API_BASE=stand_in.url,
    )
    app = create_app(config)
    yield app
    close_app(app)


@pytest.fixture(scope="session")
def fake_stripe():
    """A local server speaking Stripe's API (tests/stripe_server.py)."""
    yield from _started(FakeStripe("whsec_" + secrets.token_hex(24)))


@pytest.fixture(scope="session")
def stripe_app(servers, shared_app, fake_stripe, tmp_path_factory):
    yield from _stripe_app(servers, shared_app, tmp_path_factory, fake_stripe)


@pytest.fixture(scope="session")
def localstripe():
    """localstripe (PyPI), Stripe's stand-in no one here wrote (tests/localstripe_server.py)."""
    from tests.localstripe_server import LocalStripe

    yield from _started(LocalStripe("whsec_" + secrets.token_hex(24)))


@pytest.fixture(scope="session")
def localstripe_app(servers, shared_app, localstripe, tmp_path_factory):
    """An app with PAYMENT_PROVIDER=stripe whose SDK talks to localstripe."""
    yield from _stripe_app(servers, shared_app, tmp_path_factory, localstripe)


@pytest.fixture
def fresh_app(servers, tmp_path):
    """An app on a database of its own, provisioned for this test and dropped after."""
    app = create_app(_config(servers, tmp_path, f"test_{uuid.uuid4().hex[:12]}"))
    cli.provision(app)
    yield app
    with app.app_context():
        app.data.driver.db.client.drop_database(app.config["MONGO_DBNAME"])
    close_app(app)


@pytest.fixture
def app(request):
    """The shared app (emptied after the test), or a fresh one for `fresh_schema` tests."""
    if request.node.get_closest_marker("fresh_schema"):
        app = request.getfixturevalue("fresh_app")
        with app.app_context():
            yield app
        return
    app = request.getfixturevalue("shared_app")
    WRITES.written.clear()
    with app.app_context():
        try:
            yield app
        finally:
            # The live status change stream (routes/live.py) outlives its last listener
            # for a while in production; a test's ends with it (its thread's driver
            # calls would otherwise run inside later tests, Hypothesis's included).
            served = app.extensions.get("live_streams")
            if served is not None:
                served.feed.stop()
            app.extensions["search_model"].stop()  # the same, for the search read model
            # and the webhook dispatcher a worker job started: no thread of one test
            # queries the database during the next.
            app.extensions["webhook_senders"].stop()
            app.extensions["mail_sender"].stop()
            # A test that asked for app_config may have started servers of its own
            # (run.py, a second app process) writing where this process cannot see.
            _empty(app, everything="app_config" in request.fixturenames)


@pytest.fixture
def app_config(app, tmp_path):
    """The settings of `app`, for a test that builds an app of its own on the same database."""
    keys = ("MONGO_URI", "REDIS_URL", "SMTP_URL")
    secrets_ = ("MONGO_DBNAME", "SECRET_KEY", "PAYMENT_WEBHOOK_SECRET")
    config = _config({k: app.config[k] for k in keys}, tmp_path, app.config["MONGO_DBNAME"])
    config.update({k: app.config[k] for k in secrets_})
    return config


@pytest.fixture
def db(app):
    return app.data.driver.db


@pytest.fixture
def client(app):
    return ApiClient(app.test_client())


class ApiClient:
    """A test client that speaks JSON under /api/v1 and may carry a bearer token."""

    def __init__(self, flask_client, token=None, user=None):
        self.flask, self.token, self.user = flask_client, token, user

    def _headers(self, headers):
        merged = {}
        if self.token:
            merged["Authorization"] = f"Bearer {self.token}"
        merged.update(headers or {})
        return merged

    def _url(self, path):
        return path if path.startswith("/") else f"/api/v1/{path}"

    def request(self, method, path, json=None, headers=None, **kwargs):
        return self.flask.open(
            self._url(path), method=method, json=json, headers=self._headers(headers), **kwargs
        )

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.request("PUT", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def patch(self, path, json=None, etag=None, **kw):
        headers = dict(kw.pop("headers", None) or {})
        if etag is not None:
            headers["If-Match"] = etag
        return self.request("PATCH", path, json=json, headers=headers, **kw)

    def patch_item(self, path, json):
        """PATCH with the item's current etag, as a careful client would."""
        current = self.get(path)
        assert current.status_code == 200, current.json
        return self.patch(path, json, etag=current.json["_etag"])

    def delete_item(self, path):
        """DELETE with the item's current etag."""
        current = self.get(path)
        assert current.status_code == 200, current.json
        return self.delete(path, headers={"If-Match": current.json["_etag"]})


def make_user(db, role="guest", email=None, name=None):
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    user = {
        "email": email,
        "name": name or role.title(),
        "role": role,
        "password_hash": _PASSWORD_HASH,
        "token_version": 0,
    }
    db.users.insert_one(user)
    return user


@pytest.fixture
def login(app, db):
    """login(role) -> an ApiClient signed in as a new user with that role."""

    def _login(role="guest", **kwargs):
        user = make_user(db, role, **kwargs)
        token = issue_token(user, app.config["SECRET_KEY"], 3600)
        return ApiClient(app.test_client(), token, user)

    return _login


@pytest.fixture
def guest(login):
    return login("guest")


@pytest.fixture
def manager(login):
    return login("manager")


@pytest.fixture
def admin(login):
    return login("admin")


@pytest.fixture
def make_hotel(admin, manager):
    """make_hotel(**overrides) -> a hotel created through the API, managed by `manager`."""

    def _make(**overrides):
        return create_hotel(admin, manager.user, **overrides)

    return _make


def create_hotel(admin, manager, **overrides):
    """A Paris hotel created through the API by `admin`, managed by `manager`."""
    body = {
        "name": "Hotel Test",
        "address": {"line1": "1 Rue de Rivoli", "city": "Paris", "country": "FR"},
        "location": {"type": "Point", "coordinates": [2.3376, 48.8606]},
        "stars": 4,
        "amenities": ["wifi"],
        "currency": "EUR",
        "timezone": "Europe/Paris",
        "managers": [str(manager["_id"])],
    }
    body.update(overrides)
    response = admin.post("hotels", body)
    assert response.status_code == 201, response.json
    return response.json


def stock_room_type(admin, room_type, nights=3, allotment=2, price="100.00", start=None):
    """Inventory for `nights` nights from `start` (default 10 days ahead), by range PUT."""
    start = start or today().plus(10)
    response = admin.put(
        f"room-types/{room_type['_id']}/inventory",
        {
            "from": start.isoformat(),
            "to": start.plus(nights).isoformat(),
            "allotment": allotment,
            "price": price,
        },
    )
    assert response.status_code == 200, response.json
    return start


def set_night(admin, room_type, night, allotment, price="120.00"):
    """One night of a room type's inventory set by range PUT; the response."""
    body = {
        "from": night.isoformat(),
        "to": night.plus(1).isoformat(),
        "allotment": allotment,
        "price": price,
    }
    return admin.put(f"room-types/{room_type['_id']}/inventory", body)


@pytest.fixture
def make_room_type(admin, make_hotel):
    def _make(hotel=None, **overrides):
        hotel = hotel or make_hotel()
        body = {"hotel": hotel["_id"], "name": "Double", "max_adults": 2, "total_rooms": 5}
        body.update(overrides)
        response = admin.post("room-types", body)
        assert response.status_code == 201, response.json
        return response.json

    return _make


@pytest.fixture
def stock(admin, make_room_type):
    """stock(nights=3, allotment=2, price="100.00", start=...) -> room type with inventory."""

    def _stock(nights=3, allotment=2, price="100.00", start=None, room_type=None, **rt):
        room_type = room_type or make_room_type(**{"total_rooms": max(5, allotment), **rt})
        return room_type, stock_room_type(admin, room_type, nights, allotment, price, start)

    return _stock


def wait_for(condition, seconds=10, what="the condition"):
    """Until condition() is true, polling; fails after `seconds` naming `what`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def wait_until_serving(process, base, path="/health", seconds=60):
    """Until `base + path` answers: a server process the test started is up."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(base + path, timeout=2)  # noqa: S310 - a local server
            return
        except OSError:
            assert process.poll() is None, "the server process died"
            assert time.monotonic() < deadline, "the server never answered"
            time.sleep(0.2)
