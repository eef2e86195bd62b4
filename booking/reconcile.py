"""Reconcile: recompute every inventory row's `booked` from live bookings."""

from booking.reservations import PENDING
from plumbing.values import Day, nights, stamp


def reconcile(db, fix=False):
    """Recompute every inventory row's `booked` from live bookings; report (and fix) drift."""
    live = db.bookings.aggregate(
        [
            {"$match": {"status": {"$in": [PENDING, "confirmed"]}}},
            {"$project": {"room_type": 1, "check_in": 1, "check_out": 1}},
        ]
    )
    expected = {}
    for booking in live:
        for night in nights(Day.of(booking["check_in"]), Day.of(booking["check_out"])):
            key = (booking["room_type"], night)
            expected[key] = expected.get(key, 0) + 1
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
            if fix:
                db.inventory.update_one(
                    {"_id": row["_id"], "booked": row["booked"]},
                    {"$set": {"booked": want, **stamp()}},
                )
    return drift
