"""What notifications cost the booking path: prints figures, asserts nothing.

Two servers, each an API (`python run.py`, embedded servers of its own) and a worker
process (`flask --app run worker`) beside it as docker-compose runs them, and one
stocked room type:

  quiet: its worker skips every notification job (WORKER_SKIP_JOBS: mail feed, mail
      delivery, hold reminders, webhook feed, webhook delivery);
  told:  every job runs, and the hotel has --endpoints (2) webhook endpoints subscribed to
      every event, all pointing at a receiver in this process that verifies each
      signature with the standardwebhooks library; guests' mail goes to the embedded
      SMTP server.

Rounds alternate quiet / told on the same machine: CLIENTS guests each book and pay
BOOKINGS stays in a row. It prints bookings/s (book + pay) and the latency of one
book + pay for each, their ratio, the database operations a booking cost the server
in the round (serverStatus opcounters: the API's and the worker's together), and how
long after its payment a booking's confirmation reached the webhook receiver and the
guest's mailbox (Maildir).

Usage: .venv/bin/python bench/notifications.py [--rounds 3] [--clients 8] [--bookings 20]
"""

import argparse
import http.server
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pymongo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import call, guests, race, server_env, stock  # noqa: E402
from standardwebhooks.webhooks import Webhook, WebhookVerificationError  # noqa: E402

from identity import accounts  # noqa: E402
from identity.tokens import issue_token  # noqa: E402
from plumbing.embedded import free_port, mongo_uri  # noqa: E402
from plumbing.values import Day  # noqa: E402

ENDPOINTS = 2
QUIET = "mail feed,mail delivery,hold reminders,webhook feed,webhook delivery"
ALL_JOBS = (
    "hold sweep,fee collection,KPI refresh,bookings flat,mail feed,hold reminders,"
    "mail delivery,webhook feed,webhook delivery"
)
EVENTS = [
    "booking.created",
    "booking.confirmed",
    "booking.modified",
    "booking.cancelled",
    "booking.expired",
    "payment.refunded",
    "inventory.changed",
]


class Receiver:
    """A webhook receiver: verifies with every endpoint's secret, notes when each
    booking's confirmation arrived."""

    def __init__(self):
        self.port = free_port()
        self.secrets, self.confirmed, self.count, self.refused = [], {}, 0, 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                event = receiver.verify(body, dict(self.headers))
                self.send_response(204 if event else 400)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verify(self, body, headers):
        for secret in self.secrets:
            try:
                event = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            with self.lock:
                self.count += 1
                if event["type"] == "booking.confirmed":
                    self.confirmed.setdefault(event["data"]["_id"], time.time())
            return event
        with self.lock:
            self.refused += 1
        return None


def start(data_dir, secret, skip):
    """The API (`run.py`, its worker thread idle) and a worker process of its own, as
    docker-compose runs them, on the API's embedded servers; the worker skips `skip`."""
    ports = {
        "PORT": free_port(),
        "EMBEDDED_MONGO_PORT": free_port(),
        "EMBEDDED_REDIS_PORT": free_port(),
    }
    env = server_env(
        data_dir,
        secret,
        ports,
        SEED_DEMO="0",
        WORKER_SKIP_JOBS=ALL_JOBS,
        BOOKING_RATE_LIMIT="1000000/minute",
    )
    log = open(Path(data_dir) / "server.log", "w")  # noqa: SIM115
    api = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py")], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if call(ports["PORT"], "GET", "/health", timeout=2)[0] == 200:
            worker = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "run", "worker"],
                cwd=ROOT,
                env={**env, "WORKER_SKIP_JOBS": skip},
                stdout=log,
                stderr=log,
            )
            return (api, worker), ports
        time.sleep(0.3)
    api.kill()
    sys.exit(f"server did not start; see {data_dir}/server.log")


class Server:
    def __init__(self, name, data_dir, receiver=None, endpoints=0, skip=""):
        self.name, self.data_dir, self.secret = name, data_dir, secrets.token_urlsafe(48)
        self.processes, ports = start(data_dir, self.secret, skip)
        self.port = ports["PORT"]
        self.db = pymongo.MongoClient(mongo_uri(ports["EMBEDDED_MONGO_PORT"]))["innkeeper"]
        # Each client books its own two nights: what is measured is the notifications'
        # cost, not guests queueing for the same rows.
        room_type, body = stock(self.db, rooms=5000, stay_nights=2 * 64, ahead=20)
        first = Day.parse(body["check_in"])
        self.bodies = [
            {**body, "check_in": str(first.plus(2 * i)), "check_out": str(first.plus(2 * i + 2))}
            for i in range(64)
        ]
        self.guests = guests(self.db, 64, self.secret)
        self.paid = {}  # booking id -> when its payment answered
        self.rates, self.latencies = [], []
        if receiver is not None:
            admin = accounts.new_user_document("bench-admin@bench.test", "x" * 12, role="admin")
            self.db.users.insert_one(admin)
            token = issue_token(admin, self.secret, 3600)
            hotel = str(self.db.room_types.find_one({"_id": room_type})["hotel"])
            for _ in range(endpoints):
                status, created = call(
                    self.port,
                    "POST",
                    "/api/v1/webhook-endpoints",
                    {
                        "hotel": hotel,
                        "url": f"http://127.0.0.1:{receiver.port}/h",
                        "events": EVENTS,
                    },
                    token=token,
                )
                assert status == 201, created
                receiver.secrets.append(created["secret"])

    def book_and_pay(self, token, stay):
        began = time.perf_counter()
        status, booking = call(self.port, "POST", "/api/v1/bookings", stay, token=token)
        if status != 201:
            return None
        body = {"booking": booking["_id"], "payment_method": "pm_card_visa"}
        status, _ = call(self.port, "POST", "/api/v1/payments", body, token=token)
        if status != 201:
            return None
        self.paid[booking["_id"]] = (time.time(), booking["confirmation_code"])
        return time.perf_counter() - began

    def round(self, clients, bookings, turn):
        tokens = [token for _, token in self.guests[turn * clients % 64 :][:clients]]
        tokens += [token for _, token in self.guests[: clients - len(tokens)]]

        def client(token, stay):
            return lambda: [self.book_and_pay(token, stay) for _ in range(bookings)]

        before = self.operations()
        wall, results = race([client(t, self.bodies[i]) for i, t in enumerate(tokens)])
        done = [t for per_client in results for t in per_client if t is not None]
        spent = {k: v - before.get(k, 0) for k, v in self.operations().items()}
        self.rates.append(len(done) / wall)
        self.latencies.extend(done)
        failed = clients * bookings - len(done)
        print(
            f"  {self.name:5}: {len(done) / wall:6.1f} bookings/s, book + pay p50 "
            f"{statistics.median(done) * 1000:.0f} ms"
            + (f", {failed} FAILED" if failed else "")
            + "; database operations a booking: "
            + ", ".join(f"{k} {v / max(1, len(done)):.1f}" for k, v in spent.items() if v)
        )

    def operations(self):
        """The embedded server's operation counters (serverStatus), all clients'."""
        return dict(self.db.client.admin.command("serverStatus")["opcounters"])

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(30)


def mail_lags(server):
    """Seconds from each payment to its confirmation in the guest's Maildir."""
    arrived = {}
    for path in (Path(server.data_dir) / "mail" / "new").glob("*"):
        text = path.read_text(errors="replace")
        if "Subject: Booking confirmed" in text:
            arrived[path] = path.stat().st_mtime, text
    lags = []
    for when, code in server.paid.values():
        match = [mtime for mtime, text in arrived.values() if code in text]
        if match:
            lags.append(min(match) - when)
    return lags


def alone(server, receiver, count=5):
    """One booking at a time on a quiet server: how soon its guest and its hotel's
    system hear of it (what a guest of `make run` sees)."""
    server.paid.clear()
    for turn in range(count):
        server.book_and_pay(server.guests[turn][1], server.bodies[turn])
        time.sleep(3)
    time.sleep(5)
    hooks = [
        receiver.confirmed[b] - when
        for b, (when, _) in server.paid.items()
        if b in receiver.confirmed
    ] or [float("nan")]
    mails = mail_lags(server)
    print(
        f"one booking at a time ({count}): booking.confirmed at the receiver "
        f"{min(hooks):.1f}-{max(hooks):.1f} s after the payment answered; the confirmation "
        f"mail in the Maildir {min(mails):.1f}-{max(mails):.1f} s after"
    )


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--bookings", type=int, default=20)
    parser.add_argument("--endpoints", type=int, default=ENDPOINTS)
    args = parser.parse_args()
    receiver = Receiver()
    with tempfile.TemporaryDirectory() as quiet_dir, tempfile.TemporaryDirectory() as told_dir:
        quiet = Server("quiet", quiet_dir, skip=QUIET)
        told = Server("told", told_dir, receiver, args.endpoints)
        try:
            print(
                f"{args.clients} guests each book and pay {args.bookings} stays a round; "
                f"told: {args.endpoints} webhook endpoints on every event, guests' mail on"
            )
            for turn in range(args.rounds):
                print(f"round {turn + 1}")
                for server in (quiet, told) if turn % 2 == 0 else (told, quiet):
                    server.round(args.clients, args.bookings, turn)
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline and len(receiver.confirmed) < len(told.paid):
                time.sleep(0.5)
            time.sleep(5)  # the last mail passes
            rate_quiet, rate_told = (statistics.median(s.rates) for s in (quiet, told))
            p_quiet, p_told = (statistics.median(s.latencies) for s in (quiet, told))
            print(
                f"\nbookings/s (median of rounds): quiet {rate_quiet:.1f}, told "
                f"{rate_told:.1f}: {rate_told / rate_quiet:.2f}x"
            )
            print(
                f"book + pay p50: quiet {p_quiet * 1000:.0f} ms, told {p_told * 1000:.0f} ms; "
                f"p95: quiet {percentile(quiet.latencies, 0.95) * 1000:.0f} ms, told "
                f"{percentile(told.latencies, 0.95) * 1000:.0f} ms"
            )
            hooks = [
                receiver.confirmed[b] - when
                for b, (when, _code) in told.paid.items()
                if b in receiver.confirmed
            ] or [float("nan")]
            deliveries = told.db.webhook_deliveries.count_documents({"status": "delivered"})
            print(
                f"webhooks: {deliveries} deliveries, {receiver.count} verified, "
                f"{receiver.refused} refused; booking.confirmed reached the receiver for "
                f"{len(hooks)} of {len(told.paid)} bookings, p50 {statistics.median(hooks):.1f} s "
                f"p95 {percentile(hooks, 0.95):.1f} s after the payment answered"
            )
            lags = mail_lags(told)
            if lags:
                print(
                    f"mail: the confirmation reached the Maildir for {len(lags)} of "
                    f"{len(told.paid)} bookings, p50 {statistics.median(lags):.1f} s, p95 "
                    f"{percentile(lags, 0.95):.1f} s, max {max(lags):.1f} s after the payment"
                )
            alone(told, receiver)
        finally:
            quiet.stop()
            told.stop()


if __name__ == "__main__":
    main()
