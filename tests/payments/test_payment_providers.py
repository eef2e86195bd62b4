"""The payment journey, the same tests against both providers: the sandbox, and Stripe
through its official SDK against a local server that speaks Stripe's API
(tests/stripe_server.py). Pay, decline, 3-D Secure confirmed by a signed webhook,
duplicate and concurrent deliveries, a partial refund by policy, yen."""

from decimal import Decimal

import pytest
from bson import Decimal128, ObjectId

from tests.conftest import WRITES, _empty
from tests.factories import book, booked, pay
from tests.support import _race, unpaid_booking


@pytest.fixture(params=["sandbox", "stripe"])
def app(request, shared_app):
    """The shared app (sandbox) or the Stripe-configured app on the same database."""
    chosen = shared_app if request.param == "sandbox" else request.getfixturevalue("stripe_app")
    WRITES.written.clear()
    with chosen.app_context():
        try:
            yield chosen
        finally:
            _empty(chosen, everything=False)


@pytest.fixture
def journey(app, request):
    stripe = app.config.get("PAYMENT_PROVIDER") == "stripe"
    return Journey(app, request.getfixturevalue("fake_stripe") if stripe else None)


class Journey:
    """What differs between providers: how 3-D Secure completes, what the provider saw."""

    def __init__(self, app, fake):
        self.app, self.fake = app, fake
        self.provider = app.extensions["payment_provider"]

    def complete(self, payment, succeed=True):
        """The signed webhook the provider sends when the guest finishes 3-D Secure."""
        if self.fake is None:
            return self.provider.event_for(payment["_id"], "succeeded" if succeed else "failed")
        return self.fake.complete_action(payment["provider_reference"], succeed)

    def deliver(self, client, raw, signature):
        return client.flask.post(
            "/api/v1/webhooks/payments",
            data=raw,
            headers={
                self.provider.signature_header: signature,
                "Content-Type": "application/json",
            },
        )

    def intent(self, payment):
        return self.fake.intents[payment["provider_reference"]] if self.fake else None


@pytest.fixture
def pending(guest, stock):
    return unpaid_booking(guest, stock)


def status_of(db, booking):
    return db.bookings.find_one({"_id": ObjectId(booking["_id"])})["status"]


def test_paying_confirms_with_the_total_in_minor_units(guest, pending, db, journey):
    response = pay(guest, pending)
    assert response.status_code == 201, response.json
    assert response.json["status"] == "succeeded" and response.json["amount"] == "300.50"
    assert status_of(db, pending) == "confirmed"
    payment = db.payments.find_one()
    assert payment["provider"] == journey.provider.name and payment["provider_reference"]
    if journey.fake:
        intent = journey.intent(payment)
        assert (intent["amount"], intent["currency"]) == (30050, "eur")
        assert intent["metadata"] == {"booking": pending["_id"], "payment": str(payment["_id"])}
        keys = [key for method, path, _p, key in journey.fake.requests if path.endswith("intents")]
        assert keys[-1] == f"innkeeper-payment-{payment['_id']}"


@pytest.mark.parametrize(
    ("method", "reason", "words"),
    [
        ("pm_card_chargeDeclined", "card_declined", "the card was declined"),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "insufficient_funds",
            "the card has insufficient funds",
        ),
    ],
)
def test_a_decline_is_402_in_plain_words(guest, pending, db, method, reason, words):
    response = pay(guest, pending, method)
    assert response.status_code == 402
    assert response.json["status"] == "failed" and response.json["failure_reason"] == reason
    assert words in response.json["_error"]["message"]
    assert status_of(db, pending) == "pending_payment"
    assert pay(guest, pending).status_code == 201  # another card still works


def test_3d_secure_is_202_then_the_webhook_confirms_once(client, guest, pending, db, journey):
    response = pay(guest, pending, "pm_card_authenticationRequired")
    assert response.status_code == 202 and response.json["status"] == "requires_action"
    payment = db.payments.find_one()
    assert "client_secret" not in payment  # in the answer only
    if journey.fake:
        secret = response.json["next_action"]["client_secret"]
        assert secret == journey.intent(payment)["client_secret"]
    assert status_of(db, pending) == "pending_payment"
    raw, signature = journey.complete(payment)
    first = journey.deliver(client, raw, signature)
    assert first.status_code == 200 and first.json["outcome"] == "confirmed", first.json
    assert status_of(db, pending) == "confirmed"
    assert db.payments.find_one()["status"] == "succeeded"
    again = journey.deliver(client, raw, signature)
    assert again.status_code == 200 and "duplicate" in again.json["outcome"]
    assert db.webhook_events.count_documents({}) == 1


def test_3d_secure_failure_leaves_the_booking_held(client, guest, pending, db, journey):
    pay(guest, pending, "pm_card_authenticationRequired")
    raw, signature = journey.complete(db.payments.find_one(), succeed=False)
    assert journey.deliver(client, raw, signature).status_code == 200
    payment = db.payments.find_one()
    assert payment["status"] == "failed" and payment["failure_reason"]
    assert status_of(db, pending) == "pending_payment"


def test_concurrent_deliveries_of_one_event_apply_once(client, guest, pending, db, journey):
    pay(guest, pending, "pm_card_authenticationRequired")
    raw, signature = journey.complete(db.payments.find_one())
    responses = _race([lambda: journey.deliver(client, raw, signature) for _ in range(8)])
    assert [r.status_code for r in responses] == [200] * 8
    outcomes = [r.json["outcome"] for r in responses]
    assert outcomes.count("confirmed") == 1, outcomes
    assert db.webhook_events.count_documents({}) == 1
    assert status_of(db, pending) == "confirmed" and [b for _, b in booked(db)] == [1, 1]


def test_a_late_cancellation_refunds_part_by_the_policy(guest, pending, db, journey):
    assert pay(guest, pending).status_code == 201
    # The stay is close enough that the policy keeps 30 % (free until 30 days before).
    db.bookings.update_one(
        {"_id": ObjectId(pending["_id"])},
        {
            "$set": {
                "cancellation_policy.free_until_hours": 24 * 30,
                "cancellation_policy.penalty_percent": 30,
            }
        },
    )
    cancelled = guest.patch_item(f"bookings/{pending['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200 and cancelled.json["refund_amount"] == "210.35"
    payment = db.payments.find_one()
    assert payment["status"] == "partially_refunded"
    assert payment["refunded_amount"] == Decimal128("210.35")
    if journey.fake:
        refunds = [
            r
            for r in journey.fake.refunds.values()
            if r["payment_intent"] == payment["provider_reference"]
        ]
        assert [(r["amount"], r["currency"]) for r in refunds] == [(21035, "eur")]


def test_yen_have_no_minor_unit(guest, db, stock, make_room_type, make_hotel, journey):
    hotel = make_hotel(currency="JPY", timezone="Asia/Tokyo")
    room_type, start = stock(nights=2, price="12345", room_type=make_room_type(hotel))
    booking = book(guest, room_type, start, nights=2).json
    response = pay(guest, booking)
    assert response.status_code == 201 and response.json["amount"] == "24690"
    payment = db.payments.find_one()
    assert payment["amount"].to_decimal() == Decimal("24690")
    if journey.fake:
        intent = journey.intent(payment)
        assert (intent["amount"], intent["currency"]) == (24690, "jpy")
