"""Live status: a booking's change stream events as the events a guest cares about.

Each process watches the database's change stream once (plumbing/changefeed.py) for
updates to bookings and payments, from whichever API process or worker made them:
MongoDB delivers every committed change to every watcher, and the fanout hands each to
the listeners of its booking (routes/live.py). `Tracker` turns each
change into zero or more named events, once each: the same status written twice (a hook
and Eve's own write) is one event.
"""

import time

from bson import ObjectId
from pymongo.errors import OperationFailure

from booking.reservations import PENDING, visible_to
from domain.vocabulary import BOOKING_STATUSES
from plumbing.errors import Refusal
from plumbing.values import Day

# How long a status written without its etag waits for the write that brings it.
HOLD_SECONDS = 1.0

# What a booking's status becomes, by event name; "refunded" and "modified" come from a
# payment's refund and from POST /bookings/<id>/change.
EVENTS = (*(s for s in BOOKING_STATUSES if s != PENDING), "refunded", "modified")


# One change stream per process serves every listener (plumbing/changefeed.py): every
# committed write to a booking or a payment, keyed by the booking it concerns.
FEED_PIPELINE = [
    {
        "$match": {
            "operationType": {"$in": ["insert", "update", "replace"]},
            "ns.coll": {"$in": ["bookings", "payments"]},
        }
    }
]


def booking_of(change):
    """The booking a change stream event concerns: its key in the fanout."""
    if change["ns"]["coll"] == "bookings":
        return change["documentKey"]["_id"]
    return (change.get("fullDocument") or {}).get("booking")


def watcher(db):
    """`watch(resume_after)` for the fanout: the feed's change stream on `db`."""

    def watch(resume_after):
        # A quarter of a second a read: the stream stops within it (shutdown, the last
        # listener gone), at four reads a second while anyone listens.
        options = {"full_document": "updateLookup", "max_await_time_ms": 250}
        if resume_after is not None:
            try:
                return db.watch(FEED_PIPELINE, resume_after=resume_after, **options)
            except OperationFailure:
                pass  # too old to resume: carry on from now (listeners start afresh)
        return db.watch(FEED_PIPELINE, **options)

    return watch


class Tracker:
    """What has been said about one booking, so each event is said once. Events are read
    from what each change wrote (`updatedFields`), not from the document as it is when
    the event is read: a listener that falls behind still hears every step in order."""

    def __init__(self, booking, resumed=False):
        self.booking_id = booking["_id"]
        self.state = dict(booking)
        if resumed:  # what the client last heard is older than `booking`: replay every step
            self.state.pop("status")
            self.state.pop("modified_at", None)
        self.refunded = {}  # payment id -> refunded amount already announced
        self.held, self.held_since = [], None

    def due(self, now, hold=HOLD_SECONDS):
        """Events held for a follow-up write that did not come within `hold` seconds."""
        if not self.held or now - self.held_since < hold:
            return []
        return self._release()

    def _release(self):
        held, self.held, self.held_since = self.held, [], None
        return held

    def first(self, booking):
        """The event that opens a stream: where the booking stands now."""
        return "status", describe(booking)

    def events(self, change, now=None):
        """[(name, data)] for one change stream event.

        A booking status written without a new `_etag` is the first of two writes (an
        Eve PATCH: the hook's transaction, then Eve's own write of the etag): its events
        are held until the second write, so they carry the etag a client can send back
        in If-Match and the time of the change. Events of the payments that follow wait
        behind them, keeping the order. After HOLD_SECONDS they go out as they are."""
        if change["operationType"] == "update":
            written = change["updateDescription"]["updatedFields"]
        else:  # insert or replace: the document as written
            written = change.get("fullDocument") or {}
        if change["ns"]["coll"] == "payments":
            current = change.get("fullDocument") or {}
            found = self._payment(change["documentKey"]["_id"], {**current, **written})
            if self.held:
                self.held.extend(found)
                return []
            return found
        before = self.state
        self.state = {**before, **written}
        found = []
        status = written.get("status")
        if status is not None and status != before.get("status") and status in EVENTS:
            found.append((status, describe(self.state)))
        changed = written.get("modified_at")
        if changed is not None and changed != before.get("modified_at"):
            found.append(("modified", describe(self.state)))
        if "_etag" not in written:
            if found:
                self.held.extend(found)
                self.held_since = time.monotonic() if now is None else now
            return []
        if self.held:
            stamped = {"_etag": self.state.get("_etag"), "at": self.state.get("_updated")}
            for name, data in self.held:
                if name != "refunded":
                    data.update(stamped)
            return self._release() + found
        return found

    def _payment(self, key, payment):
        refunded = payment.get("refunded_amount")
        if payment.get("status") not in ("refunded", "partially_refunded"):
            return []
        if self.refunded.get(key) == str(refunded):
            return []
        self.refunded[key] = str(refunded)
        return [
            (
                "refunded",
                {
                    "booking": self.booking_id,
                    "payment": key,
                    "payment_status": payment["status"],
                    "refunded_amount": refunded,
                    "currency": payment.get("currency"),
                    "at": payment.get("_updated"),
                },
            )
        ]


def describe(booking):
    """What an event says of the booking: enough to redraw a status line."""
    data = {
        "booking": booking["_id"],
        "status": booking["status"],
        "check_in": Day.of(booking["check_in"]).isoformat(),
        "check_out": Day.of(booking["check_out"]).isoformat(),
        "total_price": booking.get("total_price"),
        "currency": booking.get("currency"),
        "_etag": booking.get("_etag"),
        "at": booking.get("_updated"),
    }
    for field in ("hold_expires_at", "refund_amount", "modified_at"):
        if booking.get(field) is not None:
            data[field] = booking[field]
    return data


def reread(db, booking):
    """The booking as it is now (read again once its listener is subscribed)."""
    return db.bookings.find_one({"_id": booking["_id"]}) or booking


def parse_token(text):
    """A Last-Event-ID (our ids are the change stream's resume token data) -> the token,
    or None when it is not one."""
    if not text or len(text) > 1000 or not all(c in "0123456789abcdefABCDEF" for c in text):
        return None
    return {"_data": text}


def visible_booking(db, booking_id, user):
    """The booking if the user may follow it (its guest, its hotel's manager, an admin);
    a 404 otherwise, as for reading it."""
    scope = visible_to(db, user) or {}
    booking = (
        db.bookings.find_one({"_id": ObjectId(booking_id), **scope})
        if ObjectId.is_valid(booking_id)
        else None
    )
    if booking is None:
        raise Refusal(404, f"booking {booking_id} not found")
    return booking
