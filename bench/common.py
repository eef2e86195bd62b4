"""What the benchmarks share: real concurrency, HTTP calls, a stocked room type and guests."""

import http.client
import json
import os
import secrets
import statistics
import tempfile
import threading
import time
from contextlib import contextmanager

from identity import accounts
from identity.tokens import issue_token
from plumbing import embedded
from plumbing.values import created, money, nights, today


def median_read(read, times=20):
    """(median seconds, the last result) of `read()` run `times` times."""
    timings, result = [], None
    for _ in range(times):
        began = time.perf_counter()
        result = read()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings), result


def server_env(data_dir, secret, ports, **settings):
    """The environment of a `run.py` a benchmark starts: its ports and data directory,
    embedded servers of its own (no MONGO_URI / REDIS_URL), and `settings`."""
    env = {k: v for k, v in os.environ.items() if k not in ("MONGO_URI", "REDIS_URL", "SMTP_URL")}
    env.update(EMBEDDED_SMTP_PORT=str(embedded.free_port()))  # its own SMTP server too
    env.update({k: str(v) for k, v in ports.items()})
    env.update(DATA_DIR=data_dir, SECRET_KEY=secret, RATE_LIMIT="1000000/minute")
    env.update({k: str(v) for k, v in settings.items()})
    return env


def race(calls):
    """Run every callable in its own thread, all released at once by a barrier.

    Returns (wall seconds, each call's result in order).
    """
    results, barrier = [None] * len(calls), threading.Barrier(len(calls))

    def runner(i):
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(len(calls))]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, results


def call(port, method, path, body=None, token=None, key=None, timeout=60):
    """(status, parsed body); (None, None) when the connection died with the server."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    except (OSError, http.client.HTTPException, ValueError):
        return None, None
    finally:
        connection.close()


def stock(db, rooms, stay_nights=2, ahead=10):
    """A hotel with one room type and `rooms` rooms on every night of a stay `ahead` days
    from today; returns (room type id, the booking body for that stay)."""
    hotel = {
        "name": "Bench Hotel",
        "address": {"city": "Benchville", "country": "FR"},
        "currency": "EUR",
        "timezone": "UTC",
        "status": "active",
        "cancellation_policy": {"free_until_hours": 48, "penalty_percent": 100},
        **created(),
    }
    db.hotels.insert_one(hotel)
    room_type = {
        "hotel": hotel["_id"],
        "name": "Double",
        "max_adults": 2,
        "max_children": 0,
        "total_rooms": rooms,
        **created(),
    }
    db.room_types.insert_one(room_type)
    start = today().plus(ahead)
    db.inventory.insert_many(
        {
            "room_type": room_type["_id"],
            "date": night,
            "allotment": rooms,
            "price": money(100, "EUR"),
            "closed": False,
            "min_stay": 1,
            "booked": 0,
            "hotel": hotel["_id"],
            "city": "Benchville",
            "country": "FR",
            "currency": "EUR",
            **created(),
        }
        for night in nights(start, start.plus(stay_nights))
    )
    body = {
        "room_type": str(room_type["_id"]),
        "check_in": str(start),
        "check_out": str(start.plus(stay_nights)),
    }
    return room_type["_id"], body


def guests(db, count, secret):
    """`count` new guests, each with a bearer token: [(user, token)]."""
    users = [
        accounts.new_user_document(f"g{secrets.token_hex(6)}@bench.test", "bench-pw-1234")
        for _ in range(count)
    ]
    db.users.insert_many(users)
    return [(user, issue_token(user, secret, 3600)) for user in users]


@contextmanager
def seeded_demo():
    """(database, seed plan, seconds the seed took): the demo seeded on an embedded
    server of its own, provisioned as start-up does; stopped and removed after."""
    import pymongo

    from demo import seed
    from plumbing import embedded, provisioning
    from reporting import flat, kpis

    with tempfile.TemporaryDirectory() as data_dir:
        mongo = embedded.mongo_server(data_dir, embedded.free_port()).start()
        try:
            db = pymongo.MongoClient(embedded.mongo_uri(mongo.port))["innkeeper"]
            provisioning.provision(db, log=lambda *_: None)
            kpis.provision(db)
            flat.provision(db)
            began = time.perf_counter()
            plan = seed.seed_demo(db)
            yield db, plan, time.perf_counter() - began
        finally:
            mongo.stop()
