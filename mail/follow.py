"""Guests' booking mail follows the bookings' change stream, whoever changed them.

The `mail feed` job reads the bookings' changes after the resume token it keeps in
`feed_positions` (id `mail`), in commit order: a booking that became `confirmed` gets
its confirmation, one that became `cancelled` its notice with the refund, one changed
(its stay or rooms) the new stay with what the change charged or refunded, and a payment
that succeeded (for a booking, a dearer change or a fee) its receipt. Whichever
process made the change (an API worker, the admin, the CLI, the worker's own expiry
and fees) the message is written once: its id names the booking and what happened, and
writing it again (a pass that crashed before it saved its token applies the same changes
again) keeps the first. With no token (the first pass), or one the server no longer
holds, it starts from now; and a change more than 24 hours old (a history written in
bulk, like the demo's seed) is passed over: nobody is mailed about the past.
"""

import time
from datetime import timedelta

from mail import messages, outbox
from plumbing.changefeed import KeptPosition, documents_of
from plumbing.jobs import Job
from plumbing.values import utcnow

FEED = "mail"
PIPELINE = [
    {
        "$match": {
            "ns.coll": {"$in": ["bookings", "payments"]},
            "operationType": {"$in": ["insert", "update", "replace"]},
        }
    }
]
POSITION = KeptPosition(FEED, PIPELINE)  # in feed_positions
TOLD = {"confirmed": messages.booking_confirmed, "cancelled": messages.booking_cancelled}
RECEIPTS = ("booking", "change", "fee")  # what a payment was for, when it took money
PASS_SECONDS = 2.0
STALE_AFTER = timedelta(hours=24)


def _status(change):
    if change["operationType"] == "update":
        return change["updateDescription"]["updatedFields"].get("status")
    return (change.get("fullDocument") or {}).get("status")


def _stale(when, now):
    return when is not None and when < now - STALE_AFTER


def tell(db, booking, status, public_url, now=None):
    """The write of the message for a booking that became `status` (None: nothing to
    write), unless that happened more than STALE_AFTER ago (a history written in bulk,
    like the demo's, or a feed catching up after a long outage: nobody wants last
    week's confirmation now)."""
    if booking is None or not booking.get("guest"):
        return None
    if _stale(booking.get(f"{status}_at"), now or utcnow()):
        return None
    message = TOLD[status](db, booking, public_url)
    return outbox.about_booking(
        f"booking:{booking['_id']}:{status}", booking, f"booking.{status}", message
    )


def changed(db, booking, modified_at, public_url, now=None):
    """The write of the notice of a booking's change (once per change: its time names
    it)."""
    if booking is None or not booking.get("guest") or _stale(modified_at, now or utcnow()):
        return None
    message = messages.booking_changed(db, booking, public_url)
    stamp = modified_at.strftime("%Y%m%dT%H%M%S.%f")
    return outbox.about_booking(
        f"booking:{booking['_id']}:changed:{stamp}", booking, "booking.modified", message
    )


def receipt(db, payment, booking, public_url, now=None):
    """The write of the receipt of a payment that took money (once)."""
    if payment is None or payment.get("purpose", "booking") not in RECEIPTS or booking is None:
        return None
    if _stale(payment.get("_updated"), now or utcnow()):
        return None
    message = messages.payment_receipt(db, payment, booking, public_url)
    return outbox.about_booking(
        f"payment:{payment['_id']}:receipt", booking, "payment.receipt", message
    )


def _intents(changes):
    """What each change asks for, in commit order: (what, id, detail)."""
    intents = []
    for change in changes:
        status, key = _status(change), change["documentKey"]["_id"]
        updated = (change.get("updateDescription") or {}).get("updatedFields", {})
        if change["ns"]["coll"] == "payments":
            if status == "succeeded":
                intents.append(("receipt", key, None))
            continue
        if "modified_at" in updated:
            intents.append(("changed", key, updated["modified_at"]))
        if status in TOLD:
            intents.append(("tell", key, status))
    return intents


def write(db, changes, public_url, now=None):
    """The messages a pass's changes call for, written in one bulk: the bookings and
    payments they concern read in one command each, their hotels, guests and room
    types in one more each (messages.Lookups). Returns how many were new."""
    intents = _intents(changes)
    if not intents:
        return 0
    payments = documents_of(db, changes, ("payments",))["payments"]
    paid_for = [p["booking"] for p in payments.values() if p.get("booking")]
    bookings = documents_of(db, changes, ("bookings",), {"bookings": paid_for})["bookings"]
    lookups = messages.Lookups(db)
    lookups.prefetch(bookings.values())
    writes = []
    for what, key, detail in intents:
        if what == "receipt":
            payment = payments.get(key)
            booking = bookings.get(payment.get("booking")) if payment else None
            writes.append(receipt(lookups, payment, booking, public_url, now))
        elif what == "changed":
            writes.append(changed(lookups, bookings.get(key), detail, public_url, now))
        else:
            writes.append(tell(lookups, bookings.get(key), detail, public_url, now))
    return outbox.enqueue_all(db, writes)


def drain(db, public_url):
    """Apply every bookings change since the kept token; returns how many messages were
    written."""
    stream = POSITION.open(db)
    if stream is None:
        POSITION.skip(db)  # from now on
        return 0
    changes, deadline, empty = [], time.monotonic() + PASS_SECONDS, 0
    with stream:
        while time.monotonic() < deadline:
            change = stream.try_next()
            if change is None:
                # Two empty reads in a row: caught up (an empty read whose position
                # moved on may only mean the server skipped writes this feed ignores).
                empty += 1
                if empty == 2:
                    break
                continue
            empty = 0
            changes.append(change)
        written = write(db, changes, public_url)
        # Saved once a pass, after its messages: a crash before re-applies the pass, and
        # the messages' ids make that harmless.
        if stream.resume_token is not None:
            POSITION.save(db, stream.resume_token)
    return written


def _follow(context):
    written = drain(context.db, context.services["mail"].public_url)
    return f"mail: {written} written" if written else None


JOBS = (Job("mail feed", every=2, run=_follow),)
