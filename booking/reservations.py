"""Bookings: the rules, reserving every night or none, holds that expire, cancellation.

Every state change is a guarded conditional update inside a MongoDB transaction together
with the inventory it moves: never check-then-write in Python. Concurrent transactions
touching the same rows conflict and are retried by the driver, so `booked` never passes
`allotment` and a booking's nights are released at most once.
"""

import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from catalogue.rules import managed_hotel_ids
from plumbing import sharding, transactions
from plumbing.errors import Refusal
from plumbing.values import Day, money, nights, quantize, stamp, to_decimal, utcnow
from reporting.changes import record_stay

MAX_NIGHTS = 30
MAX_DAYS_AHEAD = 365
MAX_PENDING_PER_GUEST = 3
PENDING = "pending_payment"
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


def confirmation_code():
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def hotel_today(hotel, now):
    """Today's date where the hotel is: a stay 'in the past' is judged locally."""
    tz = ZoneInfo(hotel.get("timezone") or "UTC")
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)
    return Day(local.year, local.month, local.day)


def check_stay(check_in, check_out, today):
    """The date rules shared by bookings and searches; 422 naming the field."""
    if check_in < today:
        raise Refusal(
            422, f"check_in {check_in} is in the past", {"check_in": "must not be in the past"}
        )
    if check_out <= check_in:
        raise Refusal(
            422, "check_out must be after check_in", {"check_out": "must be after check_in"}
        )
    if (check_out - check_in).days > MAX_NIGHTS:
        raise Refusal(
            422,
            f"a stay may last at most {MAX_NIGHTS} nights",
            {"check_out": f"at most {MAX_NIGHTS} nights after check_in"},
        )
    if (check_in - today).days > MAX_DAYS_AHEAD:
        raise Refusal(
            422,
            f"check_in may be at most {MAX_DAYS_AHEAD} days ahead",
            {"check_in": f"at most {MAX_DAYS_AHEAD} days from today"},
        )


def check_party(adults, children, room_type):
    issues = {}
    if adults > room_type["max_adults"]:
        issues["adults"] = f"this room type sleeps at most {room_type['max_adults']} adults"
    if children > room_type.get("max_children", 0):
        issues["children"] = (
            f"this room type takes at most {room_type.get('max_children', 0)} children"
        )
    if issues:
        raise Refusal(422, "the party does not fit this room type", issues)


def prepare(db, booking, user, now, hold_minutes):
    """Check the request's own rules and fill the server-owned fields but the prices."""
    room_type = db.room_types.find_one({"_id": booking["room_type"]})
    hotel = db.hotels.find_one({"_id": room_type["hotel"]}) if room_type else None
    if hotel is None:
        raise Refusal(422, "no such room type", {"room_type": "no room type has this id"})
    if hotel.get("status", "active") != "active":
        raise Refusal(409, f"{hotel['name']} is not taking bookings")
    check_in, check_out = Day.of(booking["check_in"]), Day.of(booking["check_out"])
    check_stay(check_in, check_out, hotel_today(hotel, now))
    check_party(booking.get("adults", 1), booking.get("children", 0), room_type)
    booking.update(check_in=check_in, check_out=check_out)
    # A cheap read first: when the rooms are gone, the answer is a 409 without a
    # transaction. It decides nothing; the guarded writes in reserve_nights do.
    _rows, missing = stay_rows(db, booking, city=hotel["address"]["city"])
    if missing:
        raise not_available(missing)
    policy = hotel.get("cancellation_policy") or {"free_until_hours": 0, "penalty_percent": 100}
    booking.update(
        check_in=check_in,
        check_out=check_out,
        guest=user["_id"],
        hotel=hotel["_id"],
        city=hotel["address"]["city"],
        status=PENDING,
        nights=(check_out - check_in).days,
        currency=hotel.get("currency", "EUR"),
        hold_expires_at=now + timedelta(minutes=hold_minutes),
        confirmation_code=confirmation_code(),
        cancellation_policy={
            "free_until_hours": policy["free_until_hours"],
            "penalty_percent": policy["penalty_percent"],
            "timezone": hotel.get("timezone", "UTC"),
            "check_in_time": hotel.get("check_in_time", "15:00"),
        },
    )
    return booking


def _stay_rows(db, booking, session=None, city=None):
    """The filter of a stay's inventory rows: the shard-key prefix (city, room type)
    and the nights, served by the (city, room_type, date) index. The city is the
    hotel's as it is now (inventory rows follow a hotel that moves)."""
    city = city or booking.get("city")
    if city is None:  # a booking made before bookings carried their city
        hotel = db.hotels.find_one({"_id": booking["hotel"]}, {"address.city": 1}, session=session)
        city = hotel["address"]["city"] if hotel else None
    return {
        "city": city,
        "room_type": booking["room_type"],
        "date": {"$gte": booking["check_in"], "$lt": booking["check_out"]},
    }


def stay_rows(db, booking, session=None, city=None):
    """The stay's inventory rows by night, and the nights that cannot be sold (missing,
    closed or full)."""
    found = db.inventory.find(_stay_rows(db, booking, session, city), session=session)
    rows = {Day.of(r["date"]): r for r in found}
    missing = [
        night
        for night in nights(Day.of(booking["check_in"]), Day.of(booking["check_out"]))
        if night not in rows
        or rows[night].get("closed")
        or rows[night]["booked"] >= rows[night]["allotment"]
    ]
    return rows, missing


def not_available(missing):
    return Refusal(
        409,
        "not available on " + ", ".join(n.isoformat() for n in missing),
        {"nights": [n.isoformat() for n in missing]},
    )


def reserve_nights(db, session, bookings, now):
    """Inside the booking insert's transaction: take one room on every night, or fail."""
    for booking in bookings:
        # Touching the guest serializes their concurrent bookings, so the pending cap
        # cannot be overrun by two requests that both counted two.
        db.users.update_one(
            {"_id": booking["guest"]}, {"$inc": {"booking_seq": 1}}, session=session
        )
        pending = db.bookings.count_documents(
            {"guest": booking["guest"], "status": PENDING, "hold_expires_at": {"$gt": now}},
            session=session,
        )
        if pending >= MAX_PENDING_PER_GUEST:
            raise Refusal(
                409,
                f"you already have {pending} bookings pending payment; pay for or cancel "
                f"one before booking again (at most {MAX_PENDING_PER_GUEST})",
            )
        stay = nights(booking["check_in"], booking["check_out"])
        rows, missing = stay_rows(db, booking, session)
        arrival = rows.get(Day.of(booking["check_in"]))
        if arrival and arrival.get("min_stay", 1) > len(stay):
            raise Refusal(
                422,
                f"arrivals on {booking['check_in']} require a stay of at least "
                f"{arrival['min_stay']} nights",
                {"check_out": f"at least {arrival['min_stay']} nights after check_in"},
            )
        if missing:
            raise not_available(missing)
        _rows, missing = take_nights(db, session, booking, rows)
        if missing:
            raise not_available(missing)
        prices = [(night, rows[night]["price"].to_decimal()) for night in stay]
        currency = booking["currency"]
        booking["nightly_prices"] = [
            {"date": night, "price": money(price, currency)} for night, price in prices
        ]
        booking["total_price"] = money(sum((p for _, p in prices), Decimal(0)), currency)


def take_nights(db, session, booking, rows=None):
    """Take one room on every night of the stay, inside the caller's transaction.

    Returns (rows by night, []) or (None, the nights that cannot be had). The rows (read
    here unless the caller passes the ones it read in this transaction) are found
    through the (room_type, date) index; each is then incremented by _id with a
    guard (not closed, booked below the allotment read in this snapshot). A racing
    transaction that moved the same row makes this one conflict and retry. The guard is
    not one $expr over the range: the embedded server answers such a filter with a
    collection scan (seconds on a year of inventory), while this shape is fast on both.
    """
    if rows is None:
        rows, missing = stay_rows(db, booking, session)
        if missing:
            return None, missing
    stay = nights(Day.of(booking["check_in"]), Day.of(booking["check_out"]))
    for night in stay:
        row = rows[night]
        taken = db.inventory.update_one(
            {
                "_id": row["_id"],
                **sharding.prefix_of("inventory", row),
                "closed": False,
                "allotment": row["allotment"],
                "booked": {"$lt": row["allotment"]},
            },
            {"$inc": {"booked": 1}, "$set": stamp()},
            session=session,
        )
        if taken.matched_count != 1:
            return None, [night]
    return rows, []


def _release(db, session, booking):
    # Exactly once by construction: only the guarded status transition calls this.
    released = db.inventory.update_many(
        _stay_rows(db, booking, session),
        {"$inc": {"booked": -1}, "$set": stamp()},
        session=session,
    )
    return released.modified_count


def transition(client, db, guard, changes, release=True):
    """Move one booking guarded by `guard`; give its nights back in the same transaction.

    Returns the booking as it was before, or None when the guard did not match.
    """

    def unit(session):
        # find + update_one rather than find_one_and_update: the embedded server plans
        # findAndModify without the _id fast path (about a second on a large collection).
        before = db.bookings.find_one(guard, session=session)
        if before is None:
            return None
        moved = db.bookings.update_one(guard, {"$set": changes}, session=session)
        if moved.matched_count != 1:
            return None
        if release:
            _release(db, session, before)
        if before["status"] == "confirmed":
            record_stay(db, before, session=session)
        return before

    return transactions.run(client, unit)


def refund_due(booking, now):
    """What cancelling a confirmed booking now refunds, by its policy snapshot.

    The whole total until `free_until_hours` before check-in (at the hotel's
    check_in_time, in its timezone); after that the total less penalty_percent,
    rounded half-up to the currency's minor unit.
    """
    policy = booking["cancellation_policy"]
    total = to_decimal(booking["total_price"])
    if now < free_cancellation_deadline(booking):
        return quantize(total, booking["currency"])
    kept = total * Decimal(policy["penalty_percent"]) / Decimal(100)
    return quantize(total - kept, booking["currency"])


def free_cancellation_deadline(booking):
    """The UTC instant until which cancelling is free."""
    policy = booking["cancellation_policy"]
    hours, minutes = (int(x) for x in policy.get("check_in_time", "15:00").split(":"))
    check_in = Day.of(booking["check_in"])
    local = datetime(
        check_in.year,
        check_in.month,
        check_in.day,
        hours,
        minutes,
        tzinfo=ZoneInfo(policy.get("timezone") or "UTC"),
    )
    arrival_utc = local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return arrival_utc - timedelta(hours=policy["free_until_hours"])


def cancel(client, db, original, now=None):
    """Cancel a pending or confirmed booking and free its nights; the fields it set.

    Guarded on the status and the etag the client saw, so two cancellations, or a
    cancellation racing the expiry sweeper or a payment, change it once.
    """
    now = now or utcnow()
    changes = {"status": "cancelled", "cancelled_at": now}
    if original.get("status") == "confirmed":
        changes["refund_amount"] = money(refund_due(original, now), original["currency"])
    guard = {
        "_id": original["_id"],
        "guest": original["guest"],
        "status": {"$in": [PENDING, "confirmed"]},
        "_etag": original["_etag"],
    }
    if transition(client, db, guard, changes) is None:
        current = db.bookings.find_one({"_id": original["_id"]}, {"status": 1})
        status = current["status"] if current else "gone"
        if status in (PENDING, "confirmed"):
            raise Refusal(412, "the booking changed since you read it; fetch it again")
        raise Refusal(
            409,
            f"this booking is {status}; only pending_payment or confirmed bookings "
            "can be cancelled",
        )
    return changes


def visible_to(db, user):
    """The filter that scopes bookings (and payments, which carry guest and hotel too) to
    what a user may see: their own; a manager also their hotels'; an admin everything
    (None). Anything outside it answers 404, never 403."""
    if user["role"] == "admin":
        return None
    if user["role"] == "manager":
        return {"$or": [{"guest": user["_id"]}, {"hotel": {"$in": managed_hotel_ids(db, user)}}]}
    return {"guest": user["_id"]}
