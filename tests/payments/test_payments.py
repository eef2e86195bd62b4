"""Payments: each sandbox method's outcome, exactly-once confirmation, refunds by policy."""

import json
from datetime import datetime, timedelta

import pytest
from bson import Decimal128, ObjectId

from payments import providers
from tests.factories import book, booked, pay
from tests.support import _race, deliver, event, unpaid_booking


@pytest.fixture
def pending(guest, stock):
    return unpaid_booking(guest, stock)


def state(db, booking):
    return db.bookings.find_one({"_id": ObjectId(booking["_id"])})["status"]


@pytest.mark.parametrize("method", ["pm_card_visa", "pm_card_mastercard"])
def test_success_confirms_the_booking(guest, pending, db, method):
    response = pay(guest, pending, method)
    assert response.status_code == 201, response.json
    assert response.json["status"] == "succeeded"
    assert response.json["amount"] == "300.50" and response.json["currency"] == "EUR"
    assert state(db, pending) == "confirmed"
    stored = db.payments.find_one()
    assert stored["amount"] == Decimal128("300.50") and stored["payment_method"] == method
    assert set(stored) & {"card", "number", "cvc"} == set()


@pytest.mark.parametrize(
    ("method", "reason"),
    [
        ("pm_card_chargeDeclined", "card_declined"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
def test_declines_are_402_and_leave_the_booking_pending(guest, pending, db, method, reason):
    response = pay(guest, pending, method)
    assert response.status_code == 402
    assert response.json["status"] == "failed" and response.json["failure_reason"] == reason
    assert state(db, pending) == "pending_payment"
    assert pay(guest, pending).status_code == 201  # another card still works


def test_authentication_required_is_202_until_the_webhook(guest, pending, db):
    response = pay(guest, pending, "pm_card_authenticationRequired")
    assert response.status_code == 202
    assert response.json["status"] == "requires_action"
    assert state(db, pending) == "pending_payment"


@pytest.mark.parametrize("field", ["amount", "currency", "status", "guest"])
def test_amount_and_status_come_from_the_server(guest, pending, db, field):
    body = {
        "booking": pending["_id"],
        "payment_method": "pm_card_visa",
        field: {
            "amount": "0.01",
            "currency": "USD",
            "status": "succeeded",
            "guest": "6740f0c2a1b2c3d4e5f60718",
        }[field],
    }
    response = guest.post("payments", body)
    assert response.status_code == 422
    assert field in response.json["_issues"]
    assert db.payments.count_documents({}) == 0 and state(db, pending) == "pending_payment"


def test_paying_twice_is_409(guest, pending, db):
    assert pay(guest, pending).status_code == 201
    second = pay(guest, pending)
    assert second.status_code == 409
    assert "is confirmed" in second.json["_error"]["message"]
    assert db.payments.count_documents({}) == 1


def test_paying_an_expired_or_cancelled_booking_is_409(guest, pending, db):
    db.bookings.update_one({}, {"$set": {"hold_expires_at": datetime.utcnow() - timedelta(1)}})
    expired = pay(guest, pending)
    assert expired.status_code == 409 and "expired" in expired.json["_error"]["message"]
    db.bookings.update_one({}, {"$set": {"status": "cancelled"}})
    cancelled = pay(guest, pending)
    assert cancelled.status_code == 409 and "is cancelled" in cancelled.json["_error"]["message"]
    assert db.payments.count_documents({}) == 0


def test_someone_elses_booking_is_404_and_payments_are_private(guest, pending, login, db):
    other = login("guest")
    assert pay(other, pending).status_code == 404
    assert db.payments.count_documents({}) == 0
    created = pay(guest, pending).json
    assert other.get(f"payments/{created['_id']}").status_code == 404
    assert other.get("payments").json["_meta"]["total"] == 0
    assert guest.get(f"payments/{created['_id']}").status_code == 200


def test_a_booking_that_does_not_exist_answers_like_someone_elses(guest):
    """No 422 "must exist" that would tell a guest which booking ids are real."""
    missing = guest.post(
        "payments", {"booking": str(ObjectId()), "payment_method": "pm_card_visa"}
    )
    assert missing.status_code == 404
    assert missing.json["_issues"] == {"booking": "not one of your bookings"}


def test_idempotent_payment(guest, pending, db):
    key = {"Idempotency-Key": "pay-1"}
    first, again = pay(guest, pending, headers=key), pay(guest, pending, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json["_id"] == again.json["_id"]
    assert db.payments.count_documents({}) == 1


def test_two_payments_racing_confirm_once(guest, pending, db):
    responses = _race([lambda: pay(guest, pending) for _ in range(6)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, statuses
    assert set(statuses) <= {201, 409}
    assert db.payments.count_documents({"status": "succeeded"}) == 1
    assert state(db, pending) == "confirmed"


# --- webhooks -------------------------------------------------------------------------


@pytest.fixture
def requires_action(guest, pending):
    response = pay(guest, pending, "pm_card_authenticationRequired")
    assert response.status_code == 202
    return response.json


def test_webhook_success_confirms_once(client, app, requires_action, pending, db):
    raw = event(requires_action["_id"])
    first = deliver(client, app, raw)
    assert first.status_code == 200 and first.json["outcome"] == "confirmed"
    assert state(db, pending) == "confirmed"
    assert db.payments.find_one()["status"] == "succeeded"
    again = deliver(client, app, raw)
    assert again.status_code == 200 and "duplicate" in again.json["outcome"]
    assert db.webhook_events.count_documents({}) == 1


def test_webhook_failure_leaves_booking_pending(client, app, requires_action, pending, db):
    response = deliver(client, app, event(requires_action["_id"], "payment.failed"))
    assert response.status_code == 200
    assert db.payments.find_one()["status"] == "failed"
    assert state(db, pending) == "pending_payment"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "missing"),
        ("v1=abc", "malformed"),
        ("t=notanumber,v1=abc", "malformed"),
        ("wrong", "malformed"),
    ],
)
def test_webhook_malformed_signatures_are_400(
    client, app, requires_action, pending, db, header, message
):
    response = deliver(client, app, event(requires_action["_id"]), signature=header)
    assert response.status_code == 400
    assert message in response.json["_error"]["message"]
    assert state(db, pending) == "pending_payment" and db.webhook_events.count_documents({}) == 0


def test_webhook_wrong_secret_stale_and_tampered_are_400(
    client, app, requires_action, pending, db
):
    raw = event(requires_action["_id"])
    wrong = deliver(client, app, raw, secret="not-the-secret")
    assert wrong.status_code == 400 and "does not match" in wrong.json["_error"]["message"]
    stale_header = providers.sign(
        app.config["PAYMENT_WEBHOOK_SECRET"], raw, timestamp=datetime.utcnow().timestamp() - 301
    )
    stale = deliver(client, app, raw, signature=stale_header)
    assert stale.status_code == 400 and "300 s" in stale.json["_error"]["message"]
    good_header = providers.sign(app.config["PAYMENT_WEBHOOK_SECRET"], raw)
    tampered = deliver(client, app, raw.replace(b"evt_1", b"evt_2"), signature=good_header)
    assert tampered.status_code == 400
    assert state(db, pending) == "pending_payment" and db.webhook_events.count_documents({}) == 0


def test_webhook_rotated_secret_any_v1_matches(client, app, requires_action, pending, db):
    raw = event(requires_action["_id"])
    good = providers.sign(app.config["PAYMENT_WEBHOOK_SECRET"], raw)
    old = providers.sign("old-secret", raw)
    rotated = f"{old},{good.split(',')[1]}"
    response = deliver(client, app, raw, signature=rotated)
    assert response.status_code == 200 and state(db, pending) == "confirmed"


def test_webhook_bad_body_is_400(client, app, requires_action):
    for raw in (b"not json", b"[]", json.dumps({"id": "x", "type": "y"}).encode()):
        assert deliver(client, app, raw).status_code == 400


def test_racing_events_for_one_payment_apply_once(client, app, requires_action, pending, db):
    success = event(requires_action["_id"], event_id="evt_ok")
    failure = event(requires_action["_id"], "payment.failed", event_id="evt_ko")
    responses = _race(
        [
            lambda raw=raw: deliver(client, app, raw)
            for raw in [success, failure, success, failure] * 3
        ]
    )
    assert all(r.status_code == 200 for r in responses)
    final = db.payments.find_one()["status"]
    assert final in ("succeeded", "failed")
    assert state(db, pending) == ("confirmed" if final == "succeeded" else "pending_payment")
    assert db.webhook_events.count_documents({}) == 2
    assert [b for _, b in booked(db)] == [1, 1]


def test_late_success_reacquires_free_nights(client, app, requires_action, pending, db):
    from booking import holds

    db.bookings.update_one({}, {"$set": {"hold_expires_at": datetime.utcnow() - timedelta(1)}})
    holds.expire_due(db.client, db)
    assert [b for _, b in booked(db)] == [0, 0]
    response = deliver(client, app, event(requires_action["_id"]))
    assert response.json["outcome"] == "confirmed"
    assert state(db, pending) == "confirmed" and [b for _, b in booked(db)] == [1, 1]


def test_late_success_refreshes_cached_search_answers(client, app, requires_action, pending, db):
    """The late payment takes the nights back: searches cached meanwhile are stale."""
    from booking import holds

    db.bookings.update_one({}, {"$set": {"hold_expires_at": datetime.utcnow() - timedelta(1)}})
    holds.expire_due(db.client, db)
    url = (
        f"availability?city=Paris&check_in={pending['check_in']}&check_out={pending['check_out']}"
    )
    assert client.get(url).json["_items"][0]["rooms_left"] == 2
    assert client.get(url).headers["X-Search-Cache"] == "hit"
    assert deliver(client, app, event(requires_action["_id"])).json["outcome"] == "confirmed"
    after = client.get(url)
    assert after.headers["X-Search-Cache"] == "miss"
    assert after.json["_items"][0]["rooms_left"] == 1


def test_late_success_without_nights_refunds_in_full(client, app, requires_action, pending, db):
    from booking import holds

    db.bookings.update_one({}, {"$set": {"hold_expires_at": datetime.utcnow() - timedelta(1)}})
    holds.expire_due(db.client, db)
    db.inventory.update_many({}, {"$set": {"booked": 2}})  # sold to others meanwhile
    response = deliver(client, app, event(requires_action["_id"]))
    assert response.status_code == 200 and "refunded" in response.json["outcome"]
    payment = db.payments.find_one()
    assert payment["status"] == "refunded" and payment["refunded_amount"] == payment["amount"]
    assert state(db, pending) == "expired"
    assert [b for _, b in booked(db)] == [2, 2]


def test_amount_mismatch_never_confirms(client, app, requires_action, pending, db):
    response = deliver(client, app, event(requires_action["_id"], amount="1.00"))
    assert response.status_code == 200
    assert db.payments.find_one()["failure_reason"] == "amount_mismatch"
    assert state(db, pending) == "pending_payment"


def test_sandbox_helper_completes_3ds(guest, requires_action, pending, db):
    response = guest.post(
        f"sandbox/payments/{requires_action['_id']}/complete", {"outcome": "succeeded"}
    )
    assert response.status_code == 200, response.json
    assert response.json["webhook"]["headers"]["Payment-Signature"].startswith("t=")
    assert state(db, pending) == "confirmed"


def test_sandbox_helper_is_absent_in_production(app_config, servers):
    from run import close_app, create_app

    app = create_app(dict(app_config, EMBEDDED=False))
    try:
        rules = [r.rule for r in app.url_map.iter_rules()]
        assert not any("sandbox" in r for r in rules)
        assert "/api/v1/webhooks/payments" in rules
    finally:
        close_app(app)


# --- refunds on cancellation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "price", "hours_before", "refund", "status"),
    [
        ("EUR", "150.25", 24 * 30, "300.50", "refunded"),
        ("EUR", "150.25", 1, "150.25", "partially_refunded"),  # 50 % penalty
        ("JPY", "15001", 24 * 30, "30002", "refunded"),
        ("JPY", "15001", 1, "15001", "partially_refunded"),
    ],
)
def test_cancelling_a_confirmed_booking_refunds_by_policy(
    guest,
    admin,
    make_hotel,
    make_room_type,
    stock,
    db,
    currency,
    price,
    hours_before,
    refund,
    status,
):
    hotel = make_hotel(
        currency=currency,
        timezone="UTC",
        check_in_time="15:00",
        cancellation_policy={"free_until_hours": 48, "penalty_percent": 50},
    )
    room_type, start = stock(nights=2, price=price, room_type=make_room_type(hotel=hotel))
    booking = book(guest, room_type, start, nights=2).json
    assert pay(guest, booking).status_code == 201
    # Move the stay so that "now" is hours_before its 15:00-style arrival (UTC hotel).
    arrival = datetime.utcnow() + timedelta(hours=hours_before)
    check_in = datetime(arrival.year, arrival.month, arrival.day)
    db.bookings.update_one(
        {"_id": ObjectId(booking["_id"])},
        {
            "$set": {
                "cancellation_policy.check_in_time": arrival.strftime("%H:%M"),
                "check_in": check_in,
                "check_out": check_in + timedelta(days=2),
            }
        },
    )
    response = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert response.status_code == 200, response.json
    assert response.json["refund_amount"] == refund
    payment = db.payments.find_one()
    assert payment["status"] == status
    assert str(payment["refunded_amount"]) == refund


def test_without_a_payment_method_the_browser_confirms_by_client_secret(guest, pending, db):
    """Stripe's recommended flow, in the sandbox: no payment_method gives a 202 with the
    client_secret for Stripe.js; the webhook (here the sandbox's) confirms the booking."""
    created = guest.post("payments", {"booking": pending["_id"]})
    assert created.status_code == 202, created.json
    assert created.json["status"] == "requires_action"
    assert created.json["next_action"]["type"] == "confirm_in_browser"
    assert created.json["next_action"]["client_secret"].startswith("pi_sbx_")
    stored = db.payments.find_one()
    assert "payment_method" not in stored and "client_secret" not in json.dumps(
        stored, default=str
    )
    assert state(db, pending) == "pending_payment"
    done = guest.post(f"sandbox/payments/{created.json['_id']}/complete", {"outcome": "succeeded"})
    assert done.status_code == 200 and done.json["outcome"] == "confirmed"
    assert state(db, pending) == "confirmed"


def test_the_sandbox_takes_only_its_test_cards(guest, pending, db, client):
    """Any pm_ id passes the schema (Stripe's are random); the sandbox names its own."""
    refused = pay(guest, pending, "pm_tVfivmU3hkLose")
    assert refused.status_code == 422
    assert "pm_card_visa" in refused.json["_issues"]["payment_method"]
    assert pay(guest, pending, "card_4242").status_code == 422  # not a PaymentMethod id
    assert db.payments.count_documents({}) == 0
    schema = client.get("openapi.json").json["components"]["schemas"]["Payments"]
    assert schema["properties"]["payment_method"]["enum"] == list(providers.SANDBOX_OUTCOMES)
