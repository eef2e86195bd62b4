"""A hotel manager's day at the front desk, in Chromium, on the demo business: today's
arrivals and departures as worklists, a check-in, a check-out, a no-show, a
cancellation after reading its refund, a rate plan and a range of prices edited. Every
page is checked by axe-core and laid out at a desktop's and a phone's width with no
overlapping boxes (screenshots in test-artifacts/)."""

import threading
import uuid
from decimal import Decimal

import pytest
from bson import ObjectId
from werkzeug.serving import make_server

import cli
from demo import seed
from plumbing.embedded import free_port
from plumbing.values import today
from run import InFlight, close_app, create_app
from tests.browser.support import browsing, looked_at, sign_in_to_admin
from tests.conftest import _config

MANAGER, PASSWORD, _ = seed.DEMO_ACCOUNTS["manager"]


@pytest.fixture(scope="module")
def demo(servers, tmp_path_factory):
    """The demo business (its 32 hotels, accounts and history; three weeks of nights
    around today instead of a year), served on its own database by the server `python
    run.py` runs (werkzeug's, threaded), in a thread of this process."""
    config = _config(servers, tmp_path_factory.mktemp("demo"), f"test_{uuid.uuid4().hex[:12]}")
    app = create_app(config)
    cli.provision(app)
    with app.app_context():
        db = app.data.driver.db
        seed.seed_demo(db, nights=21, start=today().plus(-14))
    server = make_server("127.0.0.1", free_port(), InFlight(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    yield {"base": f"http://127.0.0.1:{server.server_port}", "db": db}
    server.shutdown()
    thread.join(10)
    server.server_close()
    db.client.drop_database(config["MONGO_DBNAME"])
    close_app(app)


@pytest.fixture
def desk(browser, demo):
    with browsing(browser, demo["base"]) as page:
        yield page


def codes(page, worklist):
    """The confirmation codes of a worklist's entries that wait for the desk (a button)."""
    return page.locator(f"#{worklist} li:has(button) > a").all_inner_texts()


def test_a_managers_day_at_the_front_desk(desk, demo):
    from playwright.sync_api import expect

    page, db = desk, demo["db"]
    page.set_default_timeout(10_000)
    manager = db.users.find_one({"email": MANAGER})
    runs = {h["_id"] for h in db.hotels.find({"managers": manager["_id"]})}
    sign_in_to_admin(page, MANAGER, PASSWORD)
    expect(page.locator("#occupancy-chart svg")).to_be_visible()
    arrivals, departures = codes(page, "arrivals"), codes(page, "departures")
    assert len(arrivals) >= 2 and departures, (arrivals, departures)
    looked_at(page, "day-dashboard")

    # The first arrival is checked in from the worklist; the page says so, and the
    # worklist shows them in the house.
    first = arrivals[0]
    page.locator("#arrivals li", has_text=first).locator("button:has-text('check in')").click()
    expect(page.locator(".alert-success")).to_contain_text(f"{first} checked in")
    expect(page.locator("#arrivals li", has_text=first)).to_contain_text("checked in")

    # A guest leaving today is checked out from the departures worklist.
    leaving = departures[0]
    page.locator("#departures li", has_text=leaving).locator(
        "button:has-text('check out')"
    ).click()
    expect(page.locator(".alert-success")).to_contain_text(f"{leaving} checked out")

    # Another arrival never came: recorded from the booking's own page.
    missed = arrivals[1]
    page.click(f"#arrivals a:has-text('{missed}')")
    expect(page.locator("#cancel-terms")).to_be_visible()
    looked_at(page, "day-booking-desk")
    page.click("button:has-text('record a no-show')")
    expect(page.locator(".alert-success")).to_contain_text(f"{missed} recorded as a no-show")

    # A guest calls to cancel a stay next week: the page says what cancelling refunds,
    # nothing happens until the box is ticked, then the refund is what it said.
    ahead = db.bookings.find_one(
        {
            "hotel": {"$in": list(runs)},
            "status": "confirmed",
            "payment": "prepay",
            "rate_plan": "flexible",
            "check_in": {"$gt": today().plus(3)},
        }
    )
    page.goto(f"/admin/bookings/details/?id={ahead['_id']}")
    terms = page.locator("#cancel-terms").inner_text()
    assert terms.startswith("Cancelling now refunds"), terms
    page.click("button:has-text('Cancel the booking')")
    expect(page.locator(".alert-danger, .alert-error")).to_contain_text("nothing cancelled")
    page.check("input[name=confirmed]")
    page.click("button:has-text('Cancel the booking')")
    done = page.locator(".alert-success")
    expect(done).to_contain_text(f"{ahead['confirmation_code']} cancelled")
    cancelled = db.bookings.find_one({"_id": ahead["_id"]})
    refund = f"{cancelled['refund_amount']} {cancelled['currency']}"
    assert refund in done.inner_text() and refund.split()[0] in terms

    # A rate plan's discount changes in its typed form.
    room_type = db.room_types.find_one({"hotel": {"$in": list(runs)}})
    page.goto(f"/admin/room-types/edit/?id={room_type['_id']}")
    looked_at(page, "day-room-type")
    discount = page.locator("input[name='rate_plans-1-discount_percent']")
    discount.fill("12")
    page.click("input[type=submit][value='Save']")
    expect(page.locator(".alert-success")).to_be_visible()
    plans = db.room_types.find_one({"_id": room_type["_id"]})["rate_plans"]
    assert plans[1]["discount_percent"] == 12

    # A week of nights repriced across the hotel's room types; rooms and closings kept.
    page.goto(f"/admin/calendar/?hotel={room_type['hotel']}")
    looked_at(page, "day-calendar")
    first_night, last_night = today().plus(3), today().plus(5)
    page.fill("#range-first", first_night.isoformat())
    page.fill("#range-last", last_night.isoformat())
    page.fill("#range-price", "333")
    page.click("#range-submit")
    ticked = db.room_types.count_documents({"hotel": room_type["hotel"]})
    expect(page.locator(".alert-success")).to_contain_text(
        f"3 nights of {ticked} room types set" if ticked > 1 else "3 nights set"
    )
    cell = page.locator(f"#night-{room_type['_id']}-{first_night.isoformat()}")
    expect(cell).to_contain_text("333")
    week = {"$gte": first_night, "$lt": last_night.plus(1)}
    repriced = db.inventory.find({"hotel": room_type["hotel"], "date": week})
    assert {r["price"].to_decimal() for r in repriced} == {Decimal("333")}

    # What the day did, as stored.
    statuses = {
        b["confirmation_code"]: b["status"]
        for b in db.bookings.find({"confirmation_code": {"$in": [first, leaving, missed]}})
    }
    assert statuses == {first: "checked_in", leaving: "checked_out", missed: "no_show"}
    assert db.bookings.find_one({"_id": ObjectId(ahead["_id"])})["status"] == "cancelled"
