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
from plumbing.changefeed import KeptPosition
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


def tell(db, booking_id, status, public_url, now=None):
    """Write the message for a booking that became `status` (once), unless that happened
    more than STALE_AFTER ago (a history written in bulk, like the demo's, or a feed
    catching up after a long outage: nobody wants last week's confirmation now)."""
    booking = db.bookings.find_one({"_id": booking_id})
    if booking is None or not booking.get("guest"):
        return False
    when = booking.get(f"{status}_at")
    if when is not None and when < (now or utcnow()) - STALE_AFTER:
        return False
    message = TOLD[status](db, booking, public_url)
    return outbox.enqueue_about(
        db, f"booking:{booking_id}:{status}", booking, f"booking.{status}", message
    )


def changed(db, booking_id, modified_at, public_url, now=None):
    """Write the notice of a booking's change (once per change: its time names it)."""
    booking = db.bookings.find_one({"_id": booking_id})
    if booking is None or not booking.get("guest"):
        return False
    if modified_at < (now or utcnow()) - STALE_AFTER:
        return False
    message = messages.booking_changed(db, booking, public_url)
    return outbox.enqueue_about(
        db,
        f"booking:{booking_id}:changed:{modified_at.strftime('%Y%m%dT%H%M%S.%f')}",
        booking,
        "booking.modified",
        message,
    )


def receipt(db, payment_id, public_url, now=None):
    """Write the receipt of a payment that took money (once)."""
    payment = db.payments.find_one({"_id": payment_id})
    if payment is None or payment.get("purpose", "booking") not in RECEIPTS:
        return False
    if payment.get("_updated") and payment["_updated"] < (now or utcnow()) - STALE_AFTER:
        return False
    booking = db.bookings.find_one({"_id": payment["booking"]})
    if booking is None:
        return False
    message = messages.payment_receipt(db, payment, booking, public_url)
    return outbox.enqueue_about(
        db, f"payment:{payment_id}:receipt", booking, "payment.receipt", message
    )


def drain(db, public_url):
    """Apply every bookings change since the kept token; returns how many messages were
    written."""
    stream = POSITION.open(db)
    if stream is None:
        POSITION.skip(db)  # from now on
        return 0
    written, deadline, empty = 0, time.monotonic() + PASS_SECONDS, 0
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
            status, key = _status(change), change["documentKey"]["_id"]
            updated = (change.get("updateDescription") or {}).get("updatedFields", {})
            if change["ns"]["coll"] == "bookings" and "modified_at" in updated:
                written += changed(db, key, updated["modified_at"], public_url)
            if change["ns"]["coll"] == "payments":
                if status == "succeeded" and receipt(db, key, public_url):
                    written += 1
            elif status in TOLD and tell(db, key, status, public_url):
                written += 1
        # Saved once a pass, after its messages: a crash before re-applies the pass, and
        # the messages' ids make that harmless.
        if stream.resume_token is not None:
            POSITION.save(db, stream.resume_token)
    return written


def _follow(context):
    written = drain(context.db, context.services["mail"].public_url)
    return f"mail: {written} written" if written else None


JOBS = (Job("mail feed", every=2, run=_follow),)
