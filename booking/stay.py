"""The stay at the front desk: a confirmed booking whose guest never arrived is a no-show.

Recorded by the hotel's managers or an admin from the arrival day on (in the hotel's
time zone), guarded by the etag they read and the status, in one transaction. A no-show
keeps its nights (they were held for the guest) and what was paid; a pay-at-the-hotel
booking owes the fee its policy keeps, charged to its guarantee once this commits
(payments/fees.py).
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


def no_show(client, db, original, etag, now):
    """Mark the confirmed booking a no-show; the fields it set."""
    if etag != original["_etag"]:
        raise Refusal(412, "the booking changed since you read it; fetch it again")
    if original["status"] != "confirmed":
        raise Refusal(
            409,
            f"this booking is {original['status']}; only a confirmed booking can be a no-show",
        )
    timezone = original["cancellation_policy"].get("timezone") or "UTC"
    arrival = Day.of(original["check_in"])
    if local_today(timezone, now) < arrival:
        raise Refusal(
            409,
            f"a no-show is recorded from the arrival day on: {arrival.isoformat()} in {timezone}",
        )
    changes = {"status": "no_show", "no_show_at": now, **stamp(now)}
    fee = fee_due(original, now, "no_show_fee")
    if fee:
        changes["fee"] = fee
    guard = {
        "_id": original["_id"],
        "guest": original["guest"],
        "status": "confirmed",
        "_etag": original["_etag"],
    }
    if transition(client, db, guard, changes, release=False) is None:
        raise Refusal(412, "the booking changed since you read it; fetch it again")
    return changes
