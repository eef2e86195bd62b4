"""The stay at the front desk: check-in, check-out, and the no-show of a guest who never
came.

confirmed -> checked_in -> checked_out, or confirmed -> no_show. Each step is recorded
by the hotel's managers or an admin, guarded by the etag they read and the status, in
one transaction. Check-in and no-show wait for the arrival day in the hotel's time zone
(a 409 names it); check-out follows a check-in. The nights stay taken throughout (they
were the guest's), and the KPIs count them sold. A no-show keeps what was paid; a
pay-at-the-hotel booking owes the fee its policy keeps, charged to its guarantee once
this commits (payments/fees.py).
"""

from bson import ObjectId

from booking.reservations import fee_due, transition
from catalogue.rules import managed_hotel_ids
from plumbing.errors import Refusal
from plumbing.values import Day, local_today, stamp


def front_desk_booking(db, booking_id, user):
    """The booking if the user runs its hotel (a manager of it, or an admin): 404 for a
    booking they cannot see, 403 for one they see but do not run (their own stay)."""
    booking = (
        db.bookings.find_one({"_id": ObjectId(booking_id)})
        if ObjectId.is_valid(booking_id)
        else None
    )
    if booking is None:
        raise Refusal(404, f"booking {booking_id} not found")
    if user["role"] == "admin":
        return booking
    runs = user["role"] == "manager" and booking["hotel"] in managed_hotel_ids(db, user)
    if runs:
        return booking
    if booking["guest"] == user["_id"]:
        raise Refusal(403, "only the hotel's managers and admins record a stay's arrival")
    raise Refusal(404, f"booking {booking_id} not found")


def check_in(client, db, original, etag, now):
    """Check the confirmed booking's guest in, from the arrival day on."""
    _fresh(original, etag)
    _arrived(original, now, "a guest is checked in")
    return _step(
        client, db, original, etag, now, "confirmed", "checked_in", {"checked_in_at": now}
    )


def check_out(client, db, original, etag, now):
    """Check the checked-in guest out."""
    fields = {"checked_out_at": now}
    return _step(client, db, original, etag, now, "checked_in", "checked_out", fields)


def no_show(client, db, original, etag, now):
    """Mark the confirmed booking a no-show, from the arrival day on; the fields it set."""
    _fresh(original, etag)
    _arrived(original, now, "a no-show is recorded")
    fields = {"no_show_at": now}
    fee = fee_due(original, now, "no_show_fee")
    if fee:
        fields["fee"] = fee
    return _step(client, db, original, etag, now, "confirmed", "no_show", fields)


def _fresh(booking, etag):
    if etag != booking["_etag"]:
        raise Refusal(412, "the booking changed since you read it; fetch it again")


def _arrived(booking, now, what):
    """409 before the arrival day in the hotel's time zone, naming the day."""
    timezone = booking["cancellation_policy"].get("timezone") or "UTC"
    arrival = Day.of(booking["check_in"])
    if local_today(timezone, now) < arrival:
        raise Refusal(409, f"{what} from the arrival day on: {arrival.isoformat()} in {timezone}")


STEP_WORDS = {"checked_in": "checked in", "checked_out": "checked out", "no_show": "a no-show"}


def _step(client, db, original, etag, now, source, target, fields):
    """Move the booking from `source` to `target` with `fields`, guarded by its status
    and the etag the caller read; the fields it set."""
    _fresh(original, etag)
    if original["status"] != source:
        raise Refusal(
            409,
            f"this booking is {original['status']}; only a {source} booking can be "
            f"{STEP_WORDS[target]}",
        )
    changes = {"status": target, **fields, **stamp(now)}
    guard = {
        "_id": original["_id"],
        "guest": original["guest"],
        "status": source,
        "_etag": original["_etag"],
    }
    if transition(client, db, guard, changes, release=False) is None:
        raise Refusal(412, "the booking changed since you read it; fetch it again")
    return changes
