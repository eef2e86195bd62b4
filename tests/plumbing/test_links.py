"""Every link in every answer leads somewhere for the caller who received it, and a
booking offers the actions its owner can take now."""

from urllib.parse import urljoin

import pytest
from bson import ObjectId

from plumbing.values import today
from tests.factories import book, pay

API = "/api/v1/"
START = today().plus(10)  # the stock fixture's first night


def hrefs(node):
    """Every GET-able link in an answer (an action link names its method)."""
    if isinstance(node, dict):
        if isinstance(node.get("href"), str) and node.get("method", "GET") == "GET":
            yield expand(node["href"]) if node.get("templated") else node["href"]
        for value in node.values():
            yield from hrefs(value)
    elif isinstance(node, list):
        for value in node:
            yield from hrefs(value)


def expand(template):
    """A URI template's query variables filled with a search that can answer."""
    base, _, names = template.partition("{?")
    values = {"check_in": START.isoformat(), "check_out": START.plus(2).isoformat()}
    values |= {"city": "Paris", "adults": "1"}
    return base + "?" + "&".join(f"{n}={values[n]}" for n in names.rstrip("}").split(","))


def follow_all(client, paths):
    """GET each path, then every link in the answers; returns {href: status} of failures."""
    failures, seen = {}, set()
    for path in paths:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.json)
        for href in set(hrefs(answer.json)):
            target = urljoin(API, href) if not href.startswith("/") else href
            if target in seen:
                continue
            seen.add(target)
            headers = client._headers(None)
            status = client.flask.get(target, headers=headers, follow_redirects=True).status_code
            if status != 200:
                failures[href] = status
    return failures


@pytest.fixture
def world(guest, manager, stock, db, login):
    room_type, start = stock(nights=4, allotment=3)
    booking = book(guest, room_type, start).json
    paid = book(guest, room_type, start.plus(2)).json
    assert pay(guest, paid).status_code == 201
    return {"room_type": room_type, "booking": booking, "paid": paid}


@pytest.mark.parametrize("who", ["anonymous", "guest", "manager", "admin"])
def test_every_link_resolves_for_its_caller(world, who, client, guest, manager, admin):
    caller = {"anonymous": client, "guest": guest, "manager": manager, "admin": admin}[who]
    paths = ["", "hotels", "room-types", f"room-types/{world['room_type']['_id']}"]
    if who != "anonymous":
        paths += ["bookings", "payments", "me"]
    if who in ("guest", "admin"):
        paths += [f"bookings/{world['booking']['_id']}", f"bookings/{world['paid']['_id']}"]
    assert follow_all(caller, paths) == {}


def test_the_owner_sees_its_guest_link_as_me(guest, world):
    answer = guest.get(f"bookings/{world['booking']['_id']}").json
    assert answer["_links"]["related"]["guest"] == {"title": "me", "href": "me"}


def test_a_pending_booking_offers_pay_and_cancel_a_confirmed_one_cancel(guest, world, db):
    pending = guest.get(f"bookings/{world['booking']['_id']}").json
    assert set(pending["_links"]) >= {"pay", "cancel"}
    pay_link, cancel = pending["_links"]["pay"], pending["_links"]["cancel"]
    assert (pay_link["method"], pay_link["href"]) == ("POST", "payments")
    assert pay_link["body"]["booking"] == pending["_id"]
    assert cancel["headers"]["If-Match"] == pending["_etag"]
    assert cancel["description"] == "Nothing was paid: cancelling frees the nights."
    assert cancel["costs"] is False
    # Following the cancel link as it says cancels the booking.
    done = guest.patch(cancel["href"], cancel["body"], etag=cancel["headers"]["If-Match"])
    assert done.status_code == 200, done.json
    assert db.bookings.find_one({"_id": ObjectId(pending["_id"])})["status"] == "cancelled"
    confirmed = guest.get(f"bookings/{world['paid']['_id']}").json
    assert "pay" not in confirmed["_links"] and "cancel" in confirmed["_links"]
    assert confirmed["_links"]["cancel"]["description"].startswith("Cancelling now refunds")
    listed = guest.get("bookings").json["_items"]
    cancelled = next(b for b in listed if b["_id"] == pending["_id"])
    assert not {"pay", "cancel"} & set(cancelled["_links"])


def test_the_create_answer_carries_the_actions(guest, stock):
    room_type, start = stock(nights=2)
    created = book(guest, room_type, start).json
    assert created["_links"]["pay"]["body"]["booking"] == created["_id"]
    assert created["_links"]["related"]["guest"]["href"] == "me"


def test_the_hotels_manager_gets_only_the_cancel_of_a_guests_booking(manager, world, login):
    seen = manager.get(f"bookings/{world['booking']['_id']}").json
    assert "cancel" in seen["_links"] and not {"pay", "change"} & set(seen["_links"])
    assert "guest" not in seen["_links"].get("related", {})
    stranger = login("manager")
    assert stranger.get(f"bookings/{world['booking']['_id']}").status_code == 404
