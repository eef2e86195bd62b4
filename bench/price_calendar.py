"""Price calendar benchmark: one calendar against the searches it replaces, same run.

Opens the embedded SecantusDB on a data directory holding a seeded demo (`make run`'s
./var, or --data-dir), and times, uncached (the database and the API process's own
work, no HTTP): a 30-check-in, 3-night calendar for a city and for a hotel, against the
30 searches a client would otherwise send for the same dates. Prints medians of 5;
asserts nothing.

Usage: .venv/bin/python bench/price_calendar.py [--data-dir ./var]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

from pymongo import MongoClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plumbing import embedded  # noqa: E402
from plumbing.values import today  # noqa: E402
from search import availability  # noqa: E402

BASE = {"adults": 2, "children": 0, "min_stars": None, "page": 1, "max_results": 25}
DAYS, NIGHTS = 30, 3


def median_ms(call, runs=5):
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT / "var"))
    args = parser.parse_args()
    port = embedded.free_port()
    server = embedded.mongo_server(args.data_dir, port)
    server.start()
    try:
        db = MongoClient(embedded.mongo_uri(port)).innkeeper
        first = today().plus(7)
        hotel = db.hotels.find_one({"address.city": "Paris"})
        if hotel is None:
            sys.exit("no Paris hotel: seed the demo first (make run)")
        for name, scope in (
            ("city Paris", {"city": "Paris"}),
            ("one hotel", {"hotel": hotel["_id"]}),
        ):
            query = {**BASE, "sort": "total_price", **scope}
            calendar = median_ms(
                lambda q=query: availability.calendar(db, q, first, first.plus(DAYS), NIGHTS)
            )

            def searches(q=query):
                for i in range(DAYS):
                    stay = {"check_in": first.plus(i), "check_out": first.plus(i + NIGHTS)}
                    availability.search(db, {**q, **stay})

            separate = median_ms(searches)
            print(
                f"{name}: calendar of {DAYS} check-ins x {NIGHTS} nights {calendar:.0f} ms; "
                f"the {DAYS} searches it replaces {separate:.0f} ms ({separate / calendar:.1f}x)"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
