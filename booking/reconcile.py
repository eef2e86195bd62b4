"""Reconcile: compare every inventory row's `booked` with live bookings; repair drift.

Safe while the API serves. Finding drift reads without locks; repairing a row is its own
transaction that reads the row and recounts that night's live bookings again, then
writes the difference. A booking committed meanwhile either is in that snapshot, or
writes the same row and makes one of the two transactions conflict and retry: a repair
never "fixes" away a booking it did not see, so a room is never sold twice.
"""

from booking.reservations import MAX_NIGHTS, room_counts
from domain.vocabulary import NIGHTS_TAKEN
from plumbing import logs, transactions
from plumbing.values import Day, nights, stamp

LIVE = NIGHTS_TAKEN  # the bookings whose nights `booked` counts


def find_drift(db):
    """Rows whose `booked` differs from the live bookings counted a moment ago."""
    live = db.bookings.find(
        {"status": {"$in": list(LIVE)}},
        {"room_type": 1, "rooms.room_type": 1, "check_in": 1, "check_out": 1},
    )
    expected = {}
    for booking in live:
        for room_type, count in room_counts(booking).items():
            for night in nights(Day.of(booking["check_in"]), Day.of(booking["check_out"])):
                key = (room_type, night)
                expected[key] = expected.get(key, 0) + count
    drift = []
    for row in db.inventory.find({}, {"room_type": 1, "date": 1, "booked": 1}):
        key = (row["room_type"], Day.of(row["date"]))
        want = expected.get(key, 0)
        if row["booked"] != want:
            drift.append(
                {
                    "_id": row["_id"],
                    "room_type": row["room_type"],
                    "date": key[1],
                    "booked": row["booked"],
                    "expected": want,
                }
            )
    return drift


def live_bookings_on(db, room_type, night, session=None):
    """How many rooms of a room type live bookings hold on `night`, read through the
    (rooms.room_type, check_in) and (room_type, check_in) indexes (the second finds
    bookings made before `rooms` existed): a stay holding it began at most MAX_NIGHTS
    before."""
    arrivals = {"$gte": night.plus(-MAX_NIGHTS), "$lte": night}
    fields = {"status": 1, "check_out": 1, "room_type": 1, "rooms.room_type": 1}
    found = {}
    for key in ("rooms.room_type", "room_type"):
        for booking in db.bookings.find(
            {key: room_type, "check_in": arrivals}, fields, session=session
        ):
            found[booking["_id"]] = booking
    return sum(
        room_counts(b).get(room_type, 0)
        for b in found.values()
        if b["status"] in LIVE and Day.of(b["check_out"]) > night
    )


def repair_row(client, db, row):
    """Set one row's `booked` to its live bookings, counted again inside the transaction.
    Returns (booked before, booked after), or None when there was nothing to repair."""

    def unit(session):
        current = db.inventory.find_one({"_id": row["_id"]}, {"booked": 1}, session=session)
        if current is None:
            return None
        live = live_bookings_on(db, row["room_type"], row["date"], session)
        if current["booked"] == live:
            return None
        db.inventory.update_one(
            {"_id": row["_id"]}, {"$set": {"booked": live, **stamp()}}, session=session
        )
        return current["booked"], live

    return transactions.run(client, unit)


def reconcile(db, fix=False):
    """The drift found; with `fix`, each row repaired (and its `expected` the count the
    repair used, which may differ from the first reading if bookings came meanwhile)."""
    drift = find_drift(db)
    if fix:
        for row in drift:
            repaired = repair_row(db.client, db, row)
            if repaired is not None:
                row["expected"] = repaired[1]
    for row in drift:
        logs.event(
            "reconcile.drift",
            room_type=str(row["room_type"]),
            date=row["date"].isoformat(),
            booked=row["booked"],
            expected=row["expected"],
            repaired=fix,
        )
    return drift
