"""POST /bookings: every night or none, priced by the server, every rule's refusal."""

from datetime import datetime, timedelta

import pytest
from bson import Decimal128, ObjectId

from plumbing.values import today
from tests.factories import book, booked


def test_booking_takes_every_night_at_inventory_prices(guest, stock, db, admin):
    room_type, start = stock(nights=3, price="100.00")
    # The middle night is dearer: the server prices each night from its row.
    admin.put(
        f"room-types/{room_type['_id']}/inventory",
        {
            "from": start.plus(1).isoformat(),
            "to": start.plus(2).isoformat(),
            "allotment": 2,
            "price": "150.50",
        },
    )
    before = datetime.utcnow()
    response = book(guest, room_type, start, nights=3, adults=2, guest_name="Ada")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "pending_payment"
    assert body["total_price"] == "350.50" and body["currency"] == "EUR"
    assert [n["price"] for n in body["nightly_prices"]] == ["100.00", "150.50", "100.00"]
    assert body["nightly_prices"][0]["date"] == start.isoformat()
    assert body["nights"] == 3 and body["check_in"] == start.isoformat()
    assert len(body["confirmation_code"]) == 8
    hold = datetime.strptime(body["hold_expires_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert timedelta(minutes=14) < hold - before < timedelta(minutes=16)
    assert [b for _, b in booked(db)] == [1, 1, 1]
    stored = db.bookings.find_one({"_id": ObjectId(body["_id"])})
    assert stored["total_price"] == Decimal128("350.50")
    assert stored["check_in"] == datetime(start.year, start.month, start.day)
    assert stored["guest"] == guest.user["_id"] and isinstance(stored["hotel"], ObjectId)
    assert stored["cancellation_policy"]["timezone"] == "Europe/Paris"


@pytest.mark.parametrize(
    "field",
    ["total_price", "guest", "hotel", "nightly_prices", "confirmation_code", "hold_expires_at"],
)
def test_server_owned_fields_cannot_be_sent(guest, stock, db, field):
    room_type, start = stock()
    value = {"nightly_prices": [], "hold_expires_at": "2030-01-01T00:00:00Z"}.get(
        field, "6740f0c2a1b2c3d4e5f60718" if field in ("guest", "hotel") else "1.00"
    )
    response = book(guest, room_type, start, **{field: value})
    assert response.status_code == 422
    assert field in response.json["_issues"]
    assert db.bookings.count_documents({}) == 0 and [b for _, b in booked(db)] == [0, 0, 0]


def test_status_cannot_be_sent(guest, stock, db):
    room_type, start = stock()
    response = book(guest, room_type, start, status="confirmed")
    assert response.status_code == 422
    assert "set by the server" in response.json["_issues"]["status"]
    assert db.bookings.count_documents({}) == 0


@pytest.mark.parametrize(
    ("case", "field", "message"),
    [
        ("past", "check_in", "in the past"),
        ("reversed", "check_out", "after check_in"),
        ("too_long", "check_out", "at most 30 nights"),
        ("too_far", "check_in", "365 days"),
        ("adults", "adults", "at most 2 adults"),
        ("children", "children", "at most 0 children"),
        ("bad_date", "check_in", "YYYY-MM-DD"),
    ],
)
def test_date_and_party_rules(guest, stock, db, case, field, message):
    room_type, start = stock()
    day = today()
    body = {
        "past": {"check_in": day.plus(-1), "check_out": day.plus(1)},
        "reversed": {"check_in": start.plus(2), "check_out": start},
        "too_long": {"check_in": start, "check_out": start.plus(31)},
        "too_far": {"check_in": day.plus(366), "check_out": day.plus(367)},
    }.get(case, {"check_in": start, "check_out": start.plus(2)})
    body = {k: v.isoformat() for k, v in body.items()}
    if case == "adults":
        body["adults"] = 3
    if case == "children":
        body["children"] = 1
    if case == "bad_date":
        body["check_in"] = "12/01/2026"
    response = guest.post("bookings", {"room_type": room_type["_id"], **body})
    assert response.status_code == 422, response.json
    assert message in str(response.json["_issues"][field])
    assert db.bookings.count_documents({}) == 0 and [b for _, b in booked(db)] == [0, 0, 0]


def test_min_stay_of_the_arrival_night(guest, admin, stock, db):
    room_type, start = stock(nights=4)
    admin.put(
        f"room-types/{room_type['_id']}/inventory",
        {
            "from": start.isoformat(),
            "to": start.plus(1).isoformat(),
            "allotment": 2,
            "price": "100.00",
            "min_stay": 3,
        },
    )
    short = book(guest, room_type, start, nights=2)
    assert short.status_code == 422
    assert "at least 3 nights" in short.json["_error"]["message"]
    assert [b for _, b in booked(db)] == [0, 0, 0, 0]
    assert book(guest, room_type, start, nights=3).status_code == 201
    assert book(guest, room_type, start.plus(1), nights=1).status_code == 201


@pytest.mark.parametrize("trouble", ["closed", "full", "missing"])
def test_unavailable_nights_are_named_and_nothing_is_taken(guest, stock, db, trouble):
    room_type, start = stock(nights=3, allotment=2)
    bad = start.plus(1)
    row = {"room_type": ObjectId(room_type["_id"]), "date": datetime(bad.year, bad.month, bad.day)}
    if trouble == "closed":
        db.inventory.update_one(row, {"$set": {"closed": True}})
    elif trouble == "full":
        db.inventory.update_one(row, {"$set": {"booked": 2}})
    else:
        db.inventory.delete_one(row)
    before = booked(db)
    response = book(guest, room_type, start, nights=3)
    assert response.status_code == 409
    assert response.json["_error"]["message"] == f"not available on {bad.isoformat()}"
    assert booked(db) == before
    assert db.bookings.count_documents({}) == 0


def test_at_most_three_pending_bookings(guest, stock, db):
    room_type, start = stock(nights=8, allotment=5)
    for i in range(3):
        assert book(guest, room_type, start.plus(i * 2), nights=1).status_code == 201
    fourth = book(guest, room_type, start.plus(7), nights=1)
    assert fourth.status_code == 409
    assert "3 bookings pending payment" in fourth.json["_error"]["message"]
    assert db.bookings.count_documents({}) == 3


def test_inactive_hotel_takes_no_bookings(guest, admin, stock, db):
    room_type, start = stock()
    hotel = admin.get(f"hotels/{room_type['hotel']}").json
    admin.patch(f"hotels/{hotel['_id']}", {"status": "inactive"}, etag=hotel["_etag"])
    response = book(guest, room_type, start)
    assert response.status_code == 409
    assert "not taking bookings" in response.json["_error"]["message"]


def test_anonymous_cannot_book(client, stock):
    room_type, start = stock()
    assert book(client, room_type, start).status_code == 401


def test_bookings_are_never_deleted(guest, stock):
    room_type, start = stock()
    created = book(guest, room_type, start).json
    response = guest.delete(f"bookings/{created['_id']}", headers={"If-Match": created["_etag"]})
    assert response.status_code == 405


def test_a_crash_inside_the_transaction_reserves_nothing(app, guest, stock, db, monkeypatch):
    room_type, start = stock()
    step = app.data._insert_steps["bookings"]

    def crash_after_reserving(session, documents):
        step(session, documents)
        assert db.inventory.find_one({"booked": 1}, session=session)  # reserved, in-txn
        raise RuntimeError("simulated crash between reservation and response")

    monkeypatch.setitem(app.data._insert_steps, "bookings", crash_after_reserving)
    response = book(guest, room_type, start)
    assert response.status_code == 500
    assert "simulated" not in response.text  # no internals leak
    assert [b for _, b in booked(db)] == [0, 0, 0]
    assert db.bookings.count_documents({}) == 0


def test_a_hotel_that_moves_city_still_gets_its_nights_back(guest, admin, stock, db):
    """Bookings route to their nights by city: a live booking follows its hotel."""
    room_type, start = stock(nights=2, allotment=2)
    created = book(guest, room_type, start).json
    assert db.bookings.find_one({"_id": ObjectId(created["_id"])})["city"] == "Paris"
    moved = admin.patch_item(
        f"hotels/{room_type['hotel']}", {"address": {"city": "Lyon", "country": "FR"}}
    )
    assert moved.status_code == 200, moved.json
    assert {r["city"] for r in db.inventory.find()} == {"Lyon"}
    assert db.bookings.find_one({"_id": ObjectId(created["_id"])})["city"] == "Lyon"
    cancelled = guest.patch_item(f"bookings/{created['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200
    assert [b for _, b in booked(db)] == [0, 0]
