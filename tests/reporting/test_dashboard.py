"""The admin dashboard's reads: bounded, through their indexes, and still the newest."""

from datetime import timedelta

from plumbing.values import utcnow
from reporting import dashboard


def test_the_newest_come_first_however_old_they_are(db):
    """A day's window first, then wider ones: documents older than every window are
    still found, newest first, when there are too few younger ones."""
    now = utcnow()
    ages = [timedelta(hours=1), timedelta(days=3), timedelta(days=12), timedelta(days=90)]
    documents = [{"_created": now - age, "n": i} for i, age in enumerate(ages)]
    db.payments.insert_many(documents, bypass_document_validation=True)  # only the times
    assert [p["n"] for p in dashboard.recent(db, "payments", limit=3, now=now)] == [0, 1, 2]
    assert [p["n"] for p in dashboard.recent(db, "payments", limit=10, now=now)] == [0, 1, 2, 3]
    assert [p["n"] for p in dashboard.recent(db, "payments", limit=1, now=now)] == [0]


def test_a_managers_newest_are_their_hotels_newest_across_windows(db):
    """Per hotel, newest first across the hotels; older than every window still found."""
    from bson import ObjectId

    now = utcnow()
    mine, theirs, other = ObjectId(), ObjectId(), ObjectId()
    ages = {mine: [1, 50, 200], theirs: [2, 30], other: [0, 0.5]}
    documents = [
        {
            "hotel": hotel,
            "_created": now - timedelta(hours=hours),
            "n": f"{hotel}-{i}",
            "confirmation_code": f"{hotel}-{i}",
        }
        for hotel, hours_list in ages.items()
        for i, hours in enumerate(hours_list)
    ]
    db.bookings.insert_many(documents, bypass_document_validation=True)  # only the times
    newest = dashboard.recent(db, "bookings", hotels={mine, theirs}, limit=4, now=now)
    assert [d["n"] for d in newest] == [f"{mine}-0", f"{theirs}-0", f"{theirs}-1", f"{mine}-1"]
    everything = dashboard.recent(db, "bookings", hotels={mine, theirs}, limit=10, now=now)
    assert len(everything) == 5 and everything[-1]["n"] == f"{mine}-2"


def test_the_dashboards_reads_use_their_indexes(db):
    plans = {
        "departures": db.bookings.find({"check_out": utcnow()}).explain(),
        "newest": db.bookings.find({"_created": {"$gte": utcnow()}})
        .sort("_created", -1)
        .limit(10)
        .explain(),
        "a hotel's newest": db.bookings.find({"hotel": 1, "_created": {"$gte": utcnow()}})
        .sort("_created", -1)
        .limit(10)
        .explain(),
    }
    for name, plan in plans.items():
        assert "IXSCAN" in str(plan["queryPlanner"]["winningPlan"]), name
