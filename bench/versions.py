"""What API versions cost a request: version 1 through the versions middleware
(plumbing/versions.py: its headers only) and version 2 (its transformations), against
the same requests to the app without the middleware, in the same run.

Seeds the demo on an embedded server of its own and builds the app on it (read cache
off, so each request does its work); then, in interleaved rounds, times a hotel item, a
hotel list (25) and a city search (25 offers, from the read model) three ways:

  baseline   the app's own WSGI callable, without the middleware
  v1         /api/v1/... through the middleware
  v2         /api/v2/... through it: money objects, absolute hrefs

Prints the median ms per request and the ratios; asserts nothing.

Usage: .venv/bin/python bench/versions.py [--requests 300] [--rounds 5]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import seeded_demo  # noqa: E402
from plumbing import embedded  # noqa: E402
from plumbing.values import today  # noqa: E402


def timed(call, paths):
    began = time.perf_counter()
    for path in paths:
        status = call(path)
        assert status == 200, (path, status)
    return (time.perf_counter() - began) / len(paths) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from werkzeug.test import Client

    from run import close_app, create_app

    with seeded_demo() as (db, _plan, _seconds), tempfile.TemporaryDirectory() as scratch:
        redis = embedded.redis_server(scratch, embedded.free_port(), persist=False).start()
        host, port = db.client.address
        app = create_app(
            {
                "MONGO_URI": f"mongodb://{host}:{port}/?directConnection=true",
                "MONGO_DBNAME": db.name,
                "REDIS_URL": embedded.redis_url(redis.port),
                "SMTP_URL": "smtp://127.0.0.1:25",
                "SECRET_KEY": "bench-" * 8,
                "PAYMENT_WEBHOOK_SECRET": "bench-" * 6,
                "PAYMENT_SANDBOX_ALLOWED": True,
                "SEED_DEMO": False,
                "SEARCH_CACHE": False,
                "READ_CACHE": False,
                "RATE_LIMIT": "100000000/minute",
                "LOG_LEVEL": "WARNING",
            }
        )
        try:
            with app.app_context():
                app.extensions["search_model"].start(app.data.driver.db)
            app.extensions["search_model"].wait_until_ready(60)
            hotel = db.hotels.find_one({"address.city": "Paris"}, {"_id": 1})["_id"]
            stay = f"check_in={today().plus(14)}&check_out={today().plus(17)}&adults=2"
            kinds = {
                "hotel item": f"hotels/{hotel}",
                "hotel list (25)": "hotels?max_results=25",
                "search by city": f"availability?city=paris&{stay}",
            }
            bare = Client(app.wsgi_app.wsgi_app)  # inside the middleware: the app itself
            through = Client(app.wsgi_app)
            print(f"API versions, {args.requests} requests a kind, {args.rounds} rounds")
            for name, path in kinds.items():
                times = {"baseline": [], "v1": [], "v2": []}
                for _ in range(args.rounds):
                    n = args.requests
                    times["baseline"].append(
                        timed(lambda p: bare.get(p).status_code, [f"/api/v1/{path}"] * n)
                    )
                    times["v1"].append(
                        timed(lambda p: through.get(p).status_code, [f"/api/v1/{path}"] * n)
                    )
                    times["v2"].append(
                        timed(lambda p: through.get(p).status_code, [f"/api/v2/{path}"] * n)
                    )
                m = {k: statistics.median(v) for k, v in times.items()}
                print(
                    f"  {name:16} baseline {m['baseline']:6.3f} ms | v1 {m['v1']:6.3f} ms "
                    f"({m['v1'] / m['baseline']:.2f}x) | v2 {m['v2']:6.3f} ms "
                    f"({m['v2'] / m['baseline']:.2f}x)"
                )
        finally:
            close_app(app)
            redis.stop()


if __name__ == "__main__":
    main()
