"""The front desk: check-in from the arrival day, check-out after it, no-shows; the
nights stay counted and the KPIs count the stay sold."""

from datetime import datetime

from bson import ObjectId

from booking import reconcile
from demo.seed import at_the_desk
from plumbing.values import Day, today
from reporting import dashboard, kpis
from tests.factories import make_booking, pay


def desk(client, booking, step, etag=None):
    return client.post(
        f"bookings/{booking['_id']}/{step}", headers={"If-Match": etag or booking["_etag"]}
    )


def confirmed(guest, stock, start, nights=2):
    room_type, _ = stock(nights=nights, start=start)
    booking = make_booking(guest, room_type, start, nights=nights)
    assert pay(guest, booking).status_code == 201
    return guest.get(f"bookings/{booking['_id']}").json


def test_a_stay_is_checked_in_then_out(guest, manager, stock, db):
    booking = confirmed(guest, stock, today())
    arrived = desk(manager, booking, "check-in")
    assert arrived.status_code == 200, arrived.json
    assert arrived.json["status"] == "checked_in" and arrived.json["checked_in_at"]
    assert desk(manager, arrived.json, "check-in").status_code == 409  # once
    # The dashboard still lists the arrival, and the departure on its last day.
    arriving, _ = dashboard.arrivals_and_departures(db)
    _, leaving = dashboard.arrivals_and_departures(db, day=today().plus(2))
    assert (
        [b["_id"] for b in arriving] == [b["_id"] for b in leaving] == [ObjectId(booking["_id"])]
    )
    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 409, cancelled.json  # in the house: no cancelling
    left = desk(manager, arrived.json, "check-out")
    assert left.status_code == 200, left.json
    assert left.json["status"] == "checked_out" and left.json["checked_out_at"]
    assert desk(manager, left.json, "check-out").status_code == 409
    # Its nights were the guest's: still counted, and sold in the KPIs.
    assert reconcile.find_drift(db) == []
    kpis.refresh(db)
    assert kpis.reconcile(db) == []
    night = db[kpis.HOTEL_DAILY].find_one({"hotel": ObjectId(booking["hotel"]), "date": today()})
    assert night["rooms_sold"] == 1


def test_check_in_waits_for_the_arrival_day_and_the_hotels_staff(guest, manager, login, stock):
    booking = confirmed(guest, stock, today().plus(2))
    early = desk(manager, booking, "check-in")
    assert early.status_code == 409
    assert today().plus(2).isoformat() in early.json["_error"]["message"]
    own = desk(guest, booking, "check-in")  # their own booking
    assert own.status_code == 403 and "managers and admins" in own.json["_error"]["message"]
    other = desk(login("manager"), booking, "check-in")  # not their hotel
    assert other.status_code == 404 and "not found" in other.json["_error"]["message"]
    stale = desk(manager, booking, "check-in", etag="0" * 40)
    assert stale.status_code == 412
    assert stale.json["_error"]["message"] == (
        "the booking changed since you read it; fetch it again"
    )
    out = desk(manager, booking, "check-out")
    assert out.status_code == 409 and "only a checked_in booking" in out.json["_error"]["message"]


def test_the_demo_ends_past_stays_at_the_desk():
    """The seed's stays: arrived and left checked out, in the house checked in, ahead
    confirmed, and the few whose code says so no-shows."""
    now = datetime(2026, 12, 3)

    def stay(code, first, last):
        return {
            "confirmation_code": code,
            "status": "confirmed",
            "check_in": Day.parse(first),
            "check_out": Day.parse(last),
        }

    left, inside, ahead = (
        stay("AAAAAAAB", *s)
        for s in [
            ("2026-11-28", "2026-12-01"),
            ("2026-12-01", "2026-12-05"),
            ("2026-12-03", "2026-12-04"),
        ]
    )
    missing = stay("AAAAAAA7", "2026-11-28", "2026-11-30")
    assert sum(map(ord, "AAAAAAA7")) % 30 == 0 != sum(map(ord, "AAAAAAAB")) % 30
    for booking in (left, inside, ahead, missing):
        at_the_desk(booking, now)
    assert left["status"] == "checked_out" and left["checked_out_at"] < now
    assert inside["status"] == "checked_in" and "checked_out_at" not in inside
    assert ahead["status"] == "confirmed"  # arrives at 15:00 today
    assert missing["status"] == "no_show" and missing["no_show_at"] == datetime(2026, 11, 29)


def test_the_dashboards_worklists_are_today_where_each_hotel_is(guest, stock, make_hotel, db):
    """At 01:00 UTC a New York hotel is still on yesterday: its arrival of the UTC day is
    tomorrow's work there. At 20:00 UTC Tokyo is on tomorrow already: its arrival of the
    next UTC day is to check in now (the step allows it: its arrival day has come)."""
    new_york, tokyo = make_hotel(timezone="America/New_York"), make_hotel(timezone="Asia/Tokyo")
    utc = today().plus(1)
    room_type, _ = stock(nights=3, start=utc, hotel=new_york)
    here = make_booking(guest, room_type, utc, nights=2)
    room_type, _ = stock(nights=3, start=utc.plus(1), hotel=tokyo)
    there = make_booking(guest, room_type, utc.plus(1), nights=2)
    for booking in (here, there):
        assert pay(guest, booking).status_code == 201

    def arriving(hour, day=utc):
        now = datetime(day.year, day.month, day.day, hour)
        return {str(b["_id"]) for b in dashboard.arrivals_and_departures(db, now=now)[0]}

    assert arriving(1) == set()  # New York: the day before; Tokyo: two days before
    assert arriving(12) == {here["_id"]}
    assert arriving(20) == {here["_id"], there["_id"]}  # Tokyo's 05:00 of its arrival day
    assert arriving(4, utc.plus(1)) == {here["_id"], there["_id"]}  # New York's 23:00
    assert arriving(10, utc.plus(1)) == {there["_id"]}  # New York is on the next day
    assert arriving(16, utc.plus(1)) == set()  # and Tokyo too
