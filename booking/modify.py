"""Changing a booking: new dates, room type, plan, party or rooms for a pending or
confirmed booking, in one transaction, or nothing changes.

The old nights are released and the new ones taken in the same transaction as the
booking's own update, guarded by the etag the guest saw (If-Match) and its status: two
changes, or a change racing a cancellation, the sweeper or a payment, apply once. A new
night that cannot be had aborts everything with a 409 naming it; the booking keeps its
nights, including the ones the new stay shares with the old.

Money, for a confirmed prepaid booking (a pending one is simply re-priced before it is
paid, a pay-at-the-hotel one moves no money), through the payments area's side of a
change (payments/changes.py, handed in by the route):
- dearer: the difference is charged with the `payment_method` sent, before the
  transaction; a decline is a 402 and changes nothing; if the transaction then fails,
  the charge is refunded in full and kept as a refunded payment. The charge is a payment
  with `purpose: "change"`.
- cheaper: the difference is refunded by the booking's policy snapshot, as a
  cancellation of that much would be (in full until the free-cancellation deadline, less
  the penalty after it, nothing for a non-refundable plan).
"""

from bson import ObjectId

from booking import reservations
from booking.reservations import PENDING
from plumbing import logs, transactions
from plumbing.context import answer_cache
from plumbing.errors import Refusal
from plumbing.values import Day, money, quantize, stamp, to_decimal
from reporting.changes import record_stay

ROOM_FIELDS = ("room_type", "rate_plan", "adults", "children")
CHANGEABLE = ("check_in", "check_out", "rooms", *ROOM_FIELDS)
# What a change rewrites on the booking (the rest - guest, hotel, code, hold - stays).
REWRITTEN = (
    "check_in",
    "check_out",
    "rooms",
    "room_type",
    "rate_plan",
    "rate_plan_terms",
    "adults",
    "children",
    "nights",
    "nightly_prices",
    "price_breakdown",
    "total_price",
    "tax_terms",
    "cancellation_policy",
    "penalty_kept",
)


def requested(original, body):
    """The booking body the change asks for: the original's stay and rooms with the
    changed fields applied."""
    unknown = sorted(set(body) - {*CHANGEABLE, "payment_method"})
    if unknown:
        raise Refusal(
            422,
            "a change may set " + ", ".join(CHANGEABLE) + " (and payment_method)",
            {field: "cannot be changed; only the stay and the rooms can" for field in unknown},
        )
    if not set(body) & set(CHANGEABLE):
        raise Refusal(422, "nothing to change", {"check_in": "send the fields to change"})
    rooms = original.get("rooms") or reservations.rooms_of(original)
    several = len(rooms) > 1
    room_fields = [f for f in ROOM_FIELDS if f in body]
    if room_fields and ("rooms" in body or several):
        raise Refusal(
            422,
            "this booking names its rooms in rooms: send rooms with every room as it should be",
            {field: "give it inside each of rooms[] instead" for field in room_fields},
        )
    wanted = {
        "check_in": body.get("check_in", Day.of(original["check_in"]).isoformat()),
        "check_out": body.get("check_out", Day.of(original["check_out"]).isoformat()),
    }
    if "rooms" in body:
        wanted["rooms"] = body["rooms"]
    elif several:
        wanted["rooms"] = [_as_request(room) for room in rooms]
    else:
        wanted.update(_as_request(rooms[0]))
        wanted.update({f: body[f] for f in room_fields})
        if "room_type" in body and "rate_plan" not in body:
            del wanted["rate_plan"]  # the new room type's first plan
    return wanted


def _as_request(room):
    request = {
        "room_type": str(room["room_type"]),
        "adults": room.get("adults", 1),
        "children": room.get("children", 0),
    }
    if room.get("rate_plan"):
        request["rate_plan"] = room["rate_plan"]
    return request


def changeable(db, booking_id, user, now):
    """The caller's booking if it can change now; 404 for someone else's, 409 otherwise."""
    owner = {} if user["role"] == "admin" else {"guest": user["_id"]}
    booking = (
        db.bookings.find_one({"_id": ObjectId(booking_id), **owner})
        if ObjectId.is_valid(booking_id)
        else None
    )
    if booking is None:
        raise Refusal(404, f"booking {booking_id} not found")
    if booking["status"] not in (PENDING, "confirmed"):
        raise Refusal(
            409,
            f"this booking is {booking['status']}; only pending_payment or confirmed "
            "bookings can be changed",
        )
    if booking["status"] == PENDING and booking["hold_expires_at"] <= now:
        raise Refusal(409, "this booking's hold has expired; book again")
    return booking


def plan(db, original, wanted, now):
    """The changed booking as prepare() makes a new one (same checks, same plans), its
    fields but prices; the hotel may not change."""
    changed = dict(wanted)
    guest = {"_id": original["guest"]}
    reservations.prepare(db, changed, guest, now, 0, check_free=False)
    if changed["hotel"] != original["hotel"]:
        raise Refusal(
            422,
            "a booking changes within its hotel; book the other hotel anew",
            {"room_type": "must be a room type of the booked hotel"},
        )
    if changed["payment"] != original.get("payment", "prepay"):
        raise Refusal(
            422,
            f"this booking is paid {_PAID[original.get('payment', 'prepay')]}; a change "
            "keeps that: choose a rate plan paid the same way, or book anew",
            {"rate_plan": f"must be a plan paid {_PAID[original.get('payment', 'prepay')]}"},
        )
    return changed


_PAID = {"prepay": "in advance", "at_hotel": "at the hotel"}


def estimate(db, changed, original):
    """The new total from a read outside the transaction: what a confirmed booking's
    guest is charged before it. The transaction prices again and must agree."""
    rows = {}
    for room_type_id in reservations.room_counts(changed):
        found, _missing = reservations.stay_rows(db, changed, room_type=room_type_id)
        rows[room_type_id] = found
    stay = reservations.nights(Day.of(changed["check_in"]), Day.of(changed["check_out"]))
    lacking = sorted(
        {night for room_type_id, found in rows.items() for night in stay if night not in found}
    )
    if lacking:
        raise reservations.not_available(lacking)
    priced = dict(changed, rooms=[dict(r) for r in changed["rooms"]])
    reservations.price_rooms(priced, rows)
    return to_decimal(priced["total_price"])


def change(client, db, money_of_change, original, wanted, etag, now):
    """Apply a change; returns (the booking's new fields, what money moved).

    `money_of_change` takes and gives back the difference (payments/changes.py builds it
    with the card and the client's Idempotency-Key): `charge(booking, amount)` -> the
    payment, not yet written (a decline is a 402 and changes nothing);
    `give_back(payment)` refunds a charge whose change failed; `refund(booking, amount,
    key, now)` refunds a cheaper change. Booking knows the rules, payments the money."""
    if etag != original["_etag"]:
        raise Refusal(412, "the booking changed since you read it; fetch it again")
    changed = plan(db, original, wanted, now)
    old_total = to_decimal(original["total_price"])
    currency = original["currency"]
    confirmed = original["status"] == "confirmed"
    # Paid at the hotel: a change re-prices what the guest pays there; no money moves now.
    prepaid = confirmed and original.get("payment") != "at_hotel"
    charge = None
    if confirmed:
        # Inside the penalty window, what cancelling now would keep stays kept, whatever
        # the new dates' own window says: a change cannot dodge a penalty.
        kept = kept_if_cancelled(original, now)
        if kept > 0 or "penalty_kept" in original:
            changed["penalty_kept"] = money(kept, currency)
        new_total = estimate(db, changed, original) if prepaid else old_total
        if new_total > old_total:
            charge = money_of_change.charge(original, new_total - old_total)

    def unit(session):
        guard = {
            "_id": original["_id"],
            "guest": original["guest"],
            "status": original["status"],
            "_etag": original["_etag"],
        }
        before = db.bookings.find_one(guard, session=session)
        if before is None:
            raise Refusal(412, "the booking changed since you read it; fetch it again")
        reservations._release(db, session, before)
        rows = reservations.take_stay(db, session, changed)
        reservations.price_rooms(changed, rows)
        fields = {f: changed[f] for f in REWRITTEN if f in changed}
        if charge is not None and to_decimal(changed["total_price"]) - old_total != to_decimal(
            charge["amount"]
        ):
            raise Refusal(409, "a night's price changed meanwhile; fetch the booking and retry")
        new_total = to_decimal(changed["total_price"])
        moved = {
            "charged": charge["amount"] if charge is not None else money(0, currency),
            "refunded": money(
                change_refund(original, old_total - new_total, now)
                if charge is None and prepaid and new_total < old_total
                else 0,
                currency,
            ),
        }
        db.bookings.update_one(
            guard,
            {"$set": {**fields, "last_change": moved, "modified_at": now, **stamp(now)}},
            session=session,
        )
        if confirmed:
            record_stay(db, before, session=session)
            record_stay(db, {**before, **fields}, session=session)
        if charge is not None:
            db.payments.insert_one(charge, session=session)
        return fields

    try:
        fields = transactions.run(client, unit)
    except Exception:  # a refusal, or the database failing: the charge goes back
        if charge is not None:
            money_of_change.give_back(charge)
        raise
    # Committed: the nights it left and the nights it took answer differently now.
    answer_cache().bump_bookings(db, [original, {**original, **fields}])
    moved = {"charged": money(0, currency), "refunded": money(0, currency)}
    if charge is not None:
        moved["charged"] = charge["amount"]
        moved["payment"] = charge["_id"]
    elif prepaid and to_decimal(fields["total_price"]) < old_total:
        refund = change_refund(original, old_total - to_decimal(fields["total_price"]), now)
        money_of_change.refund(
            original, refund, f"change-{original['_id']}-{original['_etag']}", now
        )
        moved["refunded"] = money(refund, currency)
    logs.event(
        "booking.modified",
        booking=str(original["_id"]),
        check_in=Day.of(fields["check_in"]).isoformat(),
        check_out=Day.of(fields["check_out"]).isoformat(),
        total_price=str(fields["total_price"]),
        charged=str(moved["charged"]),
        refunded=str(moved["refunded"]),
    )
    return fields, moved


def change_refund(original, difference, now):
    """What a cheaper change gives back: the difference as a cancellation of that much
    would refund it, by the booking's policy snapshot, and never so much that what stays
    paid falls below what cancelling now would keep."""
    refund = reservations.room_refund(original["cancellation_policy"], original, difference, now)
    paid = to_decimal(original["total_price"])
    return max(
        min(refund, paid - kept_if_cancelled(original, now)), quantize(0, original["currency"])
    )


def kept_if_cancelled(booking, now):
    """What cancelling the confirmed booking now would keep of its total."""
    return to_decimal(booking["total_price"]) - reservations.refund_due(booking, now)
