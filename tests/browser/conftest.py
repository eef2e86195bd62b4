"""Browser fixtures: the live server of tests/browser/test_browser.py, one Chromium per
xdist worker and a fresh context per test."""

import os
import uuid

import pytest

import cli
from identity.tokens import issue_token
from run import close_app, create_app
from tests.browser.support import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, browsing
from tests.conftest import (
    ApiClient,
    _config,
    create_hotel,
    make_user,
    stock_room_type,
)
from tests.support import server_processes


def require_chromium():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's package")
        pytest.skip("chromium not installed (apt-get install chromium)")


@pytest.fixture(scope="session")
def live(servers, tmp_path_factory):
    """`python run.py` on a database of its own, with an admin, a manager, a guest and a
    stocked hotel; one server for the browser tests of each xdist worker (a start costs
    seconds)."""
    require_chromium()
    config = _config(servers, tmp_path_factory.mktemp("browser"), f"test_{uuid.uuid4().hex[:12]}")
    app = create_app(config)
    cli.provision(app)
    with app.app_context():
        db = app.data.driver.db
        admin = make_user(db, "admin", email="browser-admin@example.com")
        manager = make_user(db, "manager", email="browser-manager@example.com")
        guest = make_user(db, "guest", email="browser-guest@example.com")
        token = issue_token(admin, app.config["SECRET_KEY"], 3600)
        as_admin = ApiClient(app.test_client(), token, admin)
        hotel = create_hotel(as_admin, manager)
        created = as_admin.post(
            "room-types",
            {"hotel": hotel["_id"], "name": "Double", "max_adults": 2, "total_rooms": 5},
        )
        room_type = created.json
        start = stock_room_type(as_admin, room_type, nights=10)
    with server_processes(config, count=1) as (base,):
        yield {
            "base": base,
            "admin": admin,
            "manager": manager,
            "guest": guest,
            "room_type": room_type,
            "start": start,
            "secret": app.config["SECRET_KEY"],
        }
    with app.app_context():
        app.data.driver.db.client.drop_database(config["MONGO_DBNAME"])
    close_app(app)


@pytest.fixture(scope="session")
def browser():
    """One Chromium per xdist worker (a launch costs a second or two); each test gets a
    fresh context, so no cookie or storage crosses tests."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live):
    with browsing(browser, live["base"]) as opened:
        yield opened
