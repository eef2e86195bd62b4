"""Fixtures: one real embedded MongoDB-compatible server and one real Redis per session,
a freshly named database per test, and authenticated clients for each role."""

import secrets
import uuid

import pytest

from run import close_app, create_app
from services import embedded, identity
from services.representation import today

PASSWORD = "correct horse battery"
# Hashing with argon2 is deliberately slow; role fixtures reuse one real hash.
_PASSWORD_HASH = identity.hash_password(PASSWORD)


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("servers")
    mongo = embedded.mongo_server(data_dir, embedded.free_port(), in_memory=True).start()
    redis = embedded.redis_server(data_dir, embedded.free_port(), persist=False).start()
    yield {
        "mongo": mongo,
        "redis": redis,
        "MONGO_URI": embedded.mongo_uri(mongo.port),
        "REDIS_URL": embedded.redis_url(redis.port),
        "DATA_DIR": str(data_dir),
    }
    redis.stop()
    mongo.stop()


@pytest.fixture
def app_config(servers, tmp_path):
    return {
        "MONGO_URI": servers["MONGO_URI"],
        "REDIS_URL": servers["REDIS_URL"],
        "MONGO_DBNAME": f"test_{uuid.uuid4().hex[:12]}",
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PAYMENT_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "SEED_DEMO": False,
        "TESTING": True,
        # Generous limits so that only the rate-limit tests ever meet one.
        "RATE_LIMIT": "100000/minute",
        "AUTH_RATE_LIMIT": "100000/minute",
        "BOOKING_RATE_LIMIT": "100000/minute",
    }


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    with app.app_context():
        yield app
        app.data.driver.db.client.drop_database(app_config["MONGO_DBNAME"])
    close_app(app)


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
        token = identity.issue_token(user, app.config["SECRET_KEY"], 3600)
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
        body = {
            "name": "Hotel Test",
            "address": {"line1": "1 Rue de Rivoli", "city": "Paris", "country": "FR"},
            "location": {"type": "Point", "coordinates": [2.3376, 48.8606]},
            "stars": 4,
            "amenities": ["wifi"],
            "currency": "EUR",
            "timezone": "Europe/Paris",
            "managers": [str(manager.user["_id"])],
        }
        body.update(overrides)
        response = admin.post("hotels", body)
        assert response.status_code == 201, response.json
        return response.json

    return _make


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
        return room_type, start

    return _stock
