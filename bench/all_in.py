"""What all-in prices cost a search: taxes, fees and currency comparison, against the
same searches without them, in the same run.

Seeds the demo (32 hotels in 8 cities; every hotel carries its city's taxes and fees:
VAT included or added, a city tax, per-night fees) on an embedded server of its own,
loads two search read models (search/model.py's Catalogue) from it, and times the same
searches over both, interleaved round by round, in this one process:

  baseline    the cards with their charges removed (`charges: None`): room prices only,
              what a search computed before taxes existed
  all-in      the cards as they are: every offer's breakdown and all-in total
  in USD      all-in, with display_currency=USD: every total converted to sort and show

The workload: --searches different city searches (check-in 7-60 days ahead, 1-5 nights,
1-3 adults, a quarter sorted by -stars), and as many without a city (every hotel, eight
currencies: compared in euros). Then the same city searches as whole requests, through
the app's test client (Eve, auth, rate limit, logs, JSON), its read model holding one
catalogue or the other. Prints the median time per search and the ratios; asserts
nothing.

Usage: .venv/bin/python bench/all_in.py [--searches 200] [--rounds 7]
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import seeded_demo  # noqa: E402
from catalogue import cards as search_cards  # noqa: E402
from plumbing.values import city_key, today  # noqa: E402
from search import availability  # noqa: E402
from search.model import RATES, ROW_FIELDS, Catalogue, Snapshot  # noqa: E402


class Held:
    """A Snapshot's owner: the catalogue and its lock (search/model.py's ReadModel's)."""

    def __init__(self, catalogue):
        import threading

        self.catalogue, self.lock = catalogue, threading.Lock()


def catalogue(db, charges=True):
    held = Catalogue()
    for card in db[search_cards.COLLECTION].find():
        held.put_card(card if charges else {**card, "charges": None})
    for row in db.inventory.find({}, ROW_FIELDS):
        held.put_row(row)
    for rate in db[RATES].find():
        held.put_rate(rate)
    return Snapshot(Held(held))


def queries(db, count, rng, city):
    cities = sorted(db.hotels.distinct("address.city"))
    found = []
    for _ in range(count):
        check_in = today().plus(rng.randint(7, 60))
        query = {
            "check_in": check_in,
            "check_out": check_in.plus(rng.randint(1, 5)),
            "adults": rng.randint(1, 3),
            "children": 0,
            "sort": "-stars" if rng.random() < 0.25 else "total_price",
            "page": 1,
            "max_results": 25,
        }
        if city:
            query["city"] = city_key(rng.choice(cities))
        found.append(query)
    return found


def timed(source, workload, extra=None):
    began = time.perf_counter()
    offers = 0
    for query in workload:
        offers += len(availability.search(source, {**query, **(extra or {})})[0])
    return (time.perf_counter() - began) / len(workload) * 1000, offers


def through_the_app(db, plain, taxed, workload, rounds):
    """Median ms per request of the workload, the app's model holding each catalogue."""
    from urllib.parse import urlencode

    from plumbing import embedded
    from run import close_app, create_app

    with tempfile.TemporaryDirectory() as scratch:
        redis = embedded.redis_server(scratch, embedded.free_port(), persist=False).start()
        client = db.client
        host, port = client.address
        app = create_app(
            {
                "MONGO_URI": f"mongodb://{host}:{port}/?directConnection=true",
                "MONGO_DBNAME": db.name,
                "REDIS_URL": embedded.redis_url(redis.port),
                "SMTP_URL": "smtp://127.0.0.1:25",  # nothing is sent
                "SECRET_KEY": "bench-" * 8,
                "PAYMENT_WEBHOOK_SECRET": "bench-" * 6,
                "PAYMENT_SANDBOX_ALLOWED": True,
                "SEED_DEMO": False,
                "SEARCH_CACHE": False,
                "RATE_LIMIT": "100000000/minute",
                "LOG_LEVEL": "WARNING",
            }
        )
        try:
            model = app.extensions["search_model"]
            with app.app_context():
                model.start(app.data.driver.db)
            model.wait_until_ready(60)
            paths = [
                "/api/v1/availability?"
                + urlencode({k: str(v) for k, v in q.items() if k not in ("page", "children")})
                for q in workload
            ]
            test = app.test_client()
            times = {"baseline": [], "all-in": []}
            for _ in range(rounds):
                for name, held in (("baseline", plain), ("all-in", taxed)):
                    model.catalogue = held._model.catalogue
                    began = time.perf_counter()
                    for path in paths:
                        answer = test.get(path)
                        assert answer.status_code == 200, answer.text
                        assert answer.headers["X-Search-Source"] == "model"
                    times[name].append((time.perf_counter() - began) / len(paths) * 1000)
            return {k: statistics.median(v) for k, v in times.items()}
        finally:
            close_app(app)
            redis.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(32)
    with seeded_demo() as (db, _plan, _seconds):
        plain, taxed = catalogue(db, charges=False), catalogue(db)
        workloads = {
            "by city": queries(db, args.searches, rng, city=True),
            "every city (8 currencies)": queries(db, args.searches // 4, rng, city=False),
        }
        requests = through_the_app(db, plain, taxed, workloads["by city"], args.rounds)
    print(f"all-in prices, {args.searches} searches by city and {args.searches // 4} without")
    print("  (median ms per search over interleaved rounds; the same searches in each column)")
    for name, workload in workloads.items():
        times = {"baseline": [], "all-in": [], "in USD": []}
        for _ in range(args.rounds):
            times["baseline"].append(timed(plain, workload)[0])
            times["all-in"].append(timed(taxed, workload)[0])
            times["in USD"].append(timed(taxed, workload, {"display_currency": "USD"})[0])
        median = {k: statistics.median(v) for k, v in times.items()}
        base = median["baseline"]
        print(
            f"  {name:26} baseline {base:6.3f} ms | all-in {median['all-in']:6.3f} ms "
            f"({median['all-in'] / base:.2f}x) | in USD {median['in USD']:6.3f} ms "
            f"({median['in USD'] / base:.2f}x)"
        )
    base = requests["baseline"]
    print(
        f"  {'whole requests, by city':26} baseline {base:6.3f} ms | all-in "
        f"{requests['all-in']:6.3f} ms ({requests['all-in'] / base:.2f}x)"
    )


if __name__ == "__main__":
    main()
