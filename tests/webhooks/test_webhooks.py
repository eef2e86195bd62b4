"""Signed webhooks to a hotel's systems, against a real HTTP receiver that verifies every
delivery with the standardwebhooks library: written once from the change stream, sent
by the worker, retried, disabled after three days, replayed; the SSRF guard."""

from datetime import timedelta

import pytest

from plumbing.values import utcnow
from tests.factories import pay
from tests.support import unpaid_booking
from tests.webhook_receiver import Receiver
from webhooks import delivery, feed, guard

ALL = ["booking.created", "booking.confirmed", "booking.cancelled", "payment.refunded"]


@pytest.fixture
def receiver():
    started = Receiver().start()
    yield started
    started.stop()


def _endpoint(client, hotel_id, receiver, events=ALL):
    created = client.post(
        "webhook-endpoints", {"hotel": hotel_id, "url": receiver.url, "events": events}
    )
    assert created.status_code == 201, created.json
    receiver.secret = created.json["secret"]
    return created.json


def _pass(app, db, now=None):
    """One pass of the worker's webhook jobs, sending here (not on its threads)."""
    feed.drain(db)
    return delivery.deliver(db, app.extensions["webhooks"], now=now)


def test_a_paid_booking_is_told_signed_once_in_commit_order(
    app, db, manager, guest, stock, receiver
):
    feed.drain(db)  # the feed's place: what happens from now on
    room_type, start = stock(nights=2, allotment=2, price="150.25")
    endpoint = _endpoint(manager, room_type["hotel"], receiver)
    assert endpoint["secret"].startswith("whsec_")
    shown = manager.get(f"webhook-endpoints/{endpoint['_id']}")
    assert shown.status_code == 200 and "secret" not in shown.json  # shown once
    from tests.factories import book

    booking = book(guest, room_type, start, nights=2).json
    assert pay(guest, booking).status_code == 201
    assert _pass(app, db) == (2, 0)
    assert _pass(app, db) == (0, 0)  # nothing twice
    assert receiver.types() == ["booking.created", "booking.confirmed"]
    (created_id, created), (confirmed_id, confirmed) = receiver.received
    assert created_id != confirmed_id and receiver.unverified == 0
    assert confirmed["data"]["_id"] == booking["_id"]
    assert confirmed["data"]["status"] == "confirmed"
    assert confirmed["data"]["check_in"] == booking["check_in"]  # as the API shows it
    assert confirmed["data"]["total_price"] == "300.50"
