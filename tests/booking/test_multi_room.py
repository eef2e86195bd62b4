"""Several rooms in one booking: every night of every room or nothing, one payment, one
cancellation; races stay exact."""

from bson import ObjectId

from booking import reconcile
from reporting import kpis
from tests.conftest import stock_room_type
from tests.support import _race


def family(admin, make_hotel, make_room_type, allotment=2, nights=3):
    """A hotel with a double (100.00) and a family room (150.00), stocked."""
    hotel = make_hotel()
    double = make_room_type(hotel=hotel, name="Double", max_adults=2)
    suite = make_room_type(hotel=hotel, name="Family", max_adults=2, max_children=2)
    start = stock_room_type(admin, double, nights, allotment, "100.00")
    stock_room_type(admin, suite, nights, allotment, "150.00", start=start)
    return hotel, double, suite, start


def two_rooms(double, suite, start, nights=2, **extra):
    return {
        "check_in": start.isoformat(),
        "check_out": start.plus(nights).isoformat(),
        "rooms": [
            {"room_type": double["_id"], "adults": 2},
            {"room_type": suite["_id"], "adults": 1, "children": 2},
        ],
        **extra,
    }


def booked(db, room_type):
    rows = db.inventory.find({"room_type": ObjectId(room_type)}).sort("date", 1)
    return [r["booked"] for r in rows]


def test_two_rooms_one_booking_one_payment_one_cancellation(
    admin, make_hotel, make_room_type, guest, db
):
    _hotel, double, suite, start = family(admin, make_hotel, make_room_type)
    created = guest.post("bookings", two_rooms(double, suite, start))
    assert created.status_code == 201, created.json
    booking = created.json
    assert [r["room_type"] for r in booking["rooms"]] == [double["_id"], suite["_id"]]
    assert [r["total_price"] for r in booking["rooms"]] == ["200.00", "300.00"]
    assert [(r["adults"], r["children"]) for r in booking["rooms"]] == [(2, 0), (1, 2)]
    assert booking["total_price"] == "500.00"
    assert [n["price"] for n in booking["nightly_prices"]] == ["250.00", "250.00"]
    assert (booking["adults"], booking["children"]) == (3, 2)
    assert booked(db, double["_id"]) == [1, 1, 0] and booked(db, suite["_id"]) == [1, 1, 0]

    paid = guest.post("payments", {"booking": booking["_id"], "payment_method": "pm_card_visa"})
    assert paid.status_code == 201 and paid.json["amount"] == "500.00"
    kpis.drain(db)
    night = db.occupancy_daily.find_one(
        {"hotel": db.bookings.find_one()["hotel"]}, sort=[("date", 1)]
    )
    assert night["rooms_sold"] == 2 and str(night["room_revenue"]) == "250.00"
    assert reconcile.find_drift(db) == []

    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200 and cancelled.json["refund_amount"] == "500.00"
    assert booked(db, double["_id"]) == [0, 0, 0] and booked(db, suite["_id"]) == [0, 0, 0]
    assert reconcile.find_drift(db) == []


def test_two_rooms_of_one_type_take_two_of_each_night_or_nothing(
    admin, make_hotel, make_room_type, guest, db
):
    _hotel, double, suite, start = family(admin, make_hotel, make_room_type, allotment=2)
    body = {
        "check_in": start.isoformat(),
        "check_out": start.plus(2).isoformat(),
        "rooms": [{"room_type": double["_id"], "adults": 2}, {"room_type": double["_id"]}],
    }
    first = guest.post("bookings", body)
    assert first.status_code == 201 and booked(db, double["_id"]) == [2, 2, 0]
    # One double left on the third night only; the family room is free: still nothing.
    again = guest.post(
        "bookings", {**body, "rooms": [*body["rooms"], {"room_type": suite["_id"]}]}
    )
    assert again.status_code == 409
    assert again.json["_issues"]["nights"] == [start.isoformat(), start.plus(1).isoformat()]
    assert booked(db, suite["_id"]) == [0, 0, 0] and db.bookings.count_documents({}) == 1


def test_all_or_nothing_when_one_room_type_is_gone(admin, make_hotel, make_room_type, guest, db):
    _hotel, double, suite, start = family(admin, make_hotel, make_room_type, allotment=1)
    closed = admin.put(
        f"room-types/{suite['_id']}/inventory",
        {
            "from": start.plus(1).isoformat(),
            "to": start.plus(2).isoformat(),
            "allotment": 1,
            "price": "150.00",
            "closed": True,
        },
    )
    assert closed.status_code == 200, closed.json
    refused = guest.post("bookings", two_rooms(double, suite, start))
    assert refused.status_code == 409
    assert refused.json["_error"]["message"] == f"not available on {start.plus(1).isoformat()}"
    assert booked(db, double["_id"]) == [0, 0, 0] and db.bookings.count_documents({}) == 0


def test_refusals_name_the_room_and_field(admin, make_hotel, make_room_type, guest):
    _hotel, double, suite, start = family(admin, make_hotel, make_room_type)
    elsewhere = make_room_type(name="Elsewhere")
    body = two_rooms(double, suite, start)
    too_many = guest.post(
        "bookings", {**body, "rooms": [{"room_type": double["_id"], "adults": 1, "children": 1}]}
    )
    assert too_many.status_code == 422
    assert too_many.json["_error"]["message"] == "the party does not fit this room type"
    assert too_many.json["_issues"] == {"rooms.0.children": "Double takes at most 0 children"}
    apart = guest.post(
        "bookings", {**body, "rooms": [*body["rooms"], {"room_type": elsewhere["_id"]}]}
    )
    assert apart.status_code == 422
    assert apart.json["_error"]["message"] == "every room of a booking must be in the same hotel"
    assert apart.json["_issues"]["rooms.2.room_type"] == "is not a room type of Hotel Test"
    both = guest.post("bookings", {**body, "room_type": double["_id"]})
    assert both.status_code == 422 and set(both.json["_issues"]) >= {"room_type", "rooms"}
    assert both.json["_issues"]["rooms"] == "'room_type' must not be present with 'rooms'"
    nine = guest.post("bookings", {**body, "rooms": [{"room_type": double["_id"]}] * 9})
    assert nine.status_code == 422 and nine.json["_issues"] == {"rooms": "max length is 8"}
    plan = guest.post(
        "bookings",
        {**body, "rooms": [{"room_type": double["_id"], "rate_plan": "nope"}]},
    )
    assert plan.status_code == 422
    assert plan.json["_issues"] == {"rooms.0.rate_plan": "must be one of standard"}
    empty = guest.post("bookings", {**body, "rooms": []})
    assert empty.status_code == 422 and empty.json["_issues"] == {"rooms": "min length is 1"}


def test_expiry_releases_every_room(admin, make_hotel, make_room_type, guest, db):
    from datetime import timedelta

    from booking import holds
    from plumbing.values import utcnow

    _hotel, double, suite, start = family(admin, make_hotel, make_room_type)
    booking = guest.post("bookings", two_rooms(double, suite, start)).json
    assert holds.expire_due(db.client, db, now=utcnow() + timedelta(hours=1)) == 1
    assert db.bookings.find_one()["status"] == "expired"
    assert booked(db, double["_id"]) == [0, 0, 0] and booked(db, suite["_id"]) == [0, 0, 0]
    assert booking["hold_expires_at"]


def test_families_race_for_the_last_rooms(admin, make_hotel, make_room_type, login, db):
    """Three doubles left; each family wants two of them and a family room. Exactly one
    family gets its rooms, nobody gets part of theirs."""
    _hotel, double, suite, start = family(admin, make_hotel, make_room_type, allotment=3)
    body = {
        "check_in": start.isoformat(),
        "check_out": start.plus(3).isoformat(),
        "rooms": [
            {"room_type": double["_id"]},
            {"room_type": suite["_id"]},
            {"room_type": double["_id"]},
        ],
    }
    guests = [login("guest") for _ in range(12)]
    responses = _race([lambda g=g: g.post("bookings", body) for g in guests])
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1 and set(statuses) == {201, 409}, statuses
    assert booked(db, double["_id"]) == [2, 2, 2] and booked(db, suite["_id"]) == [1, 1, 1]
    assert reconcile.find_drift(db) == []
