"""Changing a booking: new nights taken and old ones released in one transaction, or
nothing; the difference charged or refunded by the policy; If-Match as for any change."""

from bson import ObjectId

from booking import reconcile
from tests.conftest import stock_room_type
from tests.factories import change, make_booking
from tests.support import PLANS, _race


def booked(db, room_type):
    rows = db.inventory.find({"room_type": ObjectId(room_type)}).sort("date", 1)
    return [r["booked"] for r in rows]


def pay(guest, booking, method="pm_card_visa"):
    paid = guest.post("payments", {"booking": booking["_id"], "payment_method": method})
    assert paid.status_code == 201, paid.json
    return guest.get(f"bookings/{booking['_id']}").json


def test_moving_a_pending_stay_by_a_night_with_one_room(stock, guest, db):
    """The new stay shares a night with the old: released and taken in one transaction,
    so one room is enough."""
    room_type, start = stock(nights=4, allotment=1, price="100.00")
    booking = make_booking(guest, room_type, start, nights=2)
    assert booked(db, room_type["_id"]) == [1, 1, 0, 0]
    moved = change(
        guest,
        booking,
        {"check_in": start.plus(1).isoformat(), "check_out": start.plus(4).isoformat()},
    )
    assert moved.status_code == 200, moved.json
    assert booked(db, room_type["_id"]) == [0, 1, 1, 1]
    assert moved.json["total_price"] == "300.00" and moved.json["nights"] == 3
    assert moved.json["_change"] == {"charged": "0.00", "refunded": "0.00"}
    assert moved.json["_etag"] != booking["_etag"] and moved.json["modified_at"]
    assert moved.headers["ETag"] == f'"{moved.json["_etag"]}"'
    assert reconcile.find_drift(db) == []


def test_an_unavailable_night_changes_nothing(stock, guest, login, db):
    room_type, start = stock(nights=3, allotment=1, price="100.00")
    booking = make_booking(guest, room_type, start, nights=1)
    make_booking(login("guest"), room_type, start.plus(2), nights=1)
    refused = change(guest, booking, {"check_out": start.plus(3).isoformat()})
    assert refused.status_code == 409
    assert refused.json["_error"]["message"] == f"not available on {start.plus(2).isoformat()}"
    assert booked(db, room_type["_id"]) == [1, 0, 1]
    kept = db.bookings.find_one({"_id": ObjectId(booking["_id"])})
    assert kept["_etag"] == booking["_etag"] and kept["nights"] == 1


def test_if_match_and_who_may_change(stock, guest, login):
    room_type, start = stock(nights=3)
    booking = make_booking(guest, room_type, start)
    body = {"check_out": start.plus(3).isoformat()}
    missing = guest.post(f"bookings/{booking['_id']}/change", body)
    assert missing.status_code == 428 and "If-Match" in missing.json["_error"]["message"]
    stale = change(guest, booking, body, etag="0" * 40)
    assert stale.status_code == 412
    assert stale.json["_error"]["message"] == (
        "the booking changed since you read it; fetch it again"
    )
    other = change(login("guest"), booking, body)
    assert other.status_code == 404
    for bad, field, message in (
        (
            {"status": "confirmed"},
            "status",
            "a change may set check_in, check_out, rooms, room_type, rate_plan, adults, "
            "children (and payment_method)",
        ),
        ({"check_out": "tomorrow"}, "check_out", "invalid change: check_out"),
        ({"adults": 9}, "adults", "the party does not fit this room type"),
        ({"rate_plan": "nope"}, "rate_plan", "Double has no rate plan 'nope'"),
        ({}, "check_in", "nothing to change"),
    ):
        refused = change(guest, booking, bad)
        assert refused.status_code == 422 and field in refused.json["_issues"], (bad, refused.json)
        assert refused.json["_error"]["message"] == message
    guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    current = guest.get(f"bookings/{booking['_id']}").json
    gone = change(guest, current, body)
    assert gone.status_code == 409 and "cancelled" in gone.json["_error"]["message"]


def test_a_dearer_change_of_a_confirmed_booking_charges_the_difference(stock, guest, db):
    room_type, start = stock(nights=3, price="100.00")
    booking = pay(guest, make_booking(guest, room_type, start, nights=2))
    longer = {"check_out": start.plus(3).isoformat()}
    unpaid = change(guest, booking, longer)
    assert unpaid.status_code == 422
    assert unpaid.json["_issues"] == {
        "payment_method": "required: the change costs 100.00 EUR more"
    }
    declined = change(guest, booking, {**longer, "payment_method": "pm_card_chargeDeclined"})
    assert declined.status_code == 402 and "declined" in declined.json["_error"]["message"]
    assert booked(db, room_type["_id"]) == [1, 1, 0]
    assert db.payments.count_documents({}) == 1
    charged = change(guest, booking, {**longer, "payment_method": "pm_card_visa"})
    assert charged.status_code == 200, charged.json
    assert charged.json["total_price"] == "300.00" and charged.json["status"] == "confirmed"
    assert charged.json["_change"]["charged"] == "100.00"
    extra = db.payments.find_one({"purpose": "change"})
    assert str(extra["_id"]) == charged.json["_change"]["payment"]
    assert (str(extra["amount"]), extra["status"]) == ("100.00", "succeeded")
    assert booked(db, room_type["_id"]) == [1, 1, 1]
    # Cancelling now refunds the new total from both payments.
    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.json["refund_amount"] == "300.00"
    assert sorted(p["status"] for p in db.payments.find()) == ["refunded", "refunded"]


def test_a_cheaper_change_refunds_by_the_policy(stock, guest, db):
    room_type, start = stock(nights=3, price="100.00", rate_plans=PLANS)
    flexible = pay(guest, make_booking(guest, room_type, start, nights=3, rate_plan="flexible"))
    shorter = change(guest, flexible, {"check_out": start.plus(1).isoformat()})
    assert shorter.status_code == 200 and shorter.json["_change"]["refunded"] == "200.00"
    payment = db.payments.find_one({"booking": ObjectId(flexible["_id"])})
    assert (payment["status"], str(payment["refunded_amount"])) == ("partially_refunded", "200.00")
    saver = pay(
        guest, make_booking(guest, room_type, start.plus(1), nights=2, rate_plan="non-refundable")
    )
    kept = change(guest, saver, {"check_out": start.plus(2).isoformat()})
    assert kept.status_code == 200 and kept.json["total_price"] == "85.00"
    assert kept.json["_change"]["refunded"] == "0.00"  # non-refundable: the difference too


def test_changing_the_room_type_and_plan(admin, make_hotel, make_room_type, guest, db):
    hotel = make_hotel()
    double = make_room_type(hotel=hotel, name="Double")
    suite = make_room_type(hotel=hotel, name="Suite", max_adults=4, rate_plans=PLANS)
    start = stock_room_type(admin, double, 2, 1, "100.00")
    stock_room_type(admin, suite, 2, 1, "200.00", start=start)
    booking = make_booking(guest, double, start)
    upgraded = change(
        guest, booking, {"room_type": suite["_id"], "adults": 3, "rate_plan": "breakfast"}
    )
    assert upgraded.status_code == 200, upgraded.json
    assert upgraded.json["room_type"] == suite["_id"] and upgraded.json["adults"] == 3
    assert upgraded.json["rate_plan"] == "breakfast"
    assert upgraded.json["total_price"] == "508.00"  # (200 + 3 x 18) x 2, pending: no charge
    assert booked(db, double["_id"]) == [0, 0] and booked(db, suite["_id"]) == [1, 1]
    elsewhere = make_room_type(name="Elsewhere")
    moved = change(guest, upgraded.json, {"room_type": elsewhere["_id"], "adults": 2})
    assert moved.status_code == 422 and "room_type" in moved.json["_issues"]
    assert moved.json["_error"]["message"] == (
        "a booking changes within its hotel; book the other hotel anew"
    )


def test_racing_changes_apply_once(stock, guest, db):
    room_type, start = stock(nights=6, allotment=1)
    booking = make_booking(guest, room_type, start, nights=1)
    bodies = [
        {"check_in": start.plus(i).isoformat(), "check_out": start.plus(i + 1).isoformat()}
        for i in range(1, 6)
    ]
    responses = _race([lambda b=b: change(guest, booking, b) for b in bodies])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 412, 412, 412, 412], statuses
    assert sum(booked(db, room_type["_id"])) == 1
    assert reconcile.find_drift(db) == []


def test_a_booking_of_several_rooms_changes_its_rooms(
    admin, make_hotel, make_room_type, guest, db
):
    hotel = make_hotel()
    double = make_room_type(hotel=hotel, name="Double")
    single = make_room_type(hotel=hotel, name="Single", max_adults=1)
    start = stock_room_type(admin, double, 2, 2, "100.00")
    stock_room_type(admin, single, 2, 2, "60.00", start=start)
    created = guest.post(
        "bookings",
        {
            "check_in": start.isoformat(),
            "check_out": start.plus(2).isoformat(),
            "rooms": [{"room_type": double["_id"]}, {"room_type": single["_id"]}],
        },
    ).json
    alone = change(guest, created, {"room_type": double["_id"]})
    assert alone.status_code == 422 and "room_type" in alone.json["_issues"]
    assert alone.json["_error"]["message"] == (
        "this booking names its rooms in rooms: send rooms with every room as it should be"
    )
    two_doubles = change(guest, created, {"rooms": [{"room_type": double["_id"]}] * 2})
    assert two_doubles.status_code == 200, two_doubles.json
    assert two_doubles.json["total_price"] == "400.00"
    assert booked(db, double["_id"]) == [2, 2] and booked(db, single["_id"]) == [0, 0]
    shorter = change(guest, two_doubles.json, {"check_out": start.plus(1).isoformat()})
    assert shorter.status_code == 200 and shorter.json["total_price"] == "200.00"
    assert booked(db, double["_id"]) == [2, 0]


def test_a_lapsed_hold_cannot_change(stock, guest, db):
    from datetime import timedelta

    from plumbing.values import utcnow

    room_type, start = stock(nights=3)
    booking = make_booking(guest, room_type, start)
    db.bookings.update_one({}, {"$set": {"hold_expires_at": utcnow() - timedelta(seconds=1)}})
    refused = change(guest, booking, {"check_out": start.plus(3).isoformat()})
    assert refused.status_code == 409
    assert refused.json["_error"]["message"] == "this booking's hold has expired; book again"
    assert booked(db, room_type["_id"]) == [1, 1, 0]


def test_a_price_moving_between_charge_and_commit_refunds_and_changes_nothing(
    stock, guest, db, monkeypatch
):
    """The difference is charged before the transaction; if the transaction prices the
    new stay otherwise, the change is refused and the charge given back in full."""
    from booking import modify

    room_type, start = stock(nights=3, price="100.00")
    booking = pay(guest, make_booking(guest, room_type, start, nights=2))
    estimate = modify.estimate
    monkeypatch.setattr(modify, "estimate", lambda *a: estimate(*a) - 1)  # a stale price
    moved = change(
        guest, booking, {"check_out": start.plus(3).isoformat(), "payment_method": "pm_card_visa"}
    )
    assert moved.status_code == 409
    assert moved.json["_error"]["message"] == (
        "a night's price changed meanwhile; fetch the booking and retry"
    )
    charge = db.payments.find_one({"purpose": "change"})
    assert charge["status"] == "refunded" and charge["refunded_amount"] == charge["amount"]
    assert booked(db, room_type["_id"]) == [1, 1, 0]
    kept = db.bookings.find_one({"_id": ObjectId(booking["_id"])})
    assert kept["_etag"] == booking["_etag"] and kept["nights"] == 2


def test_a_change_inside_the_penalty_window_keeps_the_penalty(stock, guest, db):
    """A paid stay tomorrow (48 h free, 50 % kept) refunds 50.00 of 100.00 if cancelled;
    moved 30 days out first, cancelling still keeps the 50.00 (it refunded 100.00)."""
    from plumbing.values import today

    plan = {**PLANS[0], "cancellation": {"free_until_hours": 48, "penalty_percent": 50}}
    tomorrow = today().plus(1)
    room_type, _ = stock(nights=1, price="100.00", start=tomorrow, rate_plans=[plan])
    later = tomorrow.plus(30)
    stock(nights=1, price="100.00", start=later, room_type=room_type)
    booking = pay(guest, make_booking(guest, room_type, tomorrow, nights=1))
    moved = change(
        guest, booking, {"check_in": later.isoformat(), "check_out": later.plus(1).isoformat()}
    )
    assert moved.status_code == 200, moved.json
    assert moved.json["_change"] == {"charged": "0.00", "refunded": "0.00"}
    assert moved.json["penalty_kept"] == "50.00"
    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["refund_amount"] == "50.00"
    payment = db.payments.find_one({"booking": ObjectId(booking["_id"])})
    assert str(payment["refunded_amount"]) == "50.00"


def test_a_change_outside_the_penalty_window_keeps_nothing(stock, guest):
    room_type, start = stock(nights=3, price="100.00")  # ten days ahead: free to cancel
    booking = pay(guest, make_booking(guest, room_type, start, nights=2))
    moved = change(guest, booking, {"check_in": start.plus(1).isoformat()})
    assert moved.status_code == 200 and "penalty_kept" not in moved.json
    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.json["refund_amount"] == "100.00"


def test_a_change_honours_idempotency_key(stock, guest, db):
    """The same key and body answer the first change again (charged once); the same key
    with another body is a 422; a retry after a lost answer cannot charge twice."""
    room_type, start = stock(nights=4, price="100.00")
    booking = pay(guest, make_booking(guest, room_type, start, nights=2))
    body = {"check_out": start.plus(3).isoformat(), "payment_method": "pm_card_visa"}
    headers = {"If-Match": booking["_etag"], "Idempotency-Key": "change-1"}
    url = f"bookings/{booking['_id']}/change"
    first = guest.post(url, body, headers=headers)
    assert first.status_code == 200, first.json
    again = guest.post(url, body, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["_change"] == first.json["_change"]
    other = guest.post(url, {**body, "check_out": start.plus(4).isoformat()}, headers=headers)
    assert other.status_code == 422
    assert other.json["_issues"] == {"Idempotency-Key": "reused with another body"}
    assert db.payments.count_documents({"purpose": "change"}) == 1
    assert booked(db, room_type["_id"]) == [1, 1, 1, 0]
