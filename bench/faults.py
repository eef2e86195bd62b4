"""Fault scenarios against a live `python run.py` (what `make run` starts); prints a table.

Each scenario fires keyed bookings from many guests at once (more guests than rooms),
breaks something mid-burst, brings it back, lets every guest retry with the same
Idempotency-Key until it gets a final answer, then checks the invariants:

  - no night is sold over its allotment;
  - reconcile finds no drift (`booked` equals the live bookings of every row);
  - every booking a client saw acknowledged (201) is still there;
  - one key, at most one booking;
  - (clean restart) the data is identical before and after.

Scenarios: kill -9 of the API during the burst (its embedded servers die with it and
restart from their files); kill -9 of the embedded MongoDB during the burst; Redis
stopped and started again; a clean restart (SIGTERM).

Columns: burst_201 answered 201 before the fault, cut_off got no answer or a 5xx,
retry_201 answered 201 on the retry (a replay for the ones already booked), booked is
what the database holds.

Usage: .venv/bin/python bench/faults.py [--guests 40] [--rooms 25] [--fault-after 0.3]
"""

import argparse
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pymongo  # noqa: E402
from common import call, guests, stock  # noqa: E402

from booking.reconcile import find_drift  # noqa: E402
from plumbing import embedded  # noqa: E402

NIGHTS = 2


class Stack:
    """`python run.py` on a data directory of its own, restartable."""

    def __init__(self, data_dir, secret):
        self.env = {
            k: v for k, v in os.environ.items() if k not in ("MONGO_URI", "REDIS_URL", "SMTP_URL")
        }
        self.env.update(
            DATA_DIR=data_dir,
            PORT=str(embedded.free_port()),
            EMBEDDED_MONGO_PORT=str(embedded.free_port()),
            EMBEDDED_REDIS_PORT=str(embedded.free_port()),
            EMBEDDED_SMTP_PORT=str(embedded.free_port()),
            SEED_DEMO="0",
            SECRET_KEY=secret,
            RATE_LIMIT="1000000/minute",
            BOOKING_RATE_LIMIT="1000000/minute",
        )
        self.port = int(self.env["PORT"])
        self.data_dir = Path(data_dir)
        self.process = None

    def start(self):
        log = open(self.data_dir / "api.log", "a")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "run.py")], cwd=ROOT, env=self.env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if call(self.port, "GET", "/health", timeout=2)[0] == 200:
                return
            time.sleep(0.2)
        tail = (self.data_dir / "api.log").read_text(errors="replace").splitlines()[-15:]
        raise SystemExit("run.py did not become healthy:\n" + "\n".join(tail))

    def pid(self, kind):
        return int((self.data_dir / "run" / f"{kind}.pid").read_text().split()[0])

    def kill9(self):
        self.process.kill()
        self.process.wait()
        for kind in ("mongo", "redis"):  # they die with their parent; wait until they have
            port = int(self.env[f"EMBEDDED_{kind.upper()}_PORT"])
            while embedded.port_open(port):
                time.sleep(0.05)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(60)

    def db(self):
        client = pymongo.MongoClient(embedded.mongo_uri(int(self.env["EMBEDDED_MONGO_PORT"])))
        return client, client.innkeeper


def burst(stack, body, guests, acknowledged, fault, fault_after):
    """Every guest books with its own key, all at once; `fault` strikes mid-burst.
    Returns each guest's status (None: the connection died)."""
    statuses = {}

    def one(user, token):
        key = f"fault-{user['_id']}"
        status, answer = call(stack.port, "POST", "/api/v1/bookings", body, token, key)
        statuses[str(user["_id"])] = status
        if status == 201:
            acknowledged[str(user["_id"])] = answer["_id"]

    threads = [threading.Thread(target=one, args=guest) for guest in guests]
    for thread in threads:
        thread.start()
    time.sleep(fault_after)
    fault()
    for thread in threads:
        thread.join()
    return statuses


def retry_all(stack, body, guests, acknowledged):
    """Every guest retries with the same key until it gets an answer that is not 409/503."""
    outcomes = {}
    for user, token in guests:
        key = f"fault-{user['_id']}"
        for _ in range(100):
            status, answer = call(stack.port, "POST", "/api/v1/bookings", body, token, key)
            if status not in (None, 409, 503) or (
                status == 409 and "not available" in str(answer)
            ):
                break
            time.sleep(0.5)
        outcomes[str(user["_id"])] = status
        if status == 201:
            acknowledged.setdefault(str(user["_id"]), answer["_id"])
    return outcomes


def check(stack, room_type, acknowledged, rooms):
    client, db = stack.db()
    try:
        rows = list(db.inventory.find({"room_type": room_type}))
        over = sum(1 for r in rows if r["booked"] > r["allotment"])
        drift = len(find_drift(db))
        ids = {b["_id"] for b in db.bookings.find({"room_type": room_type}, {"_id": 1})}
        lost = sum(
            1 for booking_id in acknowledged.values() if booking_id not in {str(i) for i in ids}
        )
        per_key = list(
            db.bookings.aggregate(
                [
                    {"$match": {"room_type": room_type, "idempotency_key": {"$exists": True}}},
                    {"$group": {"_id": "$idempotency_key", "n": {"$sum": 1}}},
                    {"$match": {"n": {"$gt": 1}}},
                ]
            )
        )
        live = db.bookings.count_documents(
            {"room_type": room_type, "status": {"$in": ["pending_payment", "confirmed"]}}
        )
        return {
            "booked": live,
            "rooms": rooms,
            "over_allotment": over,
            "drift": drift,
            "acknowledged_lost": lost,
            "keys_with_2+": len(per_key),
        }
    finally:
        client.close()


def fingerprint(stack):
    client, db = stack.db()
    try:
        digest = hashlib.sha256()
        for name in ("hotels", "room_types", "inventory", "bookings", "users"):
            for doc in db[name].find({}, sort=[("_id", 1)]):
                digest.update(json.dumps(doc, sort_keys=True, default=str).encode())
        return digest.hexdigest()[:16]
    finally:
        client.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=40)
    parser.add_argument("--rooms", type=int, default=25)
    parser.add_argument("--fault-after", type=float, default=0.3, help="seconds into the burst")
    args = parser.parse_args()
    secret = secrets.token_urlsafe(48)
    results = []
    with tempfile.TemporaryDirectory(prefix="innkeeper-faults-") as data_dir:
        stack = Stack(data_dir, secret)
        stack.start()
        try:
            for name, fault, heal in scenarios(stack):
                client, db = stack.db()
                room_type, body = stock(db, args.rooms, NIGHTS, ahead=20 + secrets.randbelow(200))
                people = guests(db, args.guests, secret)
                # The catalogue and guests have been there a while: on disk, as a
                # checkpoint would have put them (the burst's own writes are not).
                client.admin.command("fsync")
                client.close()
                acknowledged = {}
                began = time.monotonic()
                first = burst(stack, body, people, acknowledged, fault, args.fault_after)
                heal()
                outcomes = retry_all(stack, body, people, acknowledged)
                row = check(stack, room_type, acknowledged, args.rooms)
                print(
                    f"{name}: burst {sorted(Counter(first.values()).items(), key=str)}, "
                    f"retries {sorted(Counter(outcomes.values()).items(), key=str)}",
                    flush=True,
                )
                row.update(
                    scenario=name,
                    burst_201=sum(1 for s in first.values() if s == 201),
                    cut_off=sum(1 for s in first.values() if s is None or s >= 500),
                    retry_201=sum(1 for s in outcomes.values() if s == 201),
                    seconds=round(time.monotonic() - began, 1),
                )
                results.append(row)
            before = fingerprint(stack)
            stack.stop()
            stack.start()
            after = fingerprint(stack)
            results.append(
                {"scenario": "clean restart: data identical", "identical": before == after}
            )
        finally:
            stack.stop()
    print_table(results)


def scenarios(stack):
    def kill_api():
        stack.kill9()

    def restart():
        stack.start()

    def kill_mongo():
        os.kill(stack.pid("mongo"), signal.SIGKILL)

    def restart_all():
        stack.stop()
        stack.start()

    redis = {}

    def stop_redis():
        port = int(stack.env["EMBEDDED_REDIS_PORT"])
        os.kill(stack.pid("redis"), signal.SIGTERM)
        while embedded.port_open(port):
            time.sleep(0.05)
        redis["port"] = port

    def start_redis():
        time.sleep(1)
        redis["server"] = embedded.redis_server(stack.data_dir, redis["port"]).start()

    return [
        ("kill -9 of the API mid-burst", kill_api, restart),
        ("kill -9 of MongoDB mid-burst", kill_mongo, restart_all),
        ("Redis stopped, then started", stop_redis, start_redis),
    ]


def print_table(results):
    columns = [
        "scenario",
        "rooms",
        "burst_201",
        "cut_off",
        "retry_201",
        "booked",
        "over_allotment",
        "drift",
        "acknowledged_lost",
        "keys_with_2+",
        "seconds",
        "identical",
    ]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in results:
        print("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")


if __name__ == "__main__":
    main()
