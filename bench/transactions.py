"""Transaction retries: pymongo's ClientSession.with_transaction (what plumbing/transactions.py
uses) against the jittered-backoff loop it replaced, measured in the same run. Prints
figures, asserts nothing.

Serves the real app (embedded SecantusDB and Redis in a temporary directory, Werkzeug's
threaded server in this process) and, for each helper in turn, on a fresh room type:

  (b) the last rooms: RACERS guests race for LAST_ROOMS rooms over 2 nights;
  (d) contention: RACERS guests book the same 2 nights of a room type with a room for
      each, so every transaction writes the same two inventory rows and all must succeed.

Usage: .venv/bin/python bench/transactions.py [--racers 50] [--rounds 3]
"""

import argparse
import contextlib
import logging
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from pymongo.errors import PyMongoError
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import call, guests, race, stock  # noqa: E402

import cli  # noqa: E402
from plumbing import embedded, transactions  # noqa: E402
from run import close_app, create_app  # noqa: E402

WITH_TRANSACTION = transactions.run


def jittered_backoff(client, unit, max_seconds=30):
    """The helper plumbing/transactions.py had before: retry TransientTransactionError
    after a random sleep doubling from 5 ms to 250 ms, commit retried on an unknown
    result."""
    deadline = time.monotonic() + max_seconds
    backoff = 0.005
    while True:
        with client.start_session() as session:
            try:
                session.start_transaction()
                result = unit(session)
                while True:
                    try:
                        session.commit_transaction()
                        return result
                    except PyMongoError as error:
                        if not error.has_error_label("UnknownTransactionCommitResult"):
                            raise
            except BaseException as error:
                if session.in_transaction:
                    with contextlib.suppress(PyMongoError):
                        session.abort_transaction()
                transient = isinstance(error, PyMongoError) and error.has_error_label(
                    "TransientTransactionError"
                )
                if not transient or time.monotonic() > deadline:
                    raise
        time.sleep(random.uniform(0, backoff))
        backoff = min(backoff * 2, 0.25)


HELPERS = {
    "pymongo with_transaction": WITH_TRANSACTION,
    "jittered backoff (before)": jittered_backoff,
}


def book_race(port, db, secret, racers, allotment):
    room_type, body = stock(db, allotment)
    tokens = [token for _, token in guests(db, racers, secret)]
    elapsed, answers = race(
        [
            lambda token=token: call(port, "POST", "/api/v1/bookings", body, token)
            for token in tokens
        ]
    )
    rows = list(db.inventory.find({"room_type": room_type}, {"booked": 1}))
    return elapsed, [status for status, _ in answers], [r["booked"] for r in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--racers", type=int, default=50)
    parser.add_argument("--last-rooms", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    with tempfile.TemporaryDirectory(prefix="innkeeper-bench-") as data_dir:
        mongo = embedded.mongo_server(data_dir, embedded.free_port(), in_memory=True).start()
        redis = embedded.redis_server(data_dir, embedded.free_port(), persist=False).start()
        secret = secrets.token_urlsafe(48)
        app = create_app(
            {
                "MONGO_URI": embedded.mongo_uri(mongo.port),
                "REDIS_URL": embedded.redis_url(redis.port),
                "SMTP_URL": "smtp://127.0.0.1:25",  # no worker runs: nothing is sent
                "MONGO_DBNAME": "bench",
                "DATA_DIR": data_dir,
                "SECRET_KEY": secret,
                "PAYMENT_WEBHOOK_SECRET": secrets.token_urlsafe(32),
                "SEED_DEMO": False,
                "RATE_LIMIT": "1000000/minute",
                "BOOKING_RATE_LIMIT": "1000000/minute",
                "QUERY_TIMEOUT_MS": 60_000,
            }
        )
        cli.provision(app)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with app.app_context():
                db = app.data.driver.db
                for label, allotment in (
                    ("(b) last rooms", args.last_rooms),
                    ("(d) contention", args.racers),
                ):
                    walls = {name: [] for name in HELPERS}
                    outcome = {}
                    for _ in range(args.rounds):  # helpers take turns, so drift hits both
                        for name, helper in HELPERS.items():
                            transactions.run = helper
                            elapsed, statuses, booked = book_race(
                                server.port, db, secret, args.racers, allotment
                            )
                            walls[name].append(elapsed)
                            outcome[name] = (
                                f"{statuses.count(201)}x201 {statuses.count(409)}x409 "
                                f"other {len([s for s in statuses if s not in (201, 409)])} "
                                f"booked {booked}"
                            )
                    for name in HELPERS:
                        print(
                            f"{name:26} {label:16} {args.racers} racers, {allotment:2} rooms: "
                            f"median {statistics.median(walls[name]):5.2f} s wall "
                            f"({', '.join(f'{w:.2f}' for w in walls[name])}); {outcome[name]}"
                        )
        finally:
            transactions.run = WITH_TRANSACTION
            server.shutdown()
            close_app(app)
            redis.stop()
            mongo.stop()


if __name__ == "__main__":
    main()
