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

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta

import urllib3
from pymongo import ASCENDING, DESCENDING, UpdateOne
from standardwebhooks.webhooks import Webhook

from mail import messages, outbox
from plumbing import logs, metrics
from plumbing.jobs import Job, claim, retry_at
from plumbing.values import utcnow
from webhooks import guard
from webhooks.feed import DELIVERIES

LEASE_SECONDS = 60
FIRST_RETRY_SECONDS = 30
LAST_RETRY_SECONDS = 6 * 3600
GIVE_UP_AFTER = timedelta(days=3)
BATCH = 50
PER_ENDPOINT = 4  # runs in flight per endpoint: one slow receiver takes few threads
RUN = 10  # deliveries a sender thread sends one after another on one connection
SENDERS = 16
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
    # The earliest delivery an endpoint still has to send about one booking: equality on
    # three keys, then seq, so MongoDB and the embedded server alike walk the index.
    order = deliveries.index_information().get("order")
    if order is not None and [key for key, _ in order["key"]][2] != "waiting":
        deliveries.drop_index("order")  # an earlier shape, without `waiting`
    deliveries.create_index(
        [
            ("endpoint", ASCENDING),
            ("subject", ASCENDING),
            ("waiting", ASCENDING),
            ("seq", ASCENDING),
        ],
        name="order",
    )


def connection(target, timeout):
    """A connection to the checked address (never another the name resolves to now):
    one per run of deliveries to an endpoint, kept alive between them."""
    options = {"timeout": urllib3.Timeout(connect=min(3.0, timeout), read=timeout), "maxsize": 1}
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            **options,
        )
    return urllib3.HTTPConnectionPool(target.address, target.port, **options)


def post(pool, target, body, headers, timeout):
    """POST on the run's connection to the checked address, without following
    redirects; the HTTP status, reading at most READ_LIMIT of the answer."""
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


def signed_headers(delivery, secret, at):
    return {
        "webhook-id": delivery["event_id"],
        "webhook-timestamp": str(int(at.replace(tzinfo=UTC).timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery["event_id"], at, delivery["payload"]),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def send_run(deliveries, endpoint, settings, now=None):
    """POST a run of claimed deliveries to one endpoint, one after another on one
    connection (its address checked once); what to record of each (record() writes it).
    Deliveries about one booking come in their order: one that fails holds back the
    later ones about the same booking (given back unsent, to wait as long as it), none
    of the others."""
    now = now or utcnow()
    try:
        target = guard.check(endpoint["url"], settings)
    except guard.Refused as refused:
        return [_outcome(d, now, None, f"url {refused}", 0.0) for d in deliveries]
    pool = connection(target, settings.timeout)
    outcomes, began, held = [], time.monotonic(), {}  # held: subject -> until when
    try:
        for index, delivery in enumerate(deliveries):
            # Within the lease, always: what could not be sent in time goes back, unsent.
            if time.monotonic() - began + settings.timeout + 3 > LEASE_SECONDS - 5:
                outcomes += [_released(d, utcnow()) for d in deliveries[index:]]
                break
            if delivery["subject"] in held:
                outcomes.append(_released(delivery, held[delivery["subject"]]))
                continue
            started = time.monotonic()
            code = error = None
            try:
                # Signed at the wall clock's time (receivers refuse stale or future
                # stamps); `now` is the schedule's clock.
                headers = signed_headers(delivery, endpoint["secret"], utcnow())
                code = post(pool, target, delivery["payload"], headers, settings.timeout)
            except SendError as failure:
                error = str(failure)
            latency = round((time.monotonic() - started) * 1000, 1)
            outcomes.append(_outcome(delivery, now, code, error, latency))
            if not outcomes[-1]["delivered"]:
                held[delivery["subject"]] = outcomes[-1]["changes"]["next_at"] or utcnow()
            if error is not None:
                # No answer at all: the receiver is down or slow. The rest of the run
                # waits as long as this one, unsent (no attempt of theirs is counted).
                later = outcomes[-1]["changes"]["next_at"] or utcnow()
                outcomes += [_released(d, later) for d in deliveries[index + 1 :]]
                break
    finally:
        pool.close()
    sent = [o for o in outcomes if o["delivered"]]
    run = {
        "count": len(sent),
        "latency_ms": round(sum(o["record"]["latency_ms"] for o in sent) / len(sent), 1)
        if sent
        else None,
        "ended": utcnow(),
    }
    for outcome in outcomes:
        outcome["endpoint"] = endpoint
        outcome["run"] = run
    return outcomes


def _released(delivery, next_at):
    """A claimed delivery given back unsent: pending again at `next_at`."""
    return {
        "delivery": delivery,
        "changes": {"status": "pending", "next_at": next_at},
        "record": None,
        "delivered": False,
        "why": None,
    }


def _outcome(delivery, now, code, error, latency):
    record = {"at": now, "status_code": code, "latency_ms": latency, "error": error}
    delivered = code is not None and 200 <= code < 300
    count = delivery.get("attempt_count", 0) + 1
    first = delivery.get("first_attempt_at") or now
    changes = {"attempt_count": count, "first_attempt_at": first, "last_status_code": code}
    if delivered:
        changes.update(status="delivered", delivered_at=utcnow(), next_at=None, waiting=False)
    elif now - first >= GIVE_UP_AFTER:
        changes.update(status="failed", next_at=None, waiting=False)
    else:
        changes.update(
            status="pending", next_at=retry_at(now, count, FIRST_RETRY_SECONDS, LAST_RETRY_SECONDS)
        )
    return {
        "delivery": delivery,
        "changes": changes,
        "record": record,
        "delivered": delivered,
        "why": f"HTTP {code}" if code is not None else error,
    }


def record(db, outcomes, settings, now=None):
    """Write how attempts went, each still under its own claim (one whose lease passed
    and another worker took is left to that worker). A run's delivered ones are one
    update (the embedded engine spends 0.7 ms a document on one update of many, 2.4 ms
    on each of a bulk), their attempt shown with the run's mean latency and its size;
    the rest one unordered bulk. An endpoint whose delivery failed for good is disabled
    and its managers told."""
    if not outcomes:
        return
    delivered, others = {}, []
    for o in outcomes:
        if o["delivered"] and o.get("run") is not None:
            key = (o["delivery"]["claimed_by"], id(o["run"]), o["record"]["status_code"])
            delivered.setdefault(key, []).append(o)
        else:
            others.append(o)
    for (claimed_by, _run, code), together in delivered.items():
        run = together[0]["run"]
        attempt_record = {**together[0]["record"], "latency_ms": run["latency_ms"]}
        if run["count"] > 1:
            attempt_record["run"] = run["count"]  # sent one after another on one connection
        db[DELIVERIES].update_many(
            {"_id": {"$in": [o["delivery"]["_id"] for o in together]}, "claimed_by": claimed_by},
            {
                "$set": {
                    "status": "delivered",
                    "delivered_at": run["ended"],
                    "next_at": None,
                    "waiting": False,
                    "last_status_code": code,
                },
                "$inc": {"attempt_count": 1},
                "$push": {"attempts": {"$each": [attempt_record], "$slice": -KEEP_ATTEMPTS}},
            },
        )
    if others:
        db[DELIVERIES].bulk_write(
            [
                UpdateOne(
                    {"_id": o["delivery"]["_id"], "claimed_by": o["delivery"]["claimed_by"]},
                    {"$set": o["changes"]}
                    if o["record"] is None  # given back unsent
                    else {
                        "$set": o["changes"],
                        "$push": {"attempts": {"$each": [o["record"]], "$slice": -KEEP_ATTEMPTS}},
                    },
                )
                for o in others
            ],
            ordered=False,
        )
    for outcome in outcomes:
        if outcome["record"] is None:
            continue
        metrics.event(f"webhook.{outcome['changes']['status']}")
        if outcome["changes"]["status"] == "failed":
            reason = f"deliveries failed for 3 days (last: {outcome['why']})"
            disable(db, outcome["endpoint"], reason, settings, now)


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
    cancel_pending(db, endpoint["_id"])
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


def cancel_pending(db, endpoint_id):
    """A disabled or deleted endpoint is sent nothing more: its waiting deliveries are
    cancelled (an operator can replay them once it is enabled again)."""
    db[DELIVERIES].update_many(
        {"endpoint": endpoint_id, "status": "pending"},
        {"$set": {"status": "cancelled", "next_at": None, "waiting": False}},
    )


def enabled_endpoints(db):
    return {e["_id"]: e for e in db.webhook_endpoints.find({"enabled": True})}


class Window:
    """Where the dispatcher reads due deliveries: next_at in [floor, floor + width], not
    everything due at once. A backlog is thousands of due deliveries, and the embedded
    engine reads every one of a range before it sorts and limits it (267 ms for 9,000,
    where a 10 s window read 3.6 ms); MongoDB walks the `due` index either way. The
    floor only moves past deliveries that were claimed: one left due (its booking's
    earlier delivery still going, its endpoint busy) keeps it. Every write of a
    delivery sets next_at at or after its own time, so nothing lands below a floor set
    earlier; a full read every RESCAN_SECONDS finds anything written meanwhile below it
    (a race of two workers), and a full read sets the first floor."""

    RESCAN_SECONDS = 30.0
    FIRST_WIDTH = timedelta(seconds=10)
    WIDEST = timedelta(hours=6)

    def __init__(self):
        self.floor = None
        self.width = self.FIRST_WIDTH
        self.rescanned = 0.0

    def bounds(self, now):
        if self.floor is None or time.monotonic() - self.rescanned > self.RESCAN_SECONDS:
            self.rescanned = time.monotonic()
            return None, now  # a full read
        return self.floor, min(now, self.floor + self.width)

    def moved(self, high, due, left, limit):
        """After a read up to `high` that found `due` (next_at order, at most `limit`)
        of which `left` stayed due: the next floor, and a width that fits the backlog."""
        if len(due) >= limit:
            self.width = max(self.width / 2, timedelta(seconds=1))
            reached = due[-1]["next_at"]  # beyond it nothing was read
        else:
            self.width = min(self.width * 2, self.WIDEST)
            reached = high
        self.floor = min([d["next_at"] for d in left] + [reached])


def _due(db, now, endpoints=None, low=None):
    """The enabled endpoints, and the deliveries due (next_at at `low` or later, when
    given): pending ones whose time has come and `sending` ones whose lease has passed,
    oldest first (each read in the order of the `due` index). A disabled endpoint's
    deliveries are cancelled when it is disabled, so none holds a place here for long."""
    endpoints = enabled_endpoints(db) if endpoints is None else endpoints
    if not endpoints:
        return endpoints, []
    when = {"$lte": now} if low is None else {"$gte": low, "$lte": now}
    due = []
    for status in WAITING:
        found = (
            db[DELIVERIES]
            .find({"status": status, "next_at": when})
            .sort("next_at", ASCENDING)
            .limit(BATCH)
        )
        due += list(found)
    due.sort(key=lambda d: (d["next_at"], d["seq"]))  # one pass's share a next_at
    return endpoints, due[:BATCH]


def _in_turn(db, delivery, known):
    """Whether every earlier delivery to its endpoint about the same booking (or room
    type) that still waits is claimed already in this batch, just before it (so it goes
    after them, in the same run): one indexed read of the earliest RUN waiting, per
    (endpoint, subject), kept in `known` with how far the batch has claimed."""
    key = (delivery["endpoint"], delivery["subject"])
    if key not in known:
        waiting = db[DELIVERIES].find(
            {"endpoint": key[0], "subject": key[1], "waiting": True},
            {"seq": 1},
            sort=[("seq", ASCENDING)],
            limit=RUN,
        )
        known[key] = {"order": [w["seq"] for w in waiting], "claimed": 0}
    turn = known[key]
    order, claimed = turn["order"], turn["claimed"]
    if claimed < len(order) and order[claimed] == delivery["seq"]:
        turn["claimed"] += 1
        return True
    return False


def claim_due(db, owner, now=None, room=BATCH, busy=None, endpoints=None, window=None):
    """Claim what is due, in order, at most PER_ENDPOINT runs of RUN in flight per
    endpoint (`busy`: endpoint -> runs being sent): [(delivery, endpoint)]. Four commands
    however many it claims: the due ones, the earliest waiting of their bookings, one
    guarded update (still due) and the claimed ones, plus one indexed read per booking to
    keep each booking's deliveries in order. `endpoints`: the enabled ones, when the
    caller read them lately (the dispatcher, once a second); `window`: read the due ones
    a Window at a time (the dispatcher), else all at once."""
    now = now or utcnow()
    low, high = window.bounds(now) if window is not None else (None, now)
    endpoints, due = _due(db, high, endpoints, low)
    chosen = _claimable(db, due, room, busy, endpoints)
    if window is not None:
        taken = set(chosen)
        window.moved(high, due, [d for d in due if d["_id"] not in taken], BATCH)
    claimed = claim(db[DELIVERIES], chosen, now, owner, LEASE_SECONDS)
    return [(delivery, endpoints[delivery["endpoint"]]) for delivery in claimed]


def _claimable(db, due, room, busy, endpoints):
    """The due deliveries to claim now, in order: the earliest of each booking's, while
    their (enabled) endpoints have room."""
    known, chosen = {}, []
    in_flight = {endpoint: runs * RUN for endpoint, runs in (busy or {}).items()}
    if not due:
        return chosen
    for delivery in due:
        if len(chosen) >= room:
            break
        if delivery["endpoint"] not in endpoints:
            continue  # created a moment ago (the dispatcher's list is a second old)
        # a run in flight counts as RUN deliveries in flight
        if in_flight.get(delivery["endpoint"], 0) >= PER_ENDPOINT * RUN:
            continue
        if not _in_turn(db, delivery, known):
            continue  # its turn comes after an earlier one about the same booking
        in_flight[delivery["endpoint"]] = in_flight.get(delivery["endpoint"], 0) + 1
        chosen.append(delivery["_id"])
    return chosen


def deliver(db, settings, owner="worker", now=None):
    """Claim and send what is due, here and now, until nothing is (the tests, a one-off
    pass), run by run as the senders do; returns (delivered, to try again)."""
    done = failed = 0
    while True:
        claimed = claim_due(db, owner, now)
        if not claimed:
            return done, failed
        for run, endpoint in _runs(claimed):
            outcomes = send_run(run, endpoint, settings, now)
            record(db, outcomes, settings, now)
            sent = [o for o in outcomes if o["record"] is not None]
            done += sum(o["delivered"] for o in sent)
            failed += sum(not o["delivered"] for o in sent)


def replay(db, endpoint_id, event_id):
    """An operator's replay of one delivery: sent again on the next pass, with the same
    webhook-id. None when the endpoint has no such delivery; else (replayed, its status)
    - not replayed when it is waiting to be sent already."""
    found = db[DELIVERIES].find_one({"endpoint": endpoint_id, "event_id": event_id})
    if found is None:
        return None
    replayed = db[DELIVERIES].update_one(
        {"_id": found["_id"], "status": {"$in": ["delivered", "failed", "cancelled"]}},
        {
            "$set": {
                "status": "pending",
                "next_at": utcnow(),
                "first_attempt_at": None,
                "waiting": True,
            }
        },
    )
    return replayed.modified_count == 1, found["status"]


def of_endpoint(db, endpoint_id, status=None, skip=0, limit=25):
    query = {"endpoint": endpoint_id, **({"status": status} if status else {})}
    order = [("created", DESCENDING), ("seq", DESCENDING)]  # the newest change first
    found = db[DELIVERIES].find(query).sort(order).skip(skip).limit(limit)
    return list(found)


class Senders:
    """The worker's senders: a dispatcher thread claims what is due whenever sender
    threads are free and hands it over; the job only wakes it, so neither the job loop
    nor the dispatcher ever waits for a receiver. Sends that end together are recorded
    together: the dispatcher gathers them for GATHER_SECONDS, writes them in one bulk
    and claims the next batch, so a busy worker costs the database a few commands a
    batch, not a few a delivery. It stops after IDLE_SECONDS of nothing."""

    IDLE_SECONDS = 30.0
    GATHER_SECONDS = 0.2
    ENDPOINTS_SECONDS = 1.0  # how long a read of the enabled endpoints serves

    def __init__(self, size=SENDERS):
        self.size = size
        self._lock = threading.Lock()
        self._busy = {}  # endpoint id -> deliveries in flight
        self._done = []  # outcomes of sends, waiting to be recorded
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self._pool = None
        self._endpoints = (0.0, None)  # (read at, {id: endpoint})
        self._window = Window()
        self._target = None  # (db, settings) of the running dispatcher

    def in_flight(self):
        with self._lock:
            return sum(self._busy.values())

    def kick(self, db, settings):
        """Make sure the dispatcher runs, and have it look for work now."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._target = (db, settings)
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.size, thread_name_prefix="webhook-send")
                self._thread = threading.Thread(
                    target=self._dispatch,
                    args=(db, settings),
                    name="webhook-dispatch",
                    daemon=True,
                )
                self._thread.start()
        self._wake.set()

    def stop(self):
        """Stop dispatching, wait for the deliveries in flight and record them
        (shutdown, tests)."""
        self._stop.set()
        self._wake.set()
        thread, pool = self._thread, self._pool
        if thread is not None:
            thread.join(30)
        if pool is not None:
            pool.shutdown(wait=True)
        if self._target is not None:
            self._record(*self._target)
        self._thread = self._pool = None

    def _enabled(self, db):
        read_at, endpoints = self._endpoints
        if endpoints is None or time.monotonic() - read_at > self.ENDPOINTS_SECONDS:
            self._endpoints = (time.monotonic(), enabled_endpoints(db))
        return self._endpoints[1]

    def _record(self, db, settings):
        with self._lock:
            done, self._done = self._done, []
        try:
            record(db, done, settings)
        except Exception:  # noqa: BLE001 - the leases bring them back; say why
            logs.LOG.exception("webhook attempts not recorded")

    def _dispatch(self, db, settings):
        idle_since = time.monotonic()
        while not self._stop.is_set():
            self._record(db, settings)
            # A short queue behind the threads: a run each, and as many again waiting.
            room = (self.size * 2 - self.in_flight()) * RUN
            claimed = []
            if room > 0:
                with self._lock:
                    busy = dict(self._busy)
                try:
                    claimed = claim_due(
                        db,
                        settings.owner,
                        room=room,
                        busy=busy,
                        endpoints=self._enabled(db),
                        window=self._window,
                    )
                except Exception:  # noqa: BLE001 - the database is down: try again soon
                    logs.LOG.exception("webhook dispatch failed")
            for run, endpoint in _runs(claimed):
                self._submit(settings, run, endpoint)
            if claimed or self.in_flight():
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > self.IDLE_SECONDS:
                return  # the next job's kick starts it again
            self._wake.wait(1.0)
            self._wake.clear()
            self._stop.wait(self.GATHER_SECONDS)  # let the sends ending now end together

    def _submit(self, settings, run, endpoint):
        key = endpoint["_id"]
        with self._lock:
            self._busy[key] = self._busy.get(key, 0) + 1
        self._pool.submit(self._send, settings, run, endpoint)

    def _send(self, settings, run, endpoint):
        outcomes = []
        try:
            outcomes = send_run(run, endpoint, settings)
        except Exception:  # noqa: BLE001 - the leases bring them back; say why
            logs.LOG.exception("webhook delivery failed unexpectedly")
        finally:
            with self._lock:
                self._done.extend(outcomes)
                self._busy[endpoint["_id"]] -= 1
                if not self._busy[endpoint["_id"]]:
                    del self._busy[endpoint["_id"]]
            self._wake.set()  # a thread is free: the dispatcher records and refills


def _runs(claimed):
    """Claimed deliveries as runs of at most RUN per endpoint, in their order; the
    deliveries about one booking (or room type) in the same run, one after another."""
    by_endpoint = {}
    for delivery, endpoint in claimed:
        chains = by_endpoint.setdefault(endpoint["_id"], (endpoint, {}))[1]
        chains.setdefault(delivery["subject"], []).append(delivery)
    for endpoint, chains in by_endpoint.values():
        run = []
        for chain in chains.values():
            if run and len(run) + len(chain) > RUN:
                yield run, endpoint
                run = []
            run = run + chain
        if run:
            yield run, endpoint


def _deliver(context):
    """Wake the app's dispatcher (started on the first pass); returns at once."""
    senders = context.services["webhook_senders"]
    senders.kick(context.db, context.services["webhooks"])
    in_flight = senders.in_flight()
    return f"webhooks: {in_flight} runs sending" if in_flight else None


JOBS = (Job("webhook delivery", every=1, run=_deliver),)
