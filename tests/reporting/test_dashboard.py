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


def test_the_dashboards_reads_use_their_indexes(db):
    plans = {
        "departures": db.bookings.find({"check_out": utcnow()}).explain(),
        "newest": db.bookings.find({"_created": {"$gte": utcnow()}})
        .sort("_created", -1)
        .limit(10)
        .explain(),
    }
    for name, plan in plans.items():
        assert "IXSCAN" in str(plan["queryPlanner"]["winningPlan"]), name
