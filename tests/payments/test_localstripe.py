"""Real cards, end to end, as Stripe's integration guide runs them - against localstripe
(PyPI), a stateful Stripe emulator no one here wrote, through the official SDK.

Each journey is what a client application and Stripe.js do: card details become a
PaymentMethod (Stripe.js createPaymentMethod), Innkeeper charges it, 3-D Secure is passed
in the browser, and localstripe's own signed webhook confirms the booking.
"""

import pytest
from bson import ObjectId

from tests.conftest import WRITES, _empty
from tests.factories import AT_HOTEL, change, make_booking, no_show


@pytest.fixture
def app(localstripe_app):
    WRITES.written.clear()
    with localstripe_app.app_context():
        try:
            yield localstripe_app
        finally:
            _empty(localstripe_app, everything=False)


def pay(client, booking, method=None):
    body = {"booking": booking["_id"]}
    if method is not None:
        body["payment_method"] = method
    return client.post("payments", body)


def deliver(client, raw, signature):
    return client.flask.post(
        "/api/v1/webhooks/payments",
        data=raw,
        headers={"Content-Type": "application/json", "Stripe-Signature": signature},
    )


def status(db, booking):
    return db.bookings.find_one({"_id": ObjectId(booking["_id"])})["status"]


@pytest.fixture
def booking(guest, stock):
    room_type, start = stock(nights=2, price="150.25")
    return make_booking(guest, room_type, start, nights=2)


def test_a_card_the_browser_created_pays(guest, booking, localstripe, db):
    method = localstripe.payment_method("visa")  # pm_ and 14 random characters
    paid = pay(guest, booking, method)
    assert paid.status_code == 201, paid.json
    assert paid.json["payment_method"] == method and paid.json["provider"] == "stripe"
    assert status(db, booking) == "confirmed"
    intent = localstripe.intent(paid.json["provider_reference"])
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 30050, "eur")
    assert intent.metadata["payment"] == paid.json["_id"]


def test_three_d_secure_is_confirmed_once_by_localstripes_own_webhook(
    guest, client, booking, localstripe, db
):
    needs = pay(guest, booking, localstripe.payment_method("three_d_secure"))
    assert needs.status_code == 202, needs.json
    assert needs.json["next_action"]["type"] == "use_stripe_sdk"
    assert status(db, booking) == "pending_payment"
    intent = needs.json["provider_reference"]
    localstripe.authenticate(intent, needs.json["next_action"]["client_secret"])
    raw, signature = localstripe.deliveries.wait_for("payment_intent.succeeded", intent)
    outcomes = [deliver(client, raw, signature).json["outcome"] for _ in range(3)]
    assert outcomes[0] == "confirmed"
    assert all(o == "duplicate event: already processed" for o in outcomes[1:])
    assert status(db, booking) == "confirmed"
    assert db.webhook_events.count_documents({}) == 1
    assert db.payments.find_one()["status"] == "succeeded"


def test_a_declined_card_is_402_and_another_card_pays(guest, booking, localstripe, db):
    declined = pay(guest, booking, localstripe.payment_method("declined"))
    assert declined.status_code == 402, declined.json
    assert declined.json["failure_reason"] == "card_declined"
    assert "pay with another card" in declined.json["_error"]["message"]
    assert status(db, booking) == "pending_payment"
    paid = pay(guest, booking, localstripe.payment_method("visa"))
    assert paid.status_code == 201, paid.json
    assert status(db, booking) == "confirmed"


def test_the_client_secret_flow(guest, client, booking, localstripe, db):
    """No payment_method: Innkeeper creates the PaymentIntent and hands its client_secret
    to the browser, which confirms it (stripe.confirmPayment); the webhook settles it."""
    created = pay(guest, booking)
    assert created.status_code == 202, created.json
    action = created.json["next_action"]
    assert action["type"] == "confirm_in_browser"
    intent = created.json["provider_reference"]
    assert action["client_secret"].startswith(intent + "_secret_")
    assert localstripe.intent(intent).status == "requires_payment_method"
    assert localstripe.confirm_in_browser(intent).status == "succeeded"
    raw, signature = localstripe.deliveries.wait_for("payment_intent.succeeded", intent)
    assert deliver(client, raw, signature).json["outcome"] == "confirmed"
    assert status(db, booking) == "confirmed"


def test_a_dearer_change_after_a_declined_card(guest, stock, localstripe, db):
    room_type, start = stock(nights=3, price="100.00")
    booking = make_booking(guest, room_type, start, nights=2)
    assert pay(guest, booking, localstripe.payment_method("visa")).status_code == 201
    booking = guest.get(f"bookings/{booking['_id']}").json
    longer = {"check_out": start.plus(3).isoformat()}
    declined = change(
        guest, booking, {**longer, "payment_method": localstripe.payment_method("declined")}
    )
    assert declined.status_code == 402, declined.json
    charged = change(guest, booking, {**longer, "payment_method": localstripe.payment_method()})
    assert charged.status_code == 200, charged.json
    extra = db.payments.find_one({"purpose": "change"})
    intent = localstripe.intent(extra["provider_reference"])
    assert (intent.status, intent.amount) == ("succeeded", 10000)


def test_refunds_by_policy_are_made_in_stripe(guest, stock, localstripe, db):
    """Cancelled inside the breakfast plan's window (24 h free, 30 % kept), for tonight
    (past the deadline whatever the hour): 70 % of the stay goes back, as a Refund
    localstripe holds."""
    from plumbing.values import today
    from tests.support import PLANS

    tonight = today()
    room_type, _ = stock(nights=1, price="100.00", start=tonight, rate_plans=[PLANS[2]])
    booking = make_booking(guest, room_type, tonight, nights=1)
    paid = pay(guest, booking, localstripe.payment_method())
    assert paid.status_code == 201, paid.json
    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.json
    total = db.bookings.find_one({"_id": ObjectId(booking["_id"])})["total_price"].to_decimal()
    refunded = cancelled.json["refund_amount"]
    assert refunded == str((total * 70 / 100).quantize(total))
    refunds = localstripe.refunds(paid.json["provider_reference"])
    assert [r.amount for r in refunds] == [int(total * 70)]


def test_a_card_guarantee_is_a_setup_intent_and_its_no_show_fee_an_off_session_charge(
    guest, manager, stock, localstripe, db
):
    """Pay at the hotel: the card is saved (a SetupIntent on a Customer, nothing
    charged); the no-show fee, half of 100.00, is a PaymentIntent on that customer."""
    from plumbing.values import today

    room_type, start = stock(nights=1, price="100.00", start=today(), rate_plans=[AT_HOTEL])
    booking = make_booking(guest, room_type, start, nights=1)
    assert pay(guest, booking, localstripe.payment_method("refused")).status_code == 402
    saved = pay(guest, booking, localstripe.payment_method())
    assert saved.status_code == 201, saved.json
    setup = localstripe.setup_intent(saved.json["provider_reference"])
    assert (setup.status, setup.usage) == ("succeeded", "off_session")
    assert setup.payment_method == saved.json["payment_method"]
    assert setup.customer == saved.json["provider_customer"]
    booking = guest.get(f"bookings/{booking['_id']}").json
    marked = no_show(manager, booking)
    assert marked.status_code == 200, marked.json
    assert (marked.json["fee"]["status"], marked.json["fee"]["amount"]) == ("charged", "50.00")
    fee = db.payments.find_one({"purpose": "no_show_fee"})
    intent = localstripe.intent(fee["provider_reference"])
    assert (intent.status, intent.amount, intent.customer) == ("succeeded", 5000, setup.customer)
    assert intent.metadata["purpose"] == "no_show_fee"


def test_a_guarantee_whose_card_then_declines_leaves_a_debt(guest, stock, localstripe, db):
    """Saved fine, refused when the late-cancellation fee is charged (Stripe's 0341)."""
    from plumbing.values import today

    room_type, start = stock(nights=1, price="100.00", start=today(), rate_plans=[AT_HOTEL])
    booking = make_booking(guest, room_type, start, nights=1)
    assert pay(guest, booking, localstripe.payment_method("declined")).status_code == 201
    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.json
    stored = db.bookings.find_one({"_id": ObjectId(booking["_id"])})
    assert stored["fee"]["status"] == "failed" and str(stored["debt"]) == "50.00"
    assert stored["fee"]["failure_reason"] == "card_declined"
