"""API10 Unsafe Consumption of APIs: provider webhooks are verified before they are trusted."""

import json

from payments import providers


def test_unsigned_or_forged_provider_events_change_nothing(client, app, guest, stock, db):
    room_type, start = stock()
    booking = guest.post(
        "bookings",
        {
            "room_type": room_type["_id"],
            "check_in": start.isoformat(),
            "check_out": start.plus(1).isoformat(),
        },
    ).json
    payment = guest.post(
        "payments", {"booking": booking["_id"], "payment_method": "pm_card_authenticationRequired"}
    ).json
    raw = json.dumps(
        {
            "id": "evt_x",
            "type": "payment.succeeded",
            "created": 1,
            "data": {"payment": payment["_id"]},
        }
    ).encode()
    for header in (None, providers.sign("guessed-secret", raw), "t=1,v1=00"):
        headers = {"Content-Type": "application/json"}
        if header:
            headers["Payment-Signature"] = header
        response = client.flask.post("/api/v1/webhooks/payments", data=raw, headers=headers)
        assert response.status_code == 400
    assert db.bookings.find_one()["status"] == "pending_payment"
    assert db.payments.find_one()["status"] == "requires_action"


def test_operator_injection_in_event_fields_is_refused(client, app, db):
    raw = json.dumps(
        {
            "id": {"$gt": ""},
            "type": "payment.succeeded",
            "created": 1,
            "data": {"payment": {"$ne": None}},
        }
    ).encode()
    header = providers.sign(app.config["PAYMENT_WEBHOOK_SECRET"], raw)
    response = client.flask.post(
        "/api/v1/webhooks/payments",
        data=raw,
        headers={"Payment-Signature": header, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert db.webhook_events.count_documents({}) == 0
