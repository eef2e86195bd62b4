"""Helpers the tests share beyond factories (tests/factories.py): racing callables,
server processes, the admin's sign-in, signed payment events, the analysts' documented
queries, a domain with a new required field. Tests import from here, never from each
other's modules (tests/test_house.py checks it)."""

import json
import os
import re
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from bson import json_util

import domain as domain_package
from domain import build_domain
from domain.vocabulary import EXAMPLE_PLANS
from payments import providers
from plumbing import domain_changes, provisioning
from plumbing.embedded import free_port
from tests.conftest import PASSWORD, wait_until_serving
from tests.factories import book

ROOT = Path(__file__).resolve().parent.parent


def _race(calls):
    """Run the callables at the same instant (a Barrier); return their results."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i):
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def as_environment(app_config):
    """A test app's settings as a child process's environment (lists comma-joined)."""
    return {
        k: ",".join(v) if isinstance(v, list) else str(v)
        for k, v in app_config.items()
        if k != "TESTING"
    }


@contextmanager
def server_processes(app_config, count=2, **extra_env):
    """`count` `run.py` processes on the test's database: [base URL], healthy."""
    env = {k: v for k, v in os.environ.items()}
    env.update(as_environment(app_config))
    env.update(SEED_DEMO="0", **extra_env)
    servers = []
    try:
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, str(ROOT / "run.py")],
                cwd=ROOT,
                env=dict(env, PORT=str(port)),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            servers.append((process, f"http://127.0.0.1:{port}"))
        for process, base in servers:
            wait_until_serving(process, base)
        yield [base for _process, base in servers]
    finally:
        for process, _ in servers:
            process.terminate()
        for process, _ in servers:
            process.wait(20)


def kill_worker_when(app_config, reached, **extra_env):
    """A real `flask --app run worker` process on the test's database, SIGKILLed once
    `reached` (an Event the test's server sets mid-send) is set."""
    env = {k: v for k, v in os.environ.items() if k not in ("MONGO_URI", "REDIS_URL")}
    env.update(as_environment(app_config), SEED_DEMO="0", **extra_env)
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "run", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert reached.wait(60), "the worker never got there"
        worker.kill()  # mid-send: the server has it, and never answered
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()


def csrf(html):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def sign_in(client, email, password=PASSWORD):
    page = client.get("/admin/login")
    return client.post(
        "/admin/login", data={"email": email, "password": password, "csrf_token": csrf(page.text)}
    )


def unpaid_booking(guest, stock):
    """Two nights at 150.25 (300.50 in all), booked by `guest`, waiting for payment."""
    room_type, start = stock(nights=2, allotment=2, price="150.25")
    response = book(guest, room_type, start, nights=2)
    assert response.status_code == 201
    return response.json


def event(payment_id, kind="payment.succeeded", event_id="evt_1", **data):
    return json.dumps(
        {"id": event_id, "type": kind, "created": 1, "data": {"payment": str(payment_id), **data}}
    ).encode()


def deliver(client, app, raw, signature=None, secret=None):
    secret = secret or app.config["PAYMENT_WEBHOOK_SECRET"]
    header = signature if signature is not None else providers.sign(secret, raw)
    return client.flask.post(
        "/api/v1/webhooks/payments",
        data=raw,
        headers={"Payment-Signature": header, "Content-Type": "application/json"},
    )


def require_region(monkeypatch, **rules):
    """The domain with a new required hotels.region (plus `rules`), for provisioning and
    for every reader of the domain."""
    domain = build_domain()
    domain["hotels"]["schema"]["region"] = {
        "type": "string",
        "allowed": ["EU", "US"],
        "required": True,
        "description": "Sales region.",
        "example": "EU",
        **rules,
    }
    monkeypatch.setattr(provisioning, "build_domain", lambda: domain)
    monkeypatch.setattr(domain_changes, "build_domain", lambda: domain)
    monkeypatch.setattr(domain_package, "build_domain", lambda: domain)


def _stages(plan):
    """Every 'stage' name in an explain document (mongod and the embedded server alike)."""
    if isinstance(plan, dict):
        found = [plan["stage"]] if isinstance(plan.get("stage"), str) else []
        for value in plan.values():
            found += _stages(value)
        return found
    if isinstance(plan, list):
        return [s for item in plan for s in _stages(item)]
    return []


DOC = (ROOT / "docs" / "analysts.md").read_text()


QUERY_RE = re.compile(r"```js\n// query: (?P<name>[\w-]+)\n(?P<body>.*?)```", re.S)


QUERIES = {m["name"]: m["body"].strip() for m in QUERY_RE.finditer(DOC)}


def to_python(body):
    """`db.<collection>.aggregate([...])` in mongosh syntax -> (collection, pipeline)."""
    match = re.fullmatch(r"db\.(\w+)\.aggregate\((.*)\)", body, re.S)
    assert match, body
    text = re.sub(r'ISODate\("([^"]+)"\)', r'{"$date": "\1"}', match[2])
    return match[1], json_util.loads(text)


def run(db, name):
    collection, pipeline = to_python(QUERIES[name])
    return list(db[collection].aggregate(pipeline))


FLEXIBLE, NON_REFUNDABLE, BREAKFAST = EXAMPLE_PLANS


PLANS = [
    FLEXIBLE,
    NON_REFUNDABLE,
    {**BREAKFAST, "cancellation": {"free_until_hours": 24, "penalty_percent": 30}},
    {"code": "long-stay", "name": "Week and more", "discount_percent": 20, "min_stay": 7},
    {"code": "early", "name": "Early bird", "discount_percent": 25, "min_days_ahead": 60},
]


def readers_against_bookers(guests, book_one, rooms_left, allotment, readers=8):
    """Each guest books one room (`book_one(guest)`) while `readers` threads read
    `rooms_left()` over and over until the last booking is acknowledged. Returns the
    violations: (bookings acknowledged before the read began, rooms it showed) where it
    showed more than allotment minus them."""
    acknowledged, lock, stop, violations = [0], threading.Lock(), threading.Event(), []

    def booker(guest):
        book_one(guest)
        with lock:
            acknowledged[0] += 1

    def reader():
        while not stop.is_set():
            with lock:
                floor = acknowledged[0]
            left = rooms_left()
            if left > allotment - floor:
                violations.append((floor, left))

    reading = [threading.Thread(target=reader) for _ in range(readers)]
    booking = [threading.Thread(target=booker, args=(g,)) for g in guests]
    for thread in reading + booking:
        thread.start()
    for thread in booking:
        thread.join(120)
    stop.set()
    for thread in reading:
        thread.join(120)
    return violations
