"""The admin dashboard's reads on the demo, against the reads it made before; prints
figures.

Seeds the demo on an embedded server of its own (no HTTP server), then in the same run,
median of 15 each (pymongo, the reads the admin's home page makes for an admin):

  - today's arrivals and departures (departures through the `check_out` index), the
    newest bookings and payments (a bounded `_created` range through its index), the
    next 30 nights' KPIs - and their sum, the page's reads;
  - the baseline, the reads as they were: departures picked in Python from every stay
    that began in the last 30 nights, the newest documents by a sort of the whole
    collection.

Usage: .venv/bin/python -u bench/dashboard.py
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench.common import median_read, seeded_demo  # noqa: E402
from domain.vocabulary import MAX_NIGHTS  # noqa: E402
from plumbing.values import Day, today  # noqa: E402
from reporting import dashboard, kpis  # noqa: E402

ROUNDS = 15


def old_departures(db, day):
    stays = db.bookings.find({"check_in": {"$gte": day.plus(-MAX_NIGHTS), "$lt": day}})
    return [b for b in stays if b["status"] in dashboard.LEAVING and Day.of(b["check_out"]) == day]


def old_recent(db, collection):
    return list(db[collection].find({}).sort("_id", -1).limit(dashboard.RECENT))


def main():
    with seeded_demo() as (db, plan, seconds):
        print(f"demo seeded: {plan['bookings']} bookings in {seconds:.0f} s")
        kpis.drain(db)
        day = today()
        reads = {
            "arrivals and departures": lambda: dashboard.arrivals_and_departures(db),
            "newest bookings": lambda: dashboard.recent(db, "bookings"),
            "newest payments": lambda: dashboard.recent(db, "payments"),
            "next 30 nights' KPIs": lambda: dashboard.next_days(db),
        }
        baseline = {
            "arrivals and departures": lambda: (
                dashboard.arrivals_and_departures(db)[0],
                old_departures(db, day),
            ),
            "newest bookings": lambda: old_recent(db, "bookings"),
            "newest payments": lambda: old_recent(db, "payments"),
            "next 30 nights' KPIs": lambda: dashboard.next_days(db),
        }
        # The same UTC day both ways (the page itself reads each hotel's own today).
        assert sorted(b["_id"] for b in old_departures(db, day)) == sorted(
            b["_id"] for b in dashboard.arrivals_and_departures(db, day=day)[1]
        ), "the two departure reads disagree"
        total = total_old = 0.0
        print(f"{'read':28} {'now (ms)':>10} {'before (ms)':>12}")
        for name in reads:
            now_ms = median_read(reads[name], ROUNDS)[0] * 1000
            old_ms = median_read(baseline[name], ROUNDS)[0] * 1000
            total, total_old = total + now_ms, total_old + old_ms
            print(f"{name:28} {now_ms:10.1f} {old_ms:12.1f}")
        print(
            f"{'the page reads, in all':28} {total:10.1f} {total_old:12.1f}"
            f"   ({total_old / total:.1f}x)"
        )


if __name__ == "__main__":
    main()
