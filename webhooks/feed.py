"""Webhook events follow the change stream of bookings, payments and inventory, whoever
made the change (an API worker, the admin, the CLI, the worker's own expiry and fees).

The `webhook feed` job reads the changes after the resume token it keeps in
`feed_positions` (id `webhooks`), in commit order, and writes one delivery per event and
subscribed endpoint of the event's hotel. A delivery's id names the endpoint and what
happened (`booking:<id>:confirmed`, `payment:<id>:refunded:<amount>`), so a pass applied
again after a crash writes nothing twice, and a retry carries the same `webhook-id`: a
receiver never sees one event under two ids. An endpoint hears of what happened after
it was created; with no enabled endpoint at all the feed just keeps its place. A change
whose own time is more than a day older than its commit (the demo seed's year of
history, written in bulk) is not news and is passed over.

An event's `data` is the resource as the API represents it when the event is written
(bookings and payments as GET answers them; for `inventory.changed` the room type's
changed nights, one event per room type and transaction).
"""

import hashlib
import time
from datetime import UTC, timedelta

import simplejson as json
from pymongo import UpdateOne

from domain import build_domain
from plumbing import jsonschema
from plumbing.changefeed import KeptPosition, documents_of
from plumbing.datalayer import JSONEncoder
from plumbing.jobs import Job
from plumbing.values import decode_days, utcnow

FEED = "webhooks"
DELIVERIES = "webhook_deliveries"
PIPELINE = [
    {
        "$match": {
            "ns.coll": {"$in": ["bookings", "payments", "inventory"]},
            "operationType": {"$in": ["insert", "update", "replace"]},
        }
    }
]
POSITION = KeptPosition(FEED, PIPELINE)  # in feed_positions
STATUS_EVENTS = {
    "confirmed",
    "cancelled",
    "expired",
    "checked_in",
    "checked_out",
    "no_show",
}
PASS_SECONDS = 2.0
# A change whose own time (a booking's `confirmed_at`, its `_created`) is this much older
# than its commit is history written in bulk (the demo seed's year), not news.
HISTORY = timedelta(hours=24)
FLUSH_AT = 500
_DAYS = {}


def event_id(key):
    """The webhook-id of an event: stable, opaque, the same on every retry."""
    return "msg_" + hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


def _days(resource):
    if resource not in _DAYS:
        schema = jsonschema.resource_schema(build_domain()[resource])
        _DAYS[resource] = jsonschema.day_fields(schema)
    return _DAYS[resource]


def represent(resource, document):
    """A stored document as the API's GET shows it (stay dates, money, ids, timestamps)."""
    document = decode_days(dict(document), _days(resource))
    return json.loads(json.dumps(document, cls=JSONEncoder))


def _position(change):
    """(seq, when): seq orders an endpoint's deliveries about one booking or room type as
    their changes committed, a text that sorts as the commit's cluster time."""
    stamp = change["clusterTime"]
    return f"{stamp.time:010d}.{stamp.inc:010d}", stamp.as_datetime().astimezone(UTC)


class _Writer:
    """Writes the deliveries of one pass, for the enabled endpoints it was given."""

    def __init__(self, db, endpoints):
        self.db, self.written, self.pending = db, 0, []
        self.by_hotel = {}
        self.documents = {"bookings": {}, "payments": {}}
        for endpoint in endpoints:
            self.by_hotel.setdefault(endpoint["hotel"], []).append(endpoint)

    def prefetch(self, changes):
        """The bookings and payments a pass's changes concern, one read each (as they
        are now: what an event carries)."""
        self.documents = documents_of(self.db, changes, ("bookings", "payments"))

    def booking(self, booking_id):
        return self.documents["bookings"].get(booking_id)

    def payment(self, payment_id):
        return self.documents["payments"].get(payment_id)

    def wants(self, hotel, kind):
        return any(kind in e["events"] for e in self.by_hotel.get(hotel, ()))

    def event(self, key, kind, hotel, subject, seq, when, data):
        body = json.dumps(
            {"type": kind, "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "data": data},
            separators=(",", ":"),
        )
        now = utcnow()
        for endpoint in self.by_hotel.get(hotel, ()):
            if kind not in endpoint["events"]:
                continue
            if endpoint.get("_created") and endpoint["_created"] > when.replace(tzinfo=None):
                continue  # before the endpoint existed
            self.pending.append(
                UpdateOne(
                    {"_id": f"{endpoint['_id']}:{key}"},
                    {
                        "$setOnInsert": {
                            "endpoint": endpoint["_id"],
                            "hotel": hotel,
                            "event_id": event_id(key),
                            "type": kind,
                            "subject": subject,
                            "seq": seq,
                            "payload": body,
                            "status": "pending",
                            "waiting": True,  # pending or sending: not done
                            "attempts": [],
                            "attempt_count": 0,
                            "next_at": now,
                            "created": now,
                        }
                    },
                    upsert=True,
                )
            )
        if len(self.pending) >= FLUSH_AT:
            self.flush()

    def flush(self):
        """Write the pass's deliveries in one unordered bulk: a delivery written already
        (a pass applied again) is left as it is."""
        if self.pending:
            done = self.db[DELIVERIES].bulk_write(self.pending, ordered=False)
            self.written += done.upserted_count
            self.pending = []


def _booking_events(writer, change, seq, when):
    booking_id = change["documentKey"]["_id"]
    kinds = []
    if change["operationType"] in ("insert", "replace"):
        if change["operationType"] == "insert":
            kinds.append(("created", "booking.created"))
        status = (change.get("fullDocument") or {}).get("status")
    else:
        fields = (change.get("updateDescription") or {}).get("updatedFields", {})
        status = fields.get("status")
        if "modified_at" in fields:
            stamp = fields["modified_at"].strftime("%Y%m%dT%H%M%S.%f")
            kinds.append((f"modified:{stamp}", "booking.modified"))
    if status in STATUS_EVENTS:
        kinds.append((status, f"booking.{status}"))
    if not kinds:
        return
    booking = writer.booking(booking_id)
    if booking is None or not any(writer.wants(booking["hotel"], k) for _, k in kinds):
        return
    kinds = [(name, kind) for name, kind in kinds if not _history(booking, name, when)]
    data = represent("bookings", booking)
    for offset, (name, kind) in enumerate(kinds):
        writer.event(
            f"booking:{booking_id}:{name}",
            kind,
            booking["hotel"],
            booking_id,
            f"{seq}.{offset}",
            when,
            data,
        )


def _history(booking, name, when):
    """Whether the booking's event `name` happened long before it was committed."""
    stamp = booking.get("_created") if name == "created" else booking.get(f"{name}_at")
    if name.startswith("modified:"):
        stamp = booking.get("modified_at")
    return stamp is not None and stamp < when.replace(tzinfo=None) - HISTORY


def _refund_event(writer, change, seq, when):
    if change["operationType"] in ("insert", "replace"):
        refunded = (change.get("fullDocument") or {}).get("refunded_amount")
    else:
        fields = (change.get("updateDescription") or {}).get("updatedFields", {})
        refunded = fields.get("refunded_amount")
    if refunded is None or refunded.to_decimal() <= 0:
        return
    payment = writer.payment(change["documentKey"]["_id"])
    if payment is None or not writer.wants(payment["hotel"], "payment.refunded"):
        return
    if payment.get("_updated") and payment["_updated"] < when.replace(tzinfo=None) - HISTORY:
        return  # a refund of the seeded history
    writer.event(
        f"payment:{payment['_id']}:refunded:{refunded.to_decimal()}",
        "payment.refunded",
        payment["hotel"],
        payment["booking"],
        seq,
        when,
        represent("payments", payment),
    )


def _inventory_events(writer, group):
    """One `inventory.changed` per room type of a transaction (a range edit, a booking's
    nights): its rows as they are now."""
    seq, when, key = group["seq"], group["when"], group["key"]
    rows = list(writer.db.inventory.find({"_id": {"$in": group["ids"]}}).sort("date", 1))
    by_room_type = {}
    for row in rows:
        by_room_type.setdefault((row["hotel"], row["room_type"]), []).append(row)
    for (hotel, room_type), nights in by_room_type.items():
        if not writer.wants(hotel, "inventory.changed"):
            continue
        writer.event(
            f"inventory:{room_type}:{key}",
            "inventory.changed",
            hotel,
            room_type,
            seq,
            when,
            {
                "room_type": str(room_type),
                "hotel": str(hotel),
                "nights": [represent("inventory", row) for row in nights],
            },
        )


def _transaction(change):
    """What groups a transaction's changes: its session and number, or its commit time."""
    if change.get("lsid") is not None and change.get("txnNumber") is not None:
        return f"{change['lsid']['id']}:{change['txnNumber']}"
    stamp = change["clusterTime"]
    return f"{stamp.time}.{stamp.inc}"


def drain(db):
    """Write the deliveries of every change since the kept token; returns how many."""
    stream = POSITION.open(db)
    endpoints = list(db.webhook_endpoints.find({"enabled": True}))
    if stream is None or not endpoints:
        if stream is not None:
            stream.close()
        POSITION.skip(db)  # nobody to tell (or no token): keep the place only
        return 0
    writer = _Writer(db, endpoints)
    with stream:
        changes = _read(stream)
        writer.prefetch(changes)
        group = None  # the inventory changes of one transaction, written when it ends
        for change in changes:
            seq, when = _position(change)
            collection = change["ns"]["coll"]
            if group is not None and (
                collection != "inventory" or _transaction(change) != group["key"]
            ):
                _inventory_events(writer, group)
                group = None
            if collection == "inventory":
                if group is None:
                    group = {"key": _transaction(change), "seq": seq, "when": when, "ids": []}
                group["ids"].append(change["documentKey"]["_id"])
            elif collection == "bookings":
                _booking_events(writer, change, seq, when)
            else:
                _refund_event(writer, change, seq, when)
        if group is not None:
            _inventory_events(writer, group)
        writer.flush()
        # Saved once a pass, after its deliveries: a crash before re-applies the pass,
        # and the deliveries' ids make that harmless.
        if stream.resume_token is not None:
            POSITION.save(db, stream.resume_token)
    return writer.written


def _read(stream):
    """A pass's changes: until caught up, or PASS_SECONDS have passed - but never ending
    inside a transaction's inventory changes (the grouping stays the same when a pass is
    applied again)."""
    changes, deadline, empty = [], time.monotonic() + PASS_SECONDS, 0
    while True:
        change = stream.try_next()
        if change is None:
            empty += 1  # two empty reads in a row: caught up
            if empty == 2:
                return changes
            continue
        empty = 0
        changes.append(change)
        if change["ns"]["coll"] != "inventory" and time.monotonic() >= deadline:
            return changes


def _follow(context):
    written = drain(context.db)
    return f"webhooks: {written} deliveries written" if written else None


JOBS = (Job("webhook feed", every=2, run=_follow),)
