"""Sending webhook deliveries from the worker: signed, retried, never holding it.

A delivery (feed.py wrote it) is claimed with a guarded update (pending and due ->
sending, with a lease), then POSTed on one of the worker's sender threads, so the job
loop never waits for a receiver: a slow one costs a thread for at most
WEBHOOK_TIMEOUT_SECONDS, and its lease (longer) keeps every other worker off it. The
body is the delivery's stored bytes; the headers are Standard Webhooks' `webhook-id`
(the same on every retry), `webhook-timestamp` and `webhook-signature` (v1, HMAC-SHA256,
by the standardwebhooks library, with the endpoint's secret).

A 2xx answer delivers it. Anything else (an error code, a redirect, a timeout, a refused
connection, an address the guard refuses) is an attempt recorded with its code and
latency, and the delivery is tried again with exponential backoff and full jitter (30 s
doubling, at most 6 hours) until three days have passed since its first attempt: then
it is `failed`, its endpoint is disabled, and the hotel's managers are told by mail.
A worker that dies mid-send leaves the delivery `sending`; once its lease has passed it
is sent again, with the same webhook-id, so a receiver that had it can tell.

An endpoint's deliveries about one booking (or room type) leave in commit order: one
waits while an earlier one about the same thing is still pending or being sent.
"""

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta

import urllib3
from pymongo import ASCENDING, DESCENDING
from standardwebhooks.webhooks import Webhook

from mail import messages, outbox
from plumbing import logs, metrics
from plumbing.jobs import Job
from plumbing.values import utcnow
from webhooks import guard
from webhooks.feed import DELIVERIES

LEASE_SECONDS = 60
FIRST_RETRY_SECONDS = 30
LAST_RETRY_SECONDS = 6 * 3600
GIVE_UP_AFTER = timedelta(days=3)
BATCH = 50
PER_ENDPOINT = 4  # claimed per endpoint and pass: one slow receiver takes few threads
SENDERS = 8
KEEP_ATTEMPTS = 20
READ_LIMIT = 64 * 1024
USER_AGENT = "Innkeeper-Webhooks/1"
WAITING = ("pending", "sending")


class SendError(Exception):
    """No HTTP answer: why, in words for the attempt."""


def provision(db):
    deliveries = db[DELIVERIES]
    deliveries.create_index([("status", ASCENDING), ("next_at", ASCENDING)], name="due")
    deliveries.create_index([("endpoint", ASCENDING), ("created", DESCENDING)], name="endpoint")
    deliveries.create_index(
        [("endpoint", ASCENDING), ("event_id", ASCENDING)], name="event", unique=True
    )
    deliveries.create_index(
        [("endpoint", ASCENDING), ("subject", ASCENDING), ("seq", ASCENDING)], name="order"
    )


def post(target, body, headers, timeout):
    """POST to the checked address (never another the name resolves to now), without
    following redirects; the HTTP status, reading at most READ_LIMIT of the answer."""
    options = {"timeout": urllib3.Timeout(connect=min(3.0, timeout), read=timeout)}
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            **options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, **options)
    default_port = 443 if target.scheme == "https" else 80
    host = target.host if target.port == default_port else f"{target.host}:{target.port}"
    try:
        answer = pool.urlopen(
            "POST",
            target.path,
            body=body.encode(),
            headers={"Host": host, **headers},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        answer.read(READ_LIMIT)
        answer.release_conn()
        return answer.status
    except urllib3.exceptions.TimeoutError:
        raise SendError(f"no answer within {timeout:g} s") from None
    except urllib3.exceptions.HTTPError as error:
        raise SendError(f"could not connect: {error.__class__.__name__}") from None
    finally:
        pool.close()


def signed_headers(delivery, secret, at):
    return {
        "webhook-id": delivery["event_id"],
        "webhook-timestamp": str(int(at.replace(tzinfo=UTC).timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery["event_id"], at, delivery["payload"]),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def _retry_at(now, attempts, rng=random):
    """Exponential backoff with full jitter: a failing receiver is not hammered in step."""
    ceiling = min(LAST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** (attempts - 1))
    return now + timedelta(seconds=ceiling / 2 + rng.random() * ceiling / 2)


def _claim(db, delivery, now, owner):
    claimed = db[DELIVERIES].update_one(
        {"_id": delivery["_id"], "status": delivery["status"], "next_at": delivery["next_at"]},
        {
            "$set": {
                "status": "sending",
                "claimed_by": owner,
                "next_at": now + timedelta(seconds=LEASE_SECONDS),
            }
        },
    )
    return claimed.modified_count == 1


def _earlier_waiting(db, delivery):
    """An earlier delivery to the same endpoint about the same booking, not done yet."""
    return db[DELIVERIES].find_one(
        {
            "endpoint": delivery["endpoint"],
            "subject": delivery["subject"],
            "seq": {"$lt": delivery["seq"]},
            "status": {"$in": list(WAITING)},
        },
        {"_id": 1},
    )


def attempt(db, delivery, endpoint, settings, owner, now=None, send=post):
    """Send one claimed delivery and record how it went; True when delivered."""
    now = now or utcnow()
    started = time.monotonic()
    code = error = None
    try:
        target = guard.check(endpoint["url"], settings)
        # Signed at the wall clock's time (receivers refuse stale or future stamps);
        # `now` is the schedule's clock.
        headers = signed_headers(delivery, endpoint["secret"], utcnow())
        code = send(target, delivery["payload"], headers, settings.timeout)
    except guard.Refused as refused:
        error = f"url {refused}"
    except SendError as failure:
        error = str(failure)
    latency = round((time.monotonic() - started) * 1000, 1)
    record = {"at": now, "status_code": code, "latency_ms": latency, "error": error}
    delivered = code is not None and 200 <= code < 300
    count = delivery.get("attempt_count", 0) + 1
    first = delivery.get("first_attempt_at") or now
    changes = {"attempt_count": count, "first_attempt_at": first, "last_status_code": code}
    if delivered:
        changes.update(status="delivered", delivered_at=utcnow(), next_at=None)
    elif now - first >= GIVE_UP_AFTER:
        changes.update(status="failed", next_at=None)
    else:
        changes.update(status="pending", next_at=_retry_at(now, count))
    db[DELIVERIES].update_one(
        {"_id": delivery["_id"], "claimed_by": owner},
        {"$set": changes, "$push": {"attempts": {"$each": [record], "$slice": -KEEP_ATTEMPTS}}},
    )
    metrics.event(f"webhook.{changes['status']}")
    if changes["status"] == "failed":
        why = f"HTTP {code}" if code is not None else error
        disable(db, endpoint, f"deliveries failed for 3 days (last: {why})", settings, now)
    return delivered


def disable(db, endpoint, reason, settings, now=None):
    """Switch an endpoint off and tell its hotel's managers (once per disabling)."""
    now = now or utcnow()
    switched = db.webhook_endpoints.update_one(
        {"_id": endpoint["_id"], "enabled": True},
        {
            "$set": {
                "enabled": False,
                "disabled_reason": reason,
                "_updated": now.replace(microsecond=0),
                "_etag": uuid.uuid4().hex,
            }
        },
    )
    if switched.modified_count != 1:
        return False
    hotel = db.hotels.find_one({"_id": endpoint["hotel"]})
    if hotel is None:
        return True
    stamp = now.strftime("%Y%m%dT%H%M%S")
    for manager in db.users.find({"_id": {"$in": hotel.get("managers") or []}}):
        message = messages.webhook_disabled(manager, hotel, endpoint, reason, settings.public_url)
        outbox.enqueue(
            db,
            f"webhook-disabled:{endpoint['_id']}:{manager['_id']}:{stamp}",
            hotel=hotel["_id"],
            kind="webhook.disabled",
            **message,
        )
    metrics.event("webhook.endpoint_disabled")
    return True


def _due(db, now):
    endpoints = {e["_id"]: e for e in db.webhook_endpoints.find({"enabled": True})}
    if not endpoints:
        return endpoints, []
    due = (
        db[DELIVERIES]
        .find(
            {
                "status": {"$in": list(WAITING)},
                "next_at": {"$lte": now},
                "endpoint": {"$in": list(endpoints)},
            }
        )
        .sort([("next_at", ASCENDING), ("seq", ASCENDING)])
        .limit(BATCH)
    )
    return endpoints, list(due)


def claim_due(db, owner, now=None, room=BATCH):
    """Claim what is due, in order, at most PER_ENDPOINT per endpoint: [(delivery, endpoint)]."""
    now = now or utcnow()
    endpoints, due = _due(db, now)
    claimed, per_endpoint = [], {}
    for delivery in due:
        if len(claimed) >= room:
            break
        if per_endpoint.get(delivery["endpoint"], 0) >= PER_ENDPOINT:
            continue
        if _earlier_waiting(db, delivery):
            continue  # its turn comes after the earlier one about the same booking
        if not _claim(db, delivery, now, owner):
            continue  # another worker has it
        per_endpoint[delivery["endpoint"]] = per_endpoint.get(delivery["endpoint"], 0) + 1
        claimed.append((delivery, endpoints[delivery["endpoint"]]))
    return claimed


CHAIN = 20


def send_in_order(db, delivery, endpoint, settings, owner, now=None, send=post):
    """Send a claimed delivery, then (once it is delivered) the next ones due about the
    same booking, on the same thread: a booking's events do not wait a pass each.
    Returns (delivered, to try again)."""
    done = failed = 0
    for _ in range(CHAIN):
        if not attempt(db, delivery, endpoint, settings, owner, now, send):
            return done, failed + 1
        done += 1
        following = db[DELIVERIES].find_one(
            {
                "endpoint": delivery["endpoint"],
                "subject": delivery["subject"],
                "seq": {"$gt": delivery["seq"]},
                "status": "pending",
                "next_at": {"$lte": now or utcnow()},
            },
            sort=[("seq", ASCENDING)],
        )
        if following is None or _earlier_waiting(db, following):
            break
        if not _claim(db, following, now or utcnow(), owner):
            break
        delivery = following
    return done, failed


def deliver(db, settings, owner="worker", now=None, send=post):
    """Claim and send what is due, here and now (the tests, a one-off pass); returns
    (delivered, to try again)."""
    done = failed = 0
    for delivery, endpoint in claim_due(db, owner, now):
        sent, not_yet = send_in_order(db, delivery, endpoint, settings, owner, now, send)
        done, failed = done + sent, failed + not_yet
    return done, failed


def replay(db, endpoint_id, event_id):
    """An operator's replay of one delivery: sent again on the next pass, with the same
    webhook-id. None when the endpoint has no such delivery; else (replayed, its status)
    - not replayed when it is waiting to be sent already."""
    found = db[DELIVERIES].find_one({"endpoint": endpoint_id, "event_id": event_id})
    if found is None:
        return None
    replayed = db[DELIVERIES].update_one(
        {"_id": found["_id"], "status": {"$in": ["delivered", "failed", "cancelled"]}},
        {"$set": {"status": "pending", "next_at": utcnow(), "first_attempt_at": None}},
    )
    return replayed.modified_count == 1, found["status"]


def of_endpoint(db, endpoint_id, status=None, skip=0, limit=25):
    query = {"endpoint": endpoint_id, **({"status": status} if status else {})}
    found = db[DELIVERIES].find(query).sort("created", DESCENDING).skip(skip).limit(limit)
    return list(found)


class Senders:
    """The worker's sender threads: the job hands claimed deliveries over and returns."""

    def __init__(self, size=SENDERS):
        self.size = size
        self._pool = None
        self._busy = 0
        self._lock = threading.Lock()

    def free(self):
        with self._lock:
            return self.size * 2 - self._busy  # a short queue behind the threads

    def submit(self, run):
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.size, thread_name_prefix="webhook-send")
            self._busy += 1
        self._pool.submit(self._run, run)

    def _run(self, run):
        try:
            run()
        except Exception:  # noqa: BLE001 - the lease brings it back; say why
            logs.LOG.exception("webhook delivery failed unexpectedly")
        finally:
            with self._lock:
                self._busy -= 1


SENDING = Senders()


def _deliver(context):
    settings, db = context.services["webhooks"], context.db
    room = SENDING.free()
    if room <= 0:
        return None
    claimed = claim_due(db, settings.owner, room=room)
    for delivery, endpoint in claimed:
        SENDING.submit(
            lambda d=delivery, e=endpoint: send_in_order(db, d, e, settings, settings.owner)
        )
    return f"webhooks: {len(claimed)} sending" if claimed else None


JOBS = (Job("webhook delivery", every=1, run=_deliver),)
