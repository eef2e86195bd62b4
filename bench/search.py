"""Search benchmark: Innkeeper under gunicorn against bare Flask + pymongo, same run.

Starts the embedded SecantusDB and Redis in a data directory, seeds the large demo
catalogue (seed size "large": 216 hotels in 24 cities, 241,265 inventory rows; reused when
--data-dir already holds it), then serves, one at a time,
with the production gunicorn command (docker-compose.yml's: gthread, 2 workers x 8
threads, access log on):

  baseline   bench/baseline_app.py: the same search with no framework around it
  API, cold, database   SEARCH_CACHE=0 SEARCH_MODEL=0: every search reads MongoDB
  API, cold, model      SEARCH_CACHE=0: every search computed, from the read model
                        (search/model.py), once every worker has loaded it
  API, cache warm  SEARCH_CACHE=1 (the default), after one pass over the workload

It also prints each worker's memory (VmRSS) with the model loaded and without it, and
how long a worker took to load the model (its log line).

The workload is --distinct different searches (cities, check-in 7-60 days ahead, 1-5
nights, 1-3 adults, a quarter with a star or amenity filter, a quarter sorted otherwise
than by price), spread over --clients concurrent keep-alive clients. Also: one client
alone (p50 latency), and the hotel list by city and the hotel item GET against the
baseline's. Prints req/s, p50/p95, the cache hit rate and every ratio; asserts nothing.

Usage: .venv/bin/python bench/search.py [--requests 1600] [--clients 8] [--data-dir DIR]
"""

import argparse
import http.client
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import pymongo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from demo import seed  # noqa: E402
from plumbing import embedded  # noqa: E402
from plumbing.values import today  # noqa: E402

GUNICORN = ["--worker-class", "gthread", "--workers", "2", "--threads", "8", "--timeout", "30"]


def workload(db, distinct, rng):
    """`distinct` different search query strings (without the API prefix)."""
    cities = sorted(db.hotels.distinct("address.city"))
    queries = set()
    while len(queries) < distinct:
        check_in = today().plus(rng.randint(7, 60))
        query = {
            "city": rng.choice(cities),
            "check_in": check_in.isoformat(),
            "check_out": check_in.plus(rng.randint(1, 5)).isoformat(),
            "adults": rng.randint(1, 3),
        }
        extra = rng.random()
        if extra < 0.15:
            query["min_stars"] = rng.choice([3, 4])
        elif extra < 0.25:
            query["amenities"] = "wifi"
        if rng.random() < 0.25:
            query["sort"] = rng.choice(["-rating", "-stars", "-total_price"])
        queries.add(urlencode(query))
    return sorted(queries)


def serve(app_spec, port, env, log_path):
    """gunicorn as production runs it (gunicorn.conf.py: metrics directory, drain). Each
    server writes one line a request: the baseline gunicorn's access line, Innkeeper its
    own JSON request line (so no access log)."""
    log = open(log_path, "a")  # noqa: SIM115 - closed with the process
    access = ["--access-logfile", "-"] if app_spec.startswith("baseline") else []
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *GUNICORN,
            "--bind",
            f"127.0.0.1:{port}",
            *access,
            app_spec,
        ],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT / "bench")},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if embedded.port_open(port):
            return process
        time.sleep(0.2)
    process.kill()
    sys.exit(f"gunicorn did not start; see {log_path}")


def stop(process):
    process.terminate()
    process.wait(30)


def load(port, paths, clients, total):
    """`clients` keep-alive clients share `total` GETs over `paths` in turn; returns
    (seconds, latencies in ms, {X-Search-Cache value: count}, statuses other than 200,
    {X-Search-Source value: count})."""
    latencies, caches, errors, lock, sources = [], {}, [], threading.Lock(), {}
    counter = iter(range(total))
    barrier = threading.Barrier(clients)

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        barrier.wait()
        for i in counter:
            path = paths[i % len(paths)]
            began = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                latencies.append(elapsed)
                cache = response.getheader("X-Search-Cache", "-")
                caches[cache] = caches.get(cache, 0) + 1
                source = response.getheader("X-Search-Source", "-")
                sources[source] = sources.get(source, 0) + 1
                if response.status != 200:
                    errors.append(response.status)
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, latencies, caches, errors, sources


def until_model(log, workers=2):
    """Until every worker has logged that its read model is loaded."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if log.read_text().count("search read model loaded") >= workers:
            return
        time.sleep(0.5)
    sys.exit("the read model did not load in 600 s")


def workers_rss_mb(process):
    """VmRSS of each gunicorn worker (the master's children), in MB."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    sizes = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sorted(sizes)


def report(name, result):
    elapsed, latencies, caches, errors, sources = result
    ordered = sorted(latencies)
    figures = {
        "rate": len(ordered) / elapsed,
        "p50": statistics.median(ordered),
        "p95": ordered[max(0, int(len(ordered) * 0.95) - 1)],
    }
    hits = caches.get("hit", 0)
    looked = hits + caches.get("miss", 0)
    hit_rate = f"   cache hits {100 * hits / looked:5.1f} %" if looked else ""
    if sources.get("database") and sources.get("model"):
        hit_rate += f"   from the database: {sources['database']}"
    print(
        f"{name:34} {figures['rate']:8.1f} req/s   p50 {figures['p50']:6.1f} ms   "
        f"p95 {figures['p95']:6.1f} ms   ({len(ordered)} requests"
        f"{', non-200: ' + str(sorted(set(errors))) if errors else ''}){hit_rate}"
    )
    return figures


def ratio(name, api, base):
    print(
        f"  {name}: {api['rate'] / base['rate']:.2f}x the baseline's throughput, "
        f"p50 {api['p50'] / base['p50']:.2f}x, p95 {api['p95'] / base['p95']:.2f}x"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1600)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--distinct", type=int, default=120)
    parser.add_argument("--data-dir", help="keep the seeded database here between runs")
    parser.add_argument(
        "--rate-plans",
        action="store_true",
        help="sell every room type under three plans (flexible, non-refundable at 15 %% "
        "off, breakfast at 18.00 a guest): three offers a room type; without it, each "
        "room type's plans as seeded (none: one standard offer)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="innkeeper-bench-") as scratch:
        data_dir = Path(args.data_dir or scratch)
        data_dir.mkdir(parents=True, exist_ok=True)
        mongo = embedded.mongo_server(data_dir, embedded.free_port()).start()
        redis = embedded.redis_server(data_dir, embedded.free_port(), persist=False).start()
        client = pymongo.MongoClient(embedded.mongo_uri(mongo.port))
        try:
            run(args, data_dir, client, mongo, redis)
        finally:
            client.close()
            redis.stop()
            mongo.stop()


BENCH_PLANS = seed.demo_plans(Decimal(1), "EUR")  # the demo's three plans, in euros


def run(args, data_dir, client, mongo, redis):
    db = client.innkeeper
    began = time.monotonic()
    report_ = seed.seed_demo(db, size="large")
    from catalogue import cards
    from plumbing.provisioning import provision

    provision(db, log=lambda *_: None)
    if args.rate_plans:
        db.room_types.update_many({}, {"$set": {"rate_plans": BENCH_PLANS}})
    else:
        db.room_types.update_many({}, {"$unset": {"rate_plans": ""}})
    cards.provision(db)
    print(f"rate plans a room type: {len(BENCH_PLANS) if args.rate_plans else 1}")
    print(
        f"demo ready in {time.monotonic() - began:.0f} s: "
        f"{db.hotels.estimated_document_count()} hotels, "
        f"{db.inventory.estimated_document_count()} inventory rows"
        f"{' (seeded now)' if not report_.get('skipped') else ''}"
    )
    paths = workload(db, args.distinct, random.Random(7))
    hotel = db.hotels.find_one({"address.city": "Paris"})
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_DIR",)}
    env.update(
        MONGO_URI=embedded.mongo_uri(mongo.port),
        # Production mode wants an SMTP server; no worker runs here, so none is sent to.
        SMTP_URL="smtp://127.0.0.1:25",
        PAYMENT_SANDBOX_ALLOWED="1",
        REDIS_URL=embedded.redis_url(redis.port),
        MONGO_DBNAME="innkeeper",
        SECRET_KEY=secrets.token_urlsafe(48),
        PAYMENT_WEBHOOK_SECRET=secrets.token_urlsafe(48),
        RATE_LIMIT="1000000/minute",
        SEED_DEMO="0",
    )
    port, log = embedded.free_port(), data_dir / "gunicorn.log"
    print(
        f"\n{len(paths)} distinct searches, {args.clients} clients, {args.requests} requests "
        f"a run, gunicorn {' '.join(GUNICORN[1:])}\n"
    )
    n, c = args.requests, args.clients
    results = {}

    process = serve("baseline_app:app", port, env, log)
    try:
        base = [f"/availability?{p}" for p in paths]
        load(port, base, c, len(base))  # warm the server and the database's pages
        results["base"] = report("baseline  search", load(port, base, c, n))
        results["base1"] = report("baseline  search, 1 client", load(port, base, 1, n // 4))
        results["base_list"] = report(
            "baseline  hotels by city", load(port, ["/hotels?city=Paris"], c, n)
        )
        results["base_item"] = report(
            "baseline  hotel by id", load(port, [f"/hotels/{hotel['_id']}"], c, n)
        )
    finally:
        stop(process)

    api = [f"/api/v1/availability?{p}" for p in paths]
    list_path = '/api/v1/hotels?where={"address.city":"Paris"}'
    item_path = f"/api/v1/hotels/{hotel['_id']}"
    process = serve(
        "run:create_app()", port, {**env, "SEARCH_CACHE": "0", "SEARCH_MODEL": "0"}, log
    )
    try:
        load(port, api, c, len(api))
        results["db"] = report("API  search, cold, database", load(port, api, c, n))
        results["db1"] = report(
            "API  search, cold, database, 1 client", load(port, api, 1, n // 4)
        )
        results["list"] = report("API  hotels by city, cache off", load(port, [list_path], c, n))
        results["item"] = report("API  hotel by id, cache off", load(port, [item_path], c, n))
        rss_without = workers_rss_mb(process)
    finally:
        stop(process)

    log.write_text("")
    process = serve("run:create_app()", port, {**env, "SEARCH_CACHE": "0"}, log)
    try:
        until_model(log)
        load(port, api, c, len(api))
        results["off"] = report("API  search, cold, model", load(port, api, c, n))
        results["off1"] = report("API  search, cold, model, 1 client", load(port, api, 1, n // 4))
        rss_with = workers_rss_mb(process)
    finally:
        stop(process)
    loads = re.findall(r"search read model loaded: ([^\"\n]*? s)\b", log.read_text())
    print(
        f"  worker memory (VmRSS): {', '.join(f'{m:.0f}' for m in rss_without)} MB without the "
        f"model, {', '.join(f'{m:.0f}' for m in rss_with)} MB with it; loads: {'; '.join(loads)}"
    )

    log.write_text("")
    process = serve("run:create_app()", port, {**env, "SEARCH_CACHE": "1"}, log)
    try:
        until_model(log)  # production's state: each worker's model loaded
        load(port, api, c, len(api))  # one pass: every distinct search cached once
        results["warm"] = report("API  search, cache warm", load(port, api, c, n))
        results["warm1"] = report("API  search, cache warm, 1 client", load(port, api, 1, n // 4))
        results["list_warm"] = report(
            "API  hotels by city, cache on", load(port, [list_path], c, n)
        )
        results["item_warm"] = report("API  hotel by id, cache on", load(port, [item_path], c, n))
    finally:
        stop(process)

    print()
    ratio("search, cold, model", results["off"], results["base"])
    ratio("search, cold, database", results["db"], results["base"])
    ratio("search, cache warm", results["warm"], results["base"])
    ratio("search, 1 client, cold, model", results["off1"], results["base1"])
    ratio("search, 1 client, cold, database", results["db1"], results["base1"])
    ratio("hotels by city, cache off", results["list"], results["base_list"])
    ratio("hotel by id, cache off", results["item"], results["base_item"])
    ratio("hotels by city, cache on", results["list_warm"], results["base_list"])
    ratio("hotel by id, cache on", results["item_warm"], results["base_item"])


if __name__ == "__main__":
    main()
