"""What only the Stripe adapter does: Stripe's signature scheme, its event types, refunds
made in its dashboard, money taken for a payment never recorded, its errors and retries,
and its idempotency keys - through the official SDK against tests/stripe_server.py."""

import pytest
import stripe
from bson import ObjectId

import settings
from tests.conftest import WRITES, _empty
from tests.factories import book
from tests.stripe_server import sign


@pytest.fixture
def app(stripe_app):
    WRITES.written.clear()
    with stripe_app.app_context():
        try:
            yield stripe_app
        finally:
            _empty(stripe_app, everything=False)


@pytest.fixture(autouse=True)
def no_leftover_failures(fake_stripe, monkeypatch):
    # The SDK waits 0.5 s, then 1 s, between retries; the tests need the retries, not
    # the waits.
    monkeypatch.setattr(stripe._http_client.HTTPClient, "INITIAL_DELAY", 0.01)
    yield
    fake_stripe.failures.clear()


@pytest.fixture
def pending(guest, stock):
    room_type, start = stock(nights=2, allotment=2, price="150.25")
    return book(guest, room_type, start, nights=2).json


def pay(client, booking, method="pm_card_visa", **kw):
    return client.post("payments", {"booking": booking["_id"], "payment_method": method}, **kw)


def deliver(client, raw, signature):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.flask.post("/api/v1/webhooks/payments", data=raw, headers=headers)


@pytest.fixture
def needs_action(guest, pending, db):
    assert pay(guest, pending, "pm_card_authenticationRequired").status_code == 202
    return db.payments.find_one()


def test_signatures_are_checked_with_stripes_scheme(client, fake_stripe, needs_action, db):
    raw, good = fake_stripe.complete_action(needs_action["provider_reference"])
    timestamp = int(good.split(",")[0][2:])
    refused = {
        "missing": None,
        "wrong secret": sign("whsec_not_ours", raw),
        "stale": sign(fake_stripe.webhook_secret, raw, timestamp - 301),
        "tampered": good,
    }
    for name, signature in refused.items():
        body = (
            raw.replace(b'"livemode": false', b'"livemode": true') if name == "tampered" else raw
        )
        response = deliver(client, body, signature)
        assert response.status_code == 400, name
        assert "Stripe-Signature" in response.json["_error"]["message"], name
    assert db.webhook_events.count_documents({}) == 0
    assert deliver(client, raw, good).json["outcome"] == "confirmed"


def test_other_event_types_are_acknowledged_once(client, fake_stripe, db):
    raw, signature = fake_stripe.event("customer.created", {"id": "cus_1", "currency": "eur"})
    response = deliver(client, raw, signature)
    assert response.status_code == 200
    assert response.json["outcome"] == "ignored: customer.created"
    assert "duplicate" in deliver(client, raw, signature).json["outcome"]
    assert db.webhook_events.count_documents({}) == 1


def test_a_refund_made_in_the_dashboard_reaches_the_payment(
    guest, client, fake_stripe, pending, db
):
    pay(guest, pending)
    payment = db.payments.find_one()
    raw, signature = fake_stripe.refunded_event(payment["provider_reference"], amount=5000)
    response = deliver(client, raw, signature)
    assert response.json["outcome"] == "refunded 50.00 EUR"
    stored = db.payments.find_one()
    assert stored["status"] == "partially_refunded" and str(stored["refunded_amount"]) == "50.00"
    assert "duplicate" in deliver(client, raw, signature).json["outcome"]
    raw, signature = fake_stripe.refunded_event(payment["provider_reference"])  # the rest
    deliver(client, raw, signature)
    assert db.payments.find_one()["status"] == "refunded"


def test_money_taken_for_an_unrecorded_payment_is_given_back(client, fake_stripe, db, pending):
    """The API died between Stripe's charge and its own insert, and no retry came: when
    Stripe reports the success, the charge is refunded in full, once."""
    status, intent = fake_stripe.create_intent(
        {
            "amount": "30050",
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "metadata": {"booking": pending["_id"], "payment": str(ObjectId())},
        }
    )
    assert status == 200
    raw, signature = fake_stripe.event("payment_intent.succeeded", intent)
    response = deliver(client, raw, signature)
    assert response.json["outcome"] == "refunded: no payment recorded for this charge"
    assert fake_stripe.intents[intent["id"]]["amount_refunded"] == 30050
    assert "duplicate" in deliver(client, raw, signature).json["outcome"]
    assert fake_stripe.intents[intent["id"]]["amount_refunded"] == 30050
    assert db.bookings.find_one()["status"] == "pending_payment"


def test_a_server_error_is_retried_with_the_same_key(guest, fake_stripe, pending, db):
    fake_stripe.requests.clear()
    fake_stripe.fail_next(1, 500)
    response = pay(guest, pending)
    assert response.status_code == 201, response.json
    keys = [key for _m, path, _p, key in fake_stripe.requests if path == "/v1/payment_intents"]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert db.bookings.find_one()["status"] == "confirmed"


@pytest.mark.parametrize(
    ("failure", "status", "words"),
    [(500, 502, "refused the request"), (None, 503, "could not be reached")],
)
def test_stripe_failing_is_a_clear_5xx_and_nothing_is_written(
    guest, fake_stripe, pending, db, failure, status, words
):
    fake_stripe.fail_next(3, failure)  # the first try and both retries
    response = pay(guest, pending)
    assert response.status_code == status, response.json
    assert words in response.json["_error"]["message"]
    assert "the payment was not taken" in response.json["_error"]["message"]
    assert db.payments.count_documents({}) == 0
    assert db.bookings.find_one()["status"] == "pending_payment"
    assert pay(guest, pending).status_code == 201  # Stripe back: the guest pays


def test_rate_limited_is_503(guest, fake_stripe, pending, db):
    fake_stripe.fail_next(3, 429)
    response = pay(guest, pending)
    assert response.status_code == 503
    assert db.payments.count_documents({}) == 0


def test_the_same_idempotency_key_reaches_the_same_charge(app, fake_stripe):
    provider = app.extensions["payment_provider"]
    first = provider.charge(100, "EUR", "pm_card_visa", "innkeeper-payment-k1")
    again = provider.charge(100, "EUR", "pm_card_visa", "innkeeper-payment-k1")
    assert first.reference == again.reference
    assert sum(1 for key in fake_stripe.keys if key == "innkeeper-payment-k1") == 1


def test_a_clients_idempotency_key_becomes_stripes(guest, fake_stripe, pending, db):
    fake_stripe.requests.clear()
    key = {"Idempotency-Key": "pay-once"}
    first, again = pay(guest, pending, headers=key), pay(guest, pending, headers=key)
    assert first.status_code == again.status_code == 201
    sent = [k for _m, path, _p, k in fake_stripe.requests if path == "/v1/payment_intents"]
    assert sent == [f"innkeeper-payment-{db.payments.find_one()['idempotency_key']}"]


def test_webhook_bodies_that_are_not_events_are_400(client, fake_stripe):
    for raw in (b"not json", b"[]"):
        response = deliver(client, raw, sign(fake_stripe.webhook_secret, raw))
        assert response.status_code == 400


def test_production_refuses_the_sandbox_unless_allowed(monkeypatch):
    monkeypatch.setenv("MONGO_URI", "mongodb://db.internal:27017/?replicaSet=rs0")
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("PAYMENT_WEBHOOK_SECRET", "w" * 32)
    monkeypatch.setenv("SMTP_URL", "smtp://mail.internal:587")
    monkeypatch.delenv("PAYMENT_PROVIDER", raising=False)
    with pytest.raises(settings.ConfigError, match="PAYMENT_PROVIDER=stripe") as refused:
        settings.load()
    assert "PAYMENT_SANDBOX_ALLOWED=1" in str(refused.value)
    monkeypatch.setenv("PAYMENT_SANDBOX_ALLOWED", "1")
    assert settings.load()["PAYMENT_PROVIDER"] == "sandbox"


def test_stripe_needs_its_keys(monkeypatch):
    monkeypatch.setenv("PAYMENT_PROVIDER", "stripe")
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    with pytest.raises(settings.ConfigError, match="STRIPE_SECRET_KEY is not set"):
        settings.load()
    monkeypatch.setenv("PAYMENT_PROVIDER", "paypal")
    with pytest.raises(settings.ConfigError, match="sandbox or stripe"):
        settings.load()


def test_refund_events_outside_the_charge_change_nothing(client, fake_stripe, guest, pending, db):
    """A signed charge.refunded saying more went back than was taken, or less than
    nothing, is recorded (once) and ignored: the payment keeps what it had."""
    pay(guest, pending)
    payment = db.payments.find_one()
    for refunded in (100000, -500):  # 1000.00 of a 300.50 charge; a negative amount
        charge = {
            "id": "ch_" + ObjectId().__str__(),
            "object": "charge",
            "amount": 30050,
            "amount_refunded": refunded,
            "currency": "eur",
            "payment_intent": payment["provider_reference"],
            "metadata": {},
        }
        raw, signature = fake_stripe.event("charge.refunded", charge)
        response = deliver(client, raw, signature)
        assert response.status_code == 200
        assert response.json["outcome"].startswith("ignored: refunded"), response.json
        assert "outside 0..300.50" in response.json["outcome"]
    stored = db.payments.find_one()
    assert (stored["status"], str(stored["refunded_amount"])) == ("succeeded", "0.00")
    assert db.bookings.find_one()["status"] == "confirmed"


def test_a_dispute_flags_the_booking_for_the_admin_once(client, fake_stripe, guest, pending, db):
    from tests.conftest import make_user
    from tests.support import sign_in

    pay(guest, pending)
    payment = db.payments.find_one()
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": 30050,
        "currency": "eur",
        "charge": "ch_1",
        "payment_intent": payment["provider_reference"],
        "reason": "fraudulent",
        "status": "needs_response",
    }
    raw, signature = fake_stripe.event("charge.dispute.created", dispute)
    assert deliver(client, raw, signature).json["outcome"] == "disputed"
    assert "duplicate" in deliver(client, raw, signature).json["outcome"]
    booking = db.bookings.find_one()
    assert booking["dispute"]["reason"] == "fraudulent"
    assert str(booking["dispute"]["amount"]) == "300.50"
    assert booking["dispute"]["payment"] == payment["_id"]
    assert booking["status"] == "confirmed"  # the money is Stripe's to settle
    admin_panel = client.flask.application.test_client()
    assert sign_in(admin_panel, make_user(db, "admin")["email"]).status_code == 302
    listed = admin_panel.get("/admin/bookings/").get_data(as_text=True)
    assert "fraudulent: 300.50 EUR (needs_response)" in listed


def test_the_sandbox_route_is_absent_under_stripe(guest, needs_action):
    """Under Stripe, Stripe.js and Stripe's webhook finish 3-D Secure: the sandbox's
    hand-made completion is not there (it answered 500 before)."""
    response = guest.post(
        f"sandbox/payments/{needs_action['_id']}/complete", {"outcome": "succeeded"}
    )
    assert response.status_code == 404


def test_a_declined_change_charge_can_be_retried_with_another_card(guest, stock, db):
    """The change's Stripe idempotency key names the card: after a decline, another card
    is a new charge (the same key with other parameters is refused by Stripe: 502)."""
    from tests.factories import change, make_booking

    room_type, start = stock(nights=3, price="100.00")
    booking = make_booking(guest, room_type, start, nights=2)
    assert pay(guest, booking).status_code == 201
    booking = guest.get(f"bookings/{booking['_id']}").json
    longer = {"check_out": start.plus(3).isoformat()}
    declined = change(guest, booking, {**longer, "payment_method": "pm_card_chargeDeclined"})
    assert declined.status_code == 402, declined.json
    charged = change(guest, booking, {**longer, "payment_method": "pm_card_visa"})
    assert charged.status_code == 200, charged.json
    assert charged.json["_change"]["charged"] == "100.00"
    assert db.payments.count_documents({"purpose": "change", "status": "succeeded"}) == 1
