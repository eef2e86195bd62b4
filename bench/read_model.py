"""The search read model's cost: load time and memory, for the demo and the large catalogue.

For each catalogue (the demo's 32 hotels and `size="large"`'s 216; seeded into
--data-dir/<size> the first time, reused after), in a fresh process so that memory is
measured from a clean start:

  - the process's resident memory (VmRSS) after the app is built and connected, and
    after its read model has loaded (search/model.py), and the difference per night;
  - how long the load took, nights and room types loaded, and the rate in nights/s;
  - the same extrapolated to 10,000 hotels at the catalogue's nights per hotel.

The baseline in the same run is the process without the model (the first figure).
Prints figures, asserts nothing.

Usage: .venv/bin/python bench/read_model.py [--data-dir DIR] [--sizes demo,large]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOTELS_TARGET = 10_000


def rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(mongo_uri, redis_url):
    """In this (fresh) process: the app, then its model loaded; figures as JSON."""
    from run import close_app, create_app

    config = {
        "MONGO_URI": mongo_uri,
        "REDIS_URL": redis_url,
        "SMTP_URL": "smtp://127.0.0.1:25",  # no worker runs: nothing is sent
        "MONGO_DBNAME": "innkeeper",
        "SECRET_KEY": "bench-" * 8,
        "PAYMENT_WEBHOOK_SECRET": "bench-" * 6,
        "PAYMENT_SANDBOX_ALLOWED": True,
        "SEED_DEMO": False,
    }
    app = create_app(config)
    with app.app_context():
        db = app.data.driver.db
        hotels = db.hotels.estimated_document_count()
        db.command("ping")
    before = rss_mb()
    model = app.extensions["search_model"]
    began = time.perf_counter()
    with app.app_context():
        model.start(app.data.driver.db)
    model.wait_until_ready(3600)
    seconds = time.perf_counter() - began
    after = rss_mb()
    room_types, nights = model.catalogue.size()
    close_app(app)
    print(
        json.dumps(
            {
                "hotels": hotels,
                "room_types": room_types,
                "nights": nights,
                "seconds": seconds,
                "rss_before": before,
                "rss_after": after,
            }
        )
    )


def seeded(data_dir, size):
    """Embedded servers on data_dir/size with that catalogue seeded (once)."""
    from plumbing import embedded

    directory = data_dir / size
    directory.mkdir(parents=True, exist_ok=True)
    mongo = embedded.mongo_server(directory, embedded.free_port()).start()
    redis = embedded.redis_server(directory, embedded.free_port(), persist=False).start()
    import pymongo

    from demo import seed
    from plumbing.provisioning import provision

    client = pymongo.MongoClient(embedded.mongo_uri(mongo.port))
    if client.innkeeper.inventory.estimated_document_count() == 0:
        began = time.monotonic()
        seed.seed_demo(client.innkeeper, size=size)
        print(f"  ({size} seeded in {time.monotonic() - began:.0f} s)")
    provision(client.innkeeper, log=lambda *_: None)
    client.close()
    return mongo, redis


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="keep the seeded catalogues here between runs")
    parser.add_argument("--sizes", default="demo,large")
    args = parser.parse_args()
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        return
    with tempfile.TemporaryDirectory(prefix="innkeeper-model-") as scratch:
        data_dir = Path(args.data_dir or scratch)
        for size in args.sizes.split(","):
            from plumbing import embedded

            mongo, redis = seeded(data_dir, size)
            try:
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--measure",
                        embedded.mongo_uri(mongo.port),
                        embedded.redis_url(redis.port),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=ROOT,
                ).stdout
            finally:
                redis.stop()
                mongo.stop()
            f = json.loads(out.strip().splitlines()[-1])
            grown = f["rss_after"] - f["rss_before"]
            per_night = grown * 1024 * 1024 / max(1, f["nights"])
            scale = HOTELS_TARGET / max(1, f["hotels"])
            print(
                f"{size:6} {f['hotels']:4} hotels, {f['room_types']:4} room types, "
                f"{f['nights']:7} nights: loaded in {f['seconds']:6.2f} s "
                f"({f['nights'] / f['seconds']:7.0f} nights/s); VmRSS {f['rss_before']:.0f} MB "
                f"without the model, {f['rss_after']:.0f} MB with it (+{grown:.0f} MB, "
                f"{per_night:.0f} bytes a night)"
            )
            millions = f["nights"] * scale / 1e6
            print(
                f"       at {HOTELS_TARGET} hotels ({scale:.0f}x): {millions:.1f} M "
                f"nights, +{grown * scale / 1024:.2f} GB a worker, loaded in "
                f"{f['seconds'] * scale / 60:.0f} min at this rate"
            )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        measure(sys.argv[2], sys.argv[3])
    else:
        main()
