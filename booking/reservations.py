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

from catalogue import charges, rate_plans
from catalogue.rules import managed_hotel_ids
from domain.vocabulary import MAX_NIGHTS, MAX_ROOMS
from plumbing import logs, sharding, transactions
from plumbing.context import answer_cache
from plumbing.errors import Refusal
from plumbing.values import (
    Day,
    local_today,
    minor_units,
    money,
    nights,
    quantize,
    stamp,
    to_decimal,
    to_minor,
    utcnow,
)
from reporting.changes import record_stay

MAX_DAYS_AHEAD = 365
MAX_PENDING_PER_GUEST = 3
PENDING = "pending_payment"
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


def confirmation_code():
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def hotel_today(hotel, now):
    """Today's date where the hotel is: a stay 'in the past' is judged locally."""
    return local_today(hotel.get("timezone") or "UTC", now)


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


def check_party(adults, children, room_type, field=""):
    issues = {}
    if adults > room_type["max_adults"]:
        issues[field + "adults"] = (
            f"{room_type['name']} sleeps at most {room_type['max_adults']} adults"
        )
    if children > room_type.get("max_children", 0):
        issues[field + "children"] = (
            f"{room_type['name']} takes at most {room_type.get('max_children', 0)} children"
        )
    if issues:
        raise Refusal(422, "the party does not fit this room type", issues)


def requested_rooms(booking):
    """The rooms a booking body asks for: its `rooms`, or the one room of a single-room
    body (room_type, rate_plan, adults, children at the top level)."""
    if booking.get("rooms"):
        return booking["rooms"]
    return [
        {
            "room_type": booking["room_type"],
            "rate_plan": booking.get("rate_plan"),
            "adults": booking.get("adults", 1),
            "children": booking.get("children", 0),
        }
    ]


def rooms_of(booking):
    """A stored booking's rooms, also for bookings made before `rooms` existed."""
    if booking.get("rooms"):
        return booking["rooms"]
    return [
        {
            "room_type": booking["room_type"],
            "adults": booking.get("adults", 1),
            "children": booking.get("children", 0),
            "nightly_prices": booking.get("nightly_prices", []),
            "total_price": booking.get("total_price"),
            "cancellation_policy": booking.get("cancellation_policy"),
        }
    ]


def room_counts(booking):
    """{room type: rooms of it} in a booking (a family may take two of one type)."""
    counts = {}
    for room in rooms_of(booking):
        counts[room["room_type"]] = counts.get(room["room_type"], 0) + 1
    return counts


def refuse_mixed_body(booking):
    if booking.get("rooms") and any(
        field in booking for field in ("room_type", "rate_plan", "adults", "children")
    ):
        fields = [f for f in ("room_type", "rate_plan", "adults", "children") if f in booking]
        raise Refusal(
            422,
            "a booking names its rooms either in rooms or at the top level, not both",
            {field: "give it inside each of rooms[] instead" for field in fields},
        )


def choose_rooms(db, booking, now):
    """Check every requested room (one hotel, the party fits, the plan exists and its
    conditions hold) -> (hotel, [(room type, plan, room request)])."""
    refuse_mixed_body(booking)
    wanted = requested_rooms(booking)
    if len(wanted) > MAX_ROOMS:
        raise Refusal(
            422, f"a booking holds at most {MAX_ROOMS} rooms", {"rooms": f"at most {MAX_ROOMS}"}
        )
    ids = list({room["room_type"] for room in wanted})
    room_types = {r["_id"]: r for r in db.room_types.find({"_id": {"$in": ids}})}
    multi = bool(booking.get("rooms"))
    chosen, hotel = [], None
    for i, room in enumerate(wanted):
        field = f"rooms.{i}." if multi else ""
        room_type = room_types.get(room["room_type"])
        if room_type is None:
            raise Refusal(
                422, "no such room type", {field + "room_type": "no room type has this id"}
            )
        if hotel is None:
            hotel = db.hotels.find_one({"_id": room_type["hotel"]})
            if hotel is None:
                raise Refusal(422, "no such room type", {field + "room_type": "its hotel is gone"})
        elif room_type["hotel"] != hotel["_id"]:
            raise Refusal(
                422,
                "every room of a booking must be in the same hotel",
                {field + "room_type": f"is not a room type of {hotel['name']}"},
            )
        check_party(room.get("adults", 1), room.get("children", 0), room_type, field)
        try:
            plan = rate_plans.plan_named(room_type, room.get("rate_plan"))
        except Refusal as refusal:
            refusal.issues = {field + k: v for k, v in refusal.issues.items()}
            raise
        chosen.append((room_type, plan, room))
    if hotel.get("status", "active") != "active":
        raise Refusal(409, f"{hotel['name']} is not taking bookings")
    return hotel, chosen


def prepare(db, booking, user, now, hold_minutes, check_free=True):
    """Check the request's own rules and fill the server-owned fields but the prices
    (`check_free`: a cheap read first refuses rooms already gone)."""
    hotel, chosen = choose_rooms(db, booking, now)
    check_in, check_out = Day.of(booking["check_in"]), Day.of(booking["check_out"])
    today = hotel_today(hotel, now)
    check_stay(check_in, check_out, today)
    stay = (check_out - check_in).days
    currency = hotel.get("currency", "EUR")
    rooms = []
    for room_type, plan, room in chosen:
        terms = rate_plans.card_plan(plan, currency)
        rate_plans.check_conditions(terms, stay, (check_in - today).days)
        rooms.append(
            {
                "room_type": room_type["_id"],
                "rate_plan": plan["code"],
                "adults": room.get("adults", 1),
                "children": room.get("children", 0),
                "rate_plan_terms": rate_plans.snapshot(plan, currency),
                "cancellation_policy": rate_plans.policy(plan, hotel),
            }
        )
    paid = {plan.get("payment", "prepay") for _room_type, plan, _room in chosen}
    if len(paid) > 1:
        raise Refusal(
            422,
            "the rooms of one booking are paid the same way: all prepaid or all at the hotel",
            {"rooms": "choose rate plans that are all prepay or all at_hotel"},
        )
    city = hotel["address"]["city"]
    booking.update(check_in=check_in, check_out=check_out, city=city, payment=paid.pop())
    if len(rooms) == 1:  # the booking's own policy below is the room's
        del rooms[0]["cancellation_policy"]
    booking.pop("rooms", None)
    booking.update(rooms=rooms)
    # A cheap read first: when the rooms are gone, the answer is a 409 without a
    # transaction. It decides nothing; the guarded writes in reserve_nights do.
    for room_type_id, count in room_counts(booking).items() if check_free else ():
        _rows, missing = stay_rows(db, booking, city=city, room_type=room_type_id, count=count)
        if missing:
            raise not_available(missing)
    first = rooms[0]
    booking.update(
        room_type=first["room_type"],
        rate_plan=first["rate_plan"],
        rate_plan_terms=first["rate_plan_terms"],
        adults=sum(room["adults"] for room in rooms),
        children=sum(room["children"] for room in rooms),
        guest=user["_id"],
        hotel=hotel["_id"],
        status=PENDING,
        nights=stay,
        currency=currency,
        hold_expires_at=now + timedelta(minutes=hold_minutes),
        confirmation_code=confirmation_code(),
        cancellation_policy=first.get("cancellation_policy")
        or rate_plans.policy(chosen[0][1], hotel),
    )
    # A copy: a later change of the hotel's taxes changes no booking ({}: none declared).
    booking["tax_terms"] = hotel.get("taxes") or {}
    return booking


def _stay_rows(db, booking, session=None, city=None, room_type=None):
    """The filter of a stay's inventory rows of one room type (the booking's first when
    not given): the shard-key prefix (city, room type) and the nights, served by the
    (city, room_type, date) index. The city is the hotel's as it is now (inventory rows
    follow a hotel that moves)."""
    city = city or booking.get("city")
    if city is None:  # a booking made before bookings carried their city
        hotel = db.hotels.find_one({"_id": booking["hotel"]}, {"address.city": 1}, session=session)
        city = hotel["address"]["city"] if hotel else None
    return {
        "city": city,
        "room_type": room_type or booking["room_type"],
        "date": {"$gte": booking["check_in"], "$lt": booking["check_out"]},
    }


def stay_rows(db, booking, session=None, city=None, room_type=None, count=1):
    """A room type's inventory rows of the stay by night, and the nights on which
    `count` rooms of it cannot be sold (missing, closed or too few left)."""
    found = db.inventory.find(_stay_rows(db, booking, session, city, room_type), session=session)
    rows = {Day.of(r["date"]): r for r in found}
    missing = [
        night
        for night in nights(Day.of(booking["check_in"]), Day.of(booking["check_out"]))
        if night not in rows
        or rows[night].get("closed")
        or rows[night]["booked"] + count > rows[night]["allotment"]
    ]
    return rows, missing


def not_available(missing):
    return Refusal(
        409,
        "not available on " + ", ".join(n.isoformat() for n in missing),
        {"nights": [n.isoformat() for n in missing]},
    )


def check_pending_cap(db, session, guest, now):
    # Touching the guest serializes their concurrent bookings, so the pending cap
    # cannot be overrun by two requests that both counted two.
    db.users.update_one({"_id": guest}, {"$inc": {"booking_seq": 1}}, session=session)
    pending = db.bookings.count_documents(
        {"guest": guest, "status": PENDING, "hold_expires_at": {"$gt": now}},
        session=session,
    )
    if pending >= MAX_PENDING_PER_GUEST:
        raise Refusal(
            409,
            f"you already have {pending} bookings pending payment; pay for or cancel "
            f"one before booking again (at most {MAX_PENDING_PER_GUEST})",
        )


def reserve_nights(db, session, bookings, now):
    """Inside the booking insert's transaction: take every room on every night, or fail."""
    for booking in bookings:
        check_pending_cap(db, session, booking["guest"], now)
        rows = take_stay(db, session, booking)
        price_rooms(booking, rows)


def price_rooms(booking, rows):
    """Each room's nightly prices under its plan, from the rows taken ({room type:
    {night: row}}), its taxes and fees (catalogue/charges.py, by the booking's copy of
    its hotel's) and its all-in total; and the booking's: per night over its rooms, the
    breakdown summed, and the all-in total, which is what the guest is charged. With VAT
    included in the prices, each night also keeps its `net` (without VAT: the room
    revenue the KPIs count)."""
    currency = booking["currency"]
    stay = nights(Day.of(booking["check_in"]), Day.of(booking["check_out"]))
    taxes = charges.terms(booking.get("tax_terms"), currency)
    by_night, net_by_night, parts = dict.fromkeys(stay, 0), dict.fromkeys(stay, 0), []
    for room in booking["rooms"]:
        terms = room["rate_plan_terms"]
        plan = {
            "discount_percent": terms["discount_percent"],
            "supplement_minor": to_minor(to_decimal(terms["supplement_per_person"]), currency),
        }
        persons = room["adults"] + room["children"]
        prices = {}
        for night in stay:
            base = to_minor(rows[room["room_type"]][night]["price"].to_decimal(), currency)
            prices[night] = rate_plans.night_minor(base, plan, persons)
            by_night[night] += prices[night]
        part = charges.lines(
            sum(prices.values()), taxes, len(stay), room["adults"], room["children"]
        )
        parts.append(part)
        nets = _spread(part["room_net"], prices) if part["room_net"] != part["room"] else None
        room["nightly_prices"] = _nightly(prices, nets, currency)
        for night, net in (nets or prices).items():
            net_by_night[night] += net
        room["price_breakdown"] = charges.shown(part, currency, from_minor)
        room["total_price"] = from_minor(part["total"], currency)
    summed = charges.add(parts)
    with_net = summed["room_net"] != summed["room"]
    booking["nightly_prices"] = _nightly(by_night, net_by_night if with_net else None, currency)
    booking["price_breakdown"] = charges.shown(summed, currency, from_minor)
    booking["total_price"] = from_minor(summed["total"], currency)


def _nightly(prices, nets, currency):
    return [
        {"date": night, "price": from_minor(price, currency)}
        | ({"net": from_minor(nets[night], currency)} if nets else {})
        for night, price in prices.items()
    ]


def _spread(amount, prices):
    """`amount` shared over the nights in proportion to their prices, in whole minor units
    that add up to it exactly (the last night takes the remainder)."""
    whole = sum(prices.values())
    shares = {night: price * amount // whole if whole else 0 for night, price in prices.items()}
    last = next(reversed(shares))
    shares[last] += amount - sum(shares.values())
    return shares


def city_tax_of(room):
    """The city tax a room's stay carries (refunded in full when the stay does not happen);
    0 for a booking made before taxes existed."""
    lines = (room.get("price_breakdown") or {}).get("taxes") or ()
    return sum((to_decimal(t["amount"]) for t in lines if t["code"] == "city_tax"), Decimal(0))


def from_minor(amount, currency):
    """Whole minor units -> Decimal128 money."""
    return money(Decimal(amount).scaleb(-minor_units(currency)), currency)


def take_stay(db, session, booking):
    """Inside the caller's transaction: every room of the booking on every night of its
    stay, or a 409 naming the nights (and 422 for an arrival's min_stay). Returns the
    rows taken, {room type: {night: row}}."""
    stay = nights(Day.of(booking["check_in"]), Day.of(booking["check_out"]))
    taken = {}
    for room_type_id, count in room_counts(booking).items():
        rows, missing = stay_rows(db, booking, session, room_type=room_type_id, count=count)
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
        _rows, missing = take_nights(db, session, booking, rows, room_type_id, count)
        if missing:
            raise not_available(missing)
        taken[room_type_id] = rows
    return taken


def take_nights(db, session, booking, rows=None, room_type=None, count=1):
    """Take `count` rooms of one room type (the booking's first when not given) on every
    night of the stay, inside the caller's transaction.

    Returns (rows by night, []) or (None, the nights that cannot be had). The rows (read
    here unless the caller passes the ones it read in this transaction) are found
    through the (room_type, date) index; each is then incremented by _id with a
    guard (not closed, booked at most the allotment read in this snapshot less count).
    A racing transaction that moved the same row makes this one conflict and retry. The
    guard is not one $expr over the range: the embedded server answers such a filter with
    a collection scan (seconds on a year of inventory), while this shape is fast on both.
    """
    if rows is None:
        rows, missing = stay_rows(db, booking, session, room_type=room_type, count=count)
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
                "booked": {"$lte": row["allotment"] - count},
            },
            {"$inc": {"booked": count}, "$set": stamp()},
            session=session,
        )
        if taken.matched_count != 1:
            return None, [night]
    return rows, []


def revive(db, session, booking):
    """Take an expired booking's rooms again (a late payment); (None, []) or (None,
    the nights that cannot be had)."""
    for room_type_id, count in room_counts(booking).items():
        _rows, missing = take_nights(db, session, booking, None, room_type_id, count)
        if missing:
            return None, missing
    return None, []


def _release(db, session, booking):
    # Exactly once by construction: only the guarded status transition calls this.
    released = 0
    for room_type_id, count in room_counts(booking).items():
        released += db.inventory.update_many(
            _stay_rows(db, booking, session, room_type=room_type_id),
            {"$inc": {"booked": -count}, "$set": stamp()},
            session=session,
        ).modified_count
    return released


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
    rounded half-up to the currency's minor unit. Never more than the total less
    `penalty_kept`, the penalty a change inside the window carried over (booking/modify.py).
    A room's city tax is outside the policy: a stay that does not happen owes none, so it
    is refunded in full whatever the policy keeps (catalogue/charges.py).
    """
    rooms = booking.get("rooms") or [{"total_price": booking["total_price"]}]
    by_policy = sum(
        (
            room_refund(
                room.get("cancellation_policy") or booking["cancellation_policy"],
                booking,
                to_decimal(room["total_price"]) - city_tax_of(room),
                now,
            )
            + city_tax_of(room)
            for room in rooms
        ),
        Decimal(0),
    )
    kept = to_decimal(booking.get("penalty_kept") or 0)
    return max(min(by_policy, to_decimal(booking["total_price"]) - kept), Decimal(0))


def room_refund(policy, booking, total, now):
    """What cancelling now refunds of `total` under one policy snapshot."""
    total = to_decimal(total)
    if not policy.get("refundable", True):
        return quantize(Decimal(0), booking["currency"])
    if now < free_cancellation_deadline(booking, policy):
        return quantize(total, booking["currency"])
    kept = total * Decimal(policy["penalty_percent"]) / Decimal(100)
    return quantize(total - kept, booking["currency"])


def free_cancellation_deadline(booking, policy=None):
    """The UTC instant until which cancelling is free."""
    policy = policy or booking["cancellation_policy"]
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


def fee_owed(booking, now, purpose):
    """What the confirmed booking's policy keeps if it is cancelled now (a cancellation
    fee) or was not used (a no-show: as cancelled at its arrival time, or now if later)."""
    if purpose == "no_show_fee":
        policy = booking["cancellation_policy"]
        now = max(now, free_cancellation_deadline(booking, {**policy, "free_until_hours": 0}))
    return to_decimal(booking["total_price"]) - refund_due(booking, now)


def fee_due(booking, now, purpose):
    """The `fee` a transition sets on a pay-at-the-hotel booking, or None when its policy
    keeps nothing (or it is prepaid: its money is refunded instead)."""
    if booking.get("payment") != "at_hotel":
        return None
    amount = fee_owed(booking, now, purpose)
    if amount <= 0:
        return None
    return {
        "purpose": purpose,
        "amount": money(amount, booking["currency"]),
        "status": "due",
        "due_at": now,
    }


def cancellation_terms(booking, now):
    """What cancelling the booking now does, in words, and whether it costs the guest
    anything: (sentence, costs). For the cancel link's description and the warning a
    page shows before a cancellation that keeps money."""
    currency = booking["currency"]
    total = to_decimal(booking["total_price"])
    if booking.get("status") == PENDING:
        return "Nothing was paid: cancelling frees the nights.", False
    if booking.get("payment") == "at_hotel":
        fee = fee_owed(booking, now, "cancellation_fee")
        if fee <= 0:
            return "Cancelling now is free.", False
        return f"Cancelling now charges {money(fee, currency)} {currency} to your card.", True
    refund = refund_due(booking, now)
    if refund >= total:
        return f"Cancelling now refunds all {money(total, currency)} {currency}.", False
    return (
        f"Cancelling now refunds {money(refund, currency)} {currency} of the "
        f"{money(total, currency)} {currency} paid.",
        True,
    )


def cancel(client, db, original, now=None):
    """Cancel a pending or confirmed booking and free its nights; the fields it set.

    Guarded on the status and the etag the client saw, so two cancellations, or a
    cancellation racing the expiry sweeper or a payment, change it once.
    """
    now = now or utcnow()
    changes = {"status": "cancelled", "cancelled_at": now}
    if original.get("status") == "confirmed" and original.get("payment") == "at_hotel":
        fee = fee_due(original, now, "cancellation_fee")  # charged once this commits
        if fee:
            changes["fee"] = fee
    elif original.get("status") == "confirmed":
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


def created(db, bookings):
    """After new bookings commit: their hotels' answers are stale; each is logged."""
    answer_cache().bump_bookings(db, bookings)
    for booking in bookings:
        logs.event(
            "booking.created",
            booking=str(booking["_id"]),
            hotel=str(booking["hotel"]),
            rooms=len(booking.get("rooms") or [None]),
            nights=booking["nights"],
            total_price=str(booking["total_price"]),
            currency=booking["currency"],
        )


def released(db, updates, original):
    """After a booking's nights were given back (a cancellation) and it committed."""
    answer_cache().bump_bookings(db, [original])
    if updates.get("status") == "cancelled":
        refund = updates.get("refund_amount")
        logs.event(
            "booking.cancelled",
            booking=str(original["_id"]),
            was=original.get("status"),
            refund_amount=str(refund) if refund is not None else None,
        )


def visible_to(db, user):
    """The filter that scopes bookings (and payments, which carry guest and hotel too) to
    what a user may see: their own; a manager also their hotels'; an admin everything
    (None). Anything outside it answers 404, never 403."""
    if user["role"] == "admin":
        return None
    if user["role"] == "manager":
        return {"$or": [{"guest": user["_id"]}, {"hotel": {"$in": managed_hotel_ids(db, user)}}]}
    return {"guest": user["_id"]}
