"""Booking benchmark: prints figures, asserts nothing.

Starts `python run.py` exactly as `make run` does (embedded SecantusDB and Redis, demo
catalogue) in a temporary data directory, then measures:

  the seed: how soon the API serves, how soon a stay's nights are bookable, how long
      the whole demo year takes (inventory, history, KPIs);
  (a) KPI reads: one hotel's month from the kept `occupancy_daily` rows, in pymongo and
      in mongosh (when installed), against the same rows recomputed from inventory and
      bookings (what the `occupancy_daily` view did on every read) in the same run;
  (b) 50 guests racing for the last 5 rooms of one room type: successes (must be 5),
      refusals, wall time and bookings/s.

Searches are measured by bench/search.py.

Usage: .venv/bin/python bench/booking.py
"""

import argparse
import http.client
import json
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymongo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import median_read, race, server_env  # noqa: E402

from identity import accounts  # noqa: E402
from identity.tokens import issue_token  # noqa: E402
from plumbing.embedded import free_port, mongo_uri  # noqa: E402
from plumbing.values import today  # noqa: E402
from reporting import kpis  # noqa: E402

CITY = "Paris"
RACERS, LAST_ROOMS = 50, 5


def start_server(data_dir, secret):
    ports = {
        "PORT": free_port(),
        "EMBEDDED_MONGO_PORT": free_port(),
        "EMBEDDED_REDIS_PORT": free_port(),
    }
    env = server_env(data_dir, secret, ports, SEED_DEMO="1", AUTH_RATE_LIMIT="1000000/minute")
    log = open(Path(data_dir) / "server.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if request(ports["PORT"], "GET", "/health")[0] == 200:
                return process, ports
        except OSError:
            time.sleep(0.3)
    process.kill()
    sys.exit("server did not start; see " + str(Path(data_dir) / "server.log"))


def seed_line(data_dir):
    lines = (Path(data_dir) / "server.log").read_text().splitlines()
    return next((line for line in lines if "demo year: complete" in line), "(not logged)")


def kpi_reads(db, mongo_port):
    """(a) One hotel's month of KPIs: kept rows vs a recomputation from scratch."""
    hotel = db.hotels.find_one({"address.city": CITY})["_id"]
    month = {"$gte": today().plus(-30), "$lt": today()}
    query = {"hotel": hotel, "date": month}
    kept, rows = median_read(lambda: list(db.occupancy_daily.find(query)))
    began = time.perf_counter()
    pipeline = kpis.occupancy_pipeline() + [{"$match": query}]
    scratch_rows = list(db.inventory.aggregate(pipeline))
    scratch = time.perf_counter() - began
    print(
        f"\n(a) KPIs of one hotel's last 30 nights: kept rows {kept * 1000:.1f} ms "
        f"(pymongo, median of 20, {len(rows)} rows); recomputed from inventory and bookings "
        f"{scratch:.2f} s ({len(scratch_rows)} rows); {scratch / kept:.0f}x"
    )
    mongosh = ROOT / ".tools" / "node_modules" / ".bin" / "mongosh"
    if mongosh.exists():
        since, until = today().plus(-30), today()
        script = (
            "const t = Date.now(); const n = db.occupancy_daily.find({"
            f"hotel: ObjectId('{hotel}'), date: {{$gte: ISODate('{since}'), "
            f"$lt: ISODate('{until}')}}}}).toArray().length; "
            "print(n + ' rows in ' + (Date.now() - t) + ' ms')"
        )
        uri = f"mongodb://127.0.0.1:{mongo_port}/innkeeper?directConnection=true"
        out = subprocess.run(
            [str(mongosh), "--quiet", uri, "--eval", script],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        print(f"    mongosh: {(out.stdout or out.stderr).strip()}")


def request(port, method, path, body=None, token=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection.request(method, path, json.dumps(body) if body is not None else None, headers)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, payload


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()

    secret = secrets.token_urlsafe(48)
    with tempfile.TemporaryDirectory(prefix="innkeeper-bench-") as data_dir:
        started = time.monotonic()
        process, ports = start_server(data_dir, secret)
        print(
            f"server healthy after {time.monotonic() - started:.1f} s "
            "(catalogue seeded; inventory loading in the background)"
        )
        client = pymongo.MongoClient(mongo_uri(ports["EMBEDDED_MONGO_PORT"]))
        db = client.innkeeper
        try:
            start = today().plus(14)
            paris_types = db.room_types.count_documents(
                {"hotel": {"$in": db.hotels.distinct("_id", {"address.city": CITY})}}
            )
            while (
                db.inventory.count_documents(
                    {"city": CITY, "date": {"$gte": start, "$lt": start.plus(3)}}
                )
                < 3 * paris_types
            ):
                time.sleep(0.5)
            print(
                f"stay nights loaded after {time.monotonic() - started:.1f} s; "
                f"{db.inventory.estimated_document_count()} inventory rows so far"
            )
            # Measure a quiet server: wait for the background seed to finish.
            while (db.seed_progress.find_one({"_id": "demo"}) or {}).get("state") != "complete":
                time.sleep(0.5)
            print(
                f"demo year complete after {time.monotonic() - started:.1f} s "
                f"({db.inventory.estimated_document_count()} inventory rows, "
                f"{db.bookings.estimated_document_count()} bookings, "
                f"{db.payments.estimated_document_count()} payments, "
                f"{db.reviews.estimated_document_count()} reviews, "
                f"{db.occupancy_daily.estimated_document_count()} hotel-night KPI rows); "
                "seed's own figure: " + seed_line(data_dir)
            )
            kpi_reads(db, ports["EMBEDDED_MONGO_PORT"])

            # (b) 50 guests race for the last 5 rooms of one room type.
            room_type = db.room_types.find_one(
                {"hotel": {"$in": db.hotels.distinct("_id", {"address.city": CITY})}}
            )
            race_start = start.plus(7)
            while (
                db.inventory.count_documents(
                    {
                        "room_type": room_type["_id"],
                        "date": {"$gte": race_start, "$lt": race_start.plus(2)},
                    }
                )
                < 2
            ):
                time.sleep(0.5)
            for row in db.inventory.find(
                {
                    "room_type": room_type["_id"],
                    "date": {"$gte": race_start, "$lt": race_start.plus(2)},
                }
            ):
                db.inventory.update_one(
                    {"_id": row["_id"]}, {"$set": {"allotment": row["booked"] + LAST_ROOMS}}
                )
            users = [
                accounts.new_user_document(f"racer{i}@bench.test", "bench-password-1")
                for i in range(RACERS)
            ]
            db.users.insert_many(users)
            tokens = [issue_token(u, secret, 600) for u in users]
            body = {
                "room_type": str(room_type["_id"]),
                "check_in": str(race_start),
                "check_out": str(race_start.plus(2)),
            }
            elapsed, statuses = race(
                [
                    lambda token=token: request(
                        ports["PORT"], "POST", "/api/v1/bookings", body, token
                    )[0]
                    for token in tokens
                ]
            )
            booked = [
                r["booked"] - r["allotment"] + LAST_ROOMS
                for r in db.inventory.find(
                    {
                        "room_type": room_type["_id"],
                        "date": {"$gte": race_start, "$lt": race_start.plus(2)},
                    }
                )
            ]
            print(
                f"\n(b) {RACERS} guests race for the last {LAST_ROOMS} rooms "
                f"(2 nights): {statuses.count(201)} booked (201), {statuses.count(409)} "
                f"refused (409), other {len([s for s in statuses if s not in (201, 409)])}; "
                f"{elapsed:.2f} s wall, {RACERS / elapsed:.1f} booking requests/s; "
                f"rooms taken per night {booked}"
            )
        finally:
            client.close()
            process.terminate()
            process.wait(30)


if __name__ == "__main__":
    main()
