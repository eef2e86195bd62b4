"""A guest whose hold is about to lapse is told, a few minutes before, once.

The `hold reminders` job finds the pending bookings whose hold ends within
REMIND_MINUTES (index `status_hold`) and writes each one's reminder under an id naming
the booking and its hold, so every pass finds the same ones and writes nothing twice;
a hold that ends sooner than a pass can tell gets none.
"""

from datetime import timedelta

from mail import messages, outbox
from plumbing.jobs import Job
from plumbing.values import utcnow

REMIND_MINUTES = 5
PENDING = "pending_payment"


def remind(db, public_url, now=None):
    """Write the reminders due now; returns how many bookings are concerned."""
    now = now or utcnow()
    due = db.bookings.find(
        {
            "status": PENDING,
            "hold_expires_at": {"$gt": now, "$lte": now + timedelta(minutes=REMIND_MINUTES)},
        },
        limit=500,
    )
    found = 0
    for booking in due:
        message = messages.hold_expiring(db, booking, public_url, now)
        stamp = booking["hold_expires_at"].strftime("%Y%m%dT%H%M%S")
        found += outbox.enqueue_about(
            db, f"booking:{booking['_id']}:hold:{stamp}", booking, "booking.hold_expiring", message
        )
    return found


def _remind(context):
    remind(context.db, context.services["mail"].public_url)


JOBS = (Job("hold reminders", every=30, run=_remind),)
