"""Holds: a pending booking keeps its nights until `hold_expires_at`; then it expires and
its nights return to sale, even if no request ever touches it again.

The worker (a thread in `make run`, `flask --app run worker` in production) runs `JOBS`:
`expire_due` every 5 seconds. Each expiry is a guarded transition from
pending_payment in one transaction with the release of its nights, so it happens once
and never to a booking that was paid meanwhile.
"""

from booking.reservations import PENDING, transition
from plumbing import logs
from plumbing.context import answers_to_bump
from plumbing.jobs import Job
from plumbing.values import stamp, utcnow


def expire_due(client, db, now=None, limit=500, on_expired=None):
    """Expire every pending booking whose hold has passed; returns how many.
    `on_expired(booking)` is called after each committed expiry."""
    now = now or utcnow()
    due = db.bookings.find(
        {"status": PENDING, "hold_expires_at": {"$lte": now}}, {"guest": 1}, limit=limit
    )
    expired = 0
    for booking in list(due):
        changed = transition(
            client,
            db,
            {
                "_id": booking["_id"],
                "guest": booking["guest"],
                "status": PENDING,
                "hold_expires_at": {"$lte": now},
            },
            {"status": "expired", "expired_at": now, **stamp(now)},
        )
        expired += changed is not None
        if changed is not None:
            logs.event("booking.expired", booking=str(booking["_id"]))
        if changed is not None:
            answers_to_bump().bump_bookings(db, [changed])  # its nights sell again
        if changed is not None and on_expired is not None:
            on_expired(changed)
    return expired


def _sweep(context):
    expired = expire_due(context.db.client, context.db)
    return f"hold sweeper: expired {expired} bookings" if expired else None


JOBS = (Job("hold sweep", every=5, run=_sweep),)
