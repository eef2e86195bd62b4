"""Live status: a booking's change stream events as the events a guest cares about.

A listener (routes/live.py) watches the database's change stream for updates to one
booking and to the payments of that booking, from whichever API process or worker made
them: MongoDB delivers every committed change to every watcher. `Tracker` turns each
change into zero or more named events, once each: the same status written twice (a hook
and Eve's own write) is one event.
"""

from bson import ObjectId
from pymongo.errors import OperationFailure

from booking.reservations import visible_to
from plumbing.errors import Refusal
from plumbing.values import Day

# What a booking's status becomes, by event name; "refunded" and "modified" come from a
# payment's refund and from POST /bookings/<id>/change.
EVENTS = ("confirmed", "expired", "cancelled", "refunded", "modified")


def pipeline(booking_id):
    """The change stream stages that keep only this booking and its payments."""
    return [
        {
            "$match": {
                "operationType": {"$in": ["insert", "update", "replace"]},
                "$or": [
                    {"ns.coll": "bookings", "documentKey._id": booking_id},
                    {"ns.coll": "payments", "fullDocument.booking": booking_id},
                ],
            }
        }
    ]


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

    def first(self, booking):
        """The event that opens a stream: where the booking stands now."""
        return "status", describe(booking)

    def events(self, change):
        """[(name, data)] for one change stream event."""
        if change["operationType"] == "update":
            written = change["updateDescription"]["updatedFields"]
        else:  # insert or replace: the document as written
            written = change.get("fullDocument") or {}
        if change["ns"]["coll"] == "payments":
            current = change.get("fullDocument") or {}
            return self._payment(change["documentKey"]["_id"], {**current, **written})
        before = self.state
        self.state = {**before, **written}
        found = []
        status = written.get("status")
        if status is not None and status != before.get("status") and status in EVENTS:
            found.append((status, describe(self.state)))
        changed = written.get("modified_at")
        if changed is not None and changed != before.get("modified_at"):
            found.append(("modified", describe(self.state)))
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


def open_stream(db, booking_id, token):
    """The change stream of this booking and its payments, resumed after `token` when the
    server still has it (else from now: the first event then says where it stands).
    Returns (stream, resumed)."""
    options = {"full_document": "updateLookup", "max_await_time_ms": 1000}
    if token is not None:
        try:
            return db.watch(pipeline(booking_id), resume_after=token, **options), True
        except OperationFailure:
            pass  # too old or not ours: start afresh with a status event
    return db.watch(pipeline(booking_id), **options), False
