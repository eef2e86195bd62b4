"""bookings_flat kept ready against computed per read, on the demo; prints figures.

Seeds the demo on embedded servers of its own (no HTTP server), then in the same run:

  - the first worker pass that fills the kept collection (every booking recomputed);
  - one hotel's month - the analysts' documented query (`$match` on hotel and check_in)
    and a count - on the kept collection, median of 20 (pymongo);
  - the same query as the old view ran it: the flat pipeline over every booking, then the
    `$match` (what a view computed on each read costs the embedded engine), once;
  - a pass that follows 50 bookings changed straight in MongoDB, then the drift.

Usage: .venv/bin/python bench/bookings_flat.py [--skip-view]
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench.common import median_read, seeded_demo  # noqa: E402
from plumbing.values import today  # noqa: E402
from reporting import flat  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-view", action="store_true", help="leave out the slow baseline")
    args = parser.parse_args()
    with seeded_demo() as (db, plan, seeded):
        began = time.perf_counter()
        flat.drain(db)
        filled = time.perf_counter() - began
        hotel = db.hotels.find_one({"address.city": "Paris"})["_id"]
        month = {"$gte": today().plus(-30), "$lt": today()}
        query = {"hotel": hotel, "check_in": month}
        kept, rows = median_read(lambda: list(db.bookings_flat.find(query)))
        t = time.perf_counter()
        counted = db.bookings_flat.count_documents(query)
        count_kept = time.perf_counter() - t
        view = None
        if not args.skip_view:
            t = time.perf_counter()
            computed = list(db.bookings.aggregate([*flat.BOOKINGS_FLAT, {"$match": query}]))
            view = time.perf_counter() - t
            assert len(computed) == len(rows)
        changed = [b["_id"] for b in db.bookings.find({}, {"_id": 1}).limit(50)]
        db.bookings.update_many({"_id": {"$in": changed}}, {"$set": {"status": "expired"}})
        t = time.perf_counter()
        followed = flat.drain(db)
        follow = time.perf_counter() - t
        drift = flat.drift(db)
    print(f"demo: {plan['bookings']} bookings seeded in {seeded:.0f} s")
    print(f"  first pass (fills bookings_flat)        {filled:.1f} s")
    print(
        f"  one hotel's month, kept (find)          {kept * 1000:.1f} ms "
        f"({len(rows)} rows, median of 20)"
    )
    print(f"  one hotel's month, kept (count)         {count_kept * 1000:.1f} ms ({counted})")
    if view is not None:
        print(f"  the same month computed per read (view) {view:.1f} s ({view / kept:.0f}x)")
    print(f"  a pass after 50 bookings changed        {follow * 1000:.0f} ms ({followed} changes)")
    print(f"  drift from a recomputation              {len(drift)} rows")


if __name__ == "__main__":
    main()
