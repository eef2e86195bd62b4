"""What the request line, the request id and the metrics cost a request, in process.

The same app answers the same requests (a public hotel read from the read cache, and
/health/live, which asks no backend) with its instrumentation and without it (the
request-id and request-line hooks taken out), in the same run, alternating rounds; it
also times the request line written as JSON to a file (production) against LOG_LEVEL
above it, and metrics in gunicorn's multiprocess mode against the in-memory registry.
Prints microseconds a request and the ratio. Asserts nothing.

    .venv/bin/python bench/observability.py [--requests 300 --rounds 30]
    BENCH_MULTIPROCESS=1 .venv/bin/python bench/observability.py   # gunicorn's metrics mode
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def per_request_us(client, path, count):
    began = time.perf_counter()
    for _ in range(count):
        response = client.get(path)
        assert response.status_code == 200, response.status_code
        response.close()
    return (time.perf_counter() - began) / count * 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    multiproc = tempfile.mkdtemp(prefix="innkeeper-metrics-")
    if "--multiprocess" in sys.argv or os.environ.get("BENCH_MULTIPROCESS"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = multiproc
    data = tempfile.mkdtemp(prefix="innkeeper-bench-")
    os.environ.update(DATA_DIR=data, SEED_DEMO="0")
    from plumbing import embedded

    os.environ["EMBEDDED_MONGO_PORT"] = str(embedded.free_port())
    os.environ["EMBEDDED_REDIS_PORT"] = str(embedded.free_port())
    import cli
    import settings
    from plumbing import logs
    from run import create_app

    config = settings.load()
    started = embedded.ensure_servers(config)
    try:
        log_file = open(Path(data) / "bench.log", "w")  # noqa: SIM115
        app = create_app(dict(config, LOG_FORMAT="json", RATE_LIMIT="10000000/minute"))
        cli.provision(app)
        logs.configure("json", "INFO", stream=log_file)
        client = app.test_client()
        token_free = "/health/live"
        with app.app_context():
            db = app.data.driver.db
            hotel = db.hotels.insert_one(
                {"name": "Bench", "address": {"city": "Paris", "country": "FR"}}
            ).inserted_id
        item = f"/api/v1/hotels/{hotel}"
        client.get(item)  # warm the read cache
        hooks_before = list(app.before_request_funcs[None])
        hooks_after = list(app.after_request_funcs[None])
        bare_before = [f for f in hooks_before if f.__name__ != "start"]
        bare_after = [f for f in hooks_after if f is not logs.finish_request]
        mode = "multiprocess" if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else "in-memory"
        print(f"{args.requests} requests a round, {args.rounds} rounds, metrics {mode}")
        variants = {
            "instrumented": (hooks_before, hooks_after, "INFO"),
            "request line off": (hooks_before, hooks_after, "WARNING"),
            "bare": (bare_before, bare_after, "INFO"),
        }
        for path in (token_free, item):
            timings = {name: [] for name in variants}
            for round_ in range(args.rounds):
                # Short rounds in a rotating order, so the machine's drift hits all alike.
                names = list(variants)
                names = names[round_ % 3 :] + names[: round_ % 3]
                for name in names:
                    before, after, level = variants[name]
                    app.before_request_funcs[None], app.after_request_funcs[None] = (
                        before,
                        after,
                    )
                    logs.configure("json", level, stream=log_file)
                    timings[name].append(per_request_us(client, path, args.requests))
            bare = statistics.median(timings["bare"])
            for name, values in timings.items():
                median = statistics.median(values)
                print(
                    f"{path:42} {name:18} {median:8.1f} us a request "
                    f"(+{median - bare:6.1f} us, {bare / median:.2f}x the bare throughput)"
                )
    finally:
        for server in reversed(started):
            server.stop()


if __name__ == "__main__":
    main()
