"""The durable record of what may have moved a KPI: `kpi_changes`.

A write that changes a booking's confirmed nights or a hotel's inventory calls `record`
with its session, so the record commits (or not) with the change itself; the KPI worker
(reporting/kpis.py) recomputes what the records name and then deletes them. A record is
a to-do, never a delta: handling one twice, or one whose change rolled back, is harmless.
"""

from plumbing.values import Day, utcnow

CHANGES = "kpi_changes"
EVERYTHING = "*"  # a record's hotel when every hotel is to be recomputed


def record(db, hotel, start=None, end=None, cities=(), session=None):
    """`hotel`'s nights in [start, end) (every night when None) may have moved; inside the
    caller's transaction when it passes its session."""
    db[CHANGES].insert_one(
        {
            "hotel": hotel,
            "from": start,
            "to": end,
            "cities": sorted({c for c in cities if c}),
            "at": utcnow(),
        },
        session=session,
    )


def record_stay(db, booking, session=None):
    """A booking's nights moved in or out of `confirmed`."""
    record(
        db,
        booking["hotel"],
        Day.of(booking["check_in"]),
        Day.of(booking["check_out"]),
        [booking.get("city")],
        session=session,
    )
