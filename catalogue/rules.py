"""Hotels, room types and inventory: who may change them, and rows that stay consistent."""

from bson import ObjectId
from pymongo import UpdateOne

from catalogue import cards
from plumbing import transactions
from plumbing.context import answer_cache, sent_currency
from plumbing.errors import Refusal, invalid
from plumbing.values import (
    Day,
    fits_currency,
    minor_units,
    money,
    nights,
    parse_days,
    parse_money,
    stamp,
    to_minor,
    today,
    utcnow,
)
from reporting import changes as changes_log

MAX_RANGE_NIGHTS = 731
MAX_DAYS_AHEAD = 731  # inventory may be loaded two years ahead; bookings reach 395 days


def night_issue(night):
    """Why a night cannot carry inventory, or None. Yesterday (UTC) is still today
    somewhere, so it is allowed; earlier nights cannot be sold."""
    if night < today().plus(-1):
        return "is in the past; nights before today cannot be sold"
    if night > today().plus(MAX_DAYS_AHEAD):
        return f"is more than {MAX_DAYS_AHEAD} days ahead"
    return None


def manages(user, hotel):
    """Admins manage every hotel; a manager those whose `managers` list holds them."""
    if user is None or hotel is None:
        return False
    if user.get("role") == "admin":
        return True
    return user.get("role") == "manager" and user["_id"] in (hotel.get("managers") or [])


def require_manager(user, hotel, what="this hotel"):
    if not manages(user, hotel):
        raise Refusal(403, f"only an admin or a manager of {what} may change it")


def room_type_and_hotel(db, room_type_id):
    room_type = db.room_types.find_one({"_id": room_type_id}) if room_type_id else None
    if room_type is None:
        raise Refusal(404, "no such room type", {"room_type": "no room type has this id"})
    hotel = db.hotels.find_one({"_id": room_type["hotel"]})
    if hotel is None:
        raise Refusal(409, "the room type's hotel no longer exists")
    return room_type, hotel


def check_price(price, currency, field="price"):
    sent = sent_currency()
    if price is not None and sent is not None and sent != currency:
        raise invalid(field, f"is sent in {sent}, but this hotel prices in {currency}")
    if price is not None and not fits_currency(price, currency):
        digits = minor_units(currency)
        raise invalid(
            field,
            f"has more decimal places than {currency} allows ({digits})",
        )


def check_allotment(allotment, room_type, field="allotment"):
    if allotment is not None and allotment > room_type["total_rooms"]:
        raise invalid(
            field,
            f"must not exceed the room type's total_rooms ({room_type['total_rooms']})",
        )


def check_rate_plans(db, hotel_id, plans):
    """Plans' codes are unique in their room type and supplements fit the hotel's
    currency (Cerberus checks each plan's own fields)."""
    if not plans:
        return
    seen = set()
    for plan in plans:
        if plan["code"] in seen:
            raise invalid("rate_plans", f"codes must be unique: {plan['code']} appears twice")
        seen.add(plan["code"])
    hotel = db.hotels.find_one({"_id": hotel_id}, {"currency": 1})
    currency = (hotel or {}).get("currency", "EUR")
    for plan in plans:
        check_price(plan.get("supplement_per_person"), currency, "rate_plans")


def hotel_currency(db, hotel_id):
    hotel = db.hotels.find_one({"_id": hotel_id}, {"currency": 1})
    return (hotel or {}).get("currency", "EUR")


def fill_room_type(db, room_type):
    """A new room type's server-owned copy of its hotel's currency."""
    room_type["currency"] = hotel_currency(db, room_type["hotel"])


def denormalized_from_hotel(hotel):
    """The hotel fields inventory rows copy so searches need one index, not a join."""
    return {
        "hotel": hotel["_id"],
        "city": hotel["address"]["city"],
        "country": hotel["address"]["country"],
        "currency": hotel.get("currency", "EUR"),
    }


def prepare_inventory_row(db, row, user):
    """Fill the server-owned fields of a new inventory row; refuse an inconsistent one."""
    room_type, hotel = room_type_and_hotel(db, row["room_type"])
    require_manager(user, hotel, "the room type's hotel")
    issue = night_issue(Day.of(row["date"]))
    if issue:
        raise invalid("date", issue)
    currency = hotel.get("currency", "EUR")
    check_price(row.get("price"), currency)
    check_allotment(row.get("allotment"), room_type)
    row.update(denormalized_from_hotel(hotel), booked=0)
    row["price"] = money(row["price"].to_decimal(), currency)
    row["price_minor"] = to_minor(row["price"].to_decimal(), currency)


def check_inventory_update(db, original, updates, user):
    """PATCH of one row: same rules; lowering allotment below booked is refused atomically."""
    room_type, hotel = room_type_and_hotel(db, original["room_type"])
    require_manager(user, hotel, "the room type's hotel")
    for field in ("room_type", "date"):
        if field in updates and updates[field] != original.get(field):
            raise invalid(field, "cannot change; create a row for the other night instead")
    currency = hotel.get("currency", "EUR")
    check_price(updates.get("price"), currency)
    if updates.get("price") is not None:
        updates["price_minor"] = to_minor(updates["price"].to_decimal(), currency)
    if "allotment" in updates:
        check_allotment(updates["allotment"], room_type)
        # Guarded write: a concurrent booking cannot slip between the check and the write.
        result = db.inventory.update_one(
            {"_id": original["_id"], "booked": {"$lte": updates["allotment"]}},
            # No new _etag here: Eve's own write that follows checks the one it read.
            {"$set": {"allotment": updates["allotment"]}},
        )
        if result.matched_count == 0:
            current = db.inventory.find_one({"_id": original["_id"]}, {"booked": 1})
            raise Refusal(
                409,
                f"allotment cannot drop below the {current['booked']} rooms already booked",
                {"allotment": f"must be at least {current['booked']}"},
            )


RANGE_FIELDS = ("allotment", "price", "closed", "min_stay")


def parse_range(body, partial=False):
    """Validate a PUT /room-types/<id>/inventory body into typed values. A PUT sets every
    night whole (allotment and price required; closed false and min_stay 1 unless sent);
    a PATCH (`partial`) changes only the fields it sends, at least one of them."""
    if not isinstance(body, dict):
        raise Refusal(400, "the body must be a JSON object")
    allowed = {"from", "to", *RANGE_FIELDS}
    issues = {k: "unknown field" for k in body if k not in allowed}
    values = parse_days(body, ("from", "to"), issues)
    required = "" if partial else "required, "
    if not partial or "allotment" in body:
        allotment = body.get("allotment")
        if not isinstance(allotment, int) or isinstance(allotment, bool) or allotment < 0:
            issues["allotment"] = f"{required}a whole number >= 0"
        values["allotment"] = allotment
    if not partial or "price" in body:
        try:
            values["price"] = parse_money(body.get("price"))
        except ValueError:
            issues["price"] = f'{required}a decimal string such as "120.00"'
    if not partial or "closed" in body:
        values["closed"] = body.get("closed", False)
        if not isinstance(values["closed"], bool):
            issues["closed"] = "must be true or false"
    if not partial or "min_stay" in body:
        min_stay = values["min_stay"] = body.get("min_stay", 1)
        if not isinstance(min_stay, int) or isinstance(min_stay, bool) or not 1 <= min_stay <= 30:
            issues["min_stay"] = "must be a whole number from 1 to 30"
    if partial and not any(field in body for field in RANGE_FIELDS):
        issues["allotment"] = "send at least one of allotment, price, closed, min_stay"
    if "from" in values and "to" in values:
        span = (values["to"] - values["from"]).days
        if span <= 0:
            issues["to"] = "must be after from"
        elif span > MAX_RANGE_NIGHTS:
            issues["to"] = f"the range may cover at most {MAX_RANGE_NIGHTS} nights"
        for field, night in (("from", values["from"]), ("to", values["to"].plus(-1))):
            issue = night_issue(night)
            if issue and field not in issues:
                issues[field] = issue
    if issues:
        raise Refusal(422, "invalid inventory range: " + ", ".join(sorted(issues)), issues)
    values["partial"] = partial
    return values


MAX_ROOM_TYPES_AT_ONCE = 50  # one range set on a hotel's room types, read one by one


def set_inventory_range(client, db, room_type_id, values, user):
    """Set every night in [from, to) at once, or none; refuse nights booked above allotment."""
    return set_inventory_ranges(client, db, [room_type_id], values, user)[0]


def set_inventory_ranges(client, db, room_type_ids, values, user):
    """The same range set on several room types (a hotel's calendar) in one
    transaction: every night of every room type, or none of them. One result per room
    type, in the order given (each once)."""
    room_type_ids = list(dict.fromkeys(room_type_ids))
    if len(room_type_ids) > MAX_ROOM_TYPES_AT_ONCE:
        raise invalid(
            "room_type",
            f"at most {MAX_ROOM_TYPES_AT_ONCE} room types at once ({len(room_type_ids)} given)",
        )
    targets = [room_type_and_hotel(db, room_type_id) for room_type_id in room_type_ids]
    for _room_type, hotel in targets:
        require_manager(user, hotel, "the room type's hotel")
    if "allotment" in values:
        for room_type, _hotel in targets:
            check_allotment(values["allotment"], room_type)
    dates = nights(values["from"], values["to"])
    now = utcnow()
    updates = [_range_update(values, room_type, hotel, now) for room_type, hotel in targets]

    def write(session):
        written = [
            _write_range(db, values, room_type, hotel, update, dates, session)
            for (room_type, hotel), update in zip(targets, updates, strict=True)
        ]
        for hotel_id in {hotel["_id"] for _room_type, hotel in targets}:
            changes_log.record(db, hotel_id, values["from"], values["to"], session=session)
        return written

    results = transactions.run(client, write)
    answer_cache().bump_hotels(db, list({hotel["_id"] for _rt, hotel in targets}))
    return [
        {
            "room_type": room_type["_id"],
            "from": values["from"],
            "to": values["to"],
            "nights": len(dates),
            "created": result.upserted_count,
            "updated": result.matched_count,
        }
        for (room_type, _hotel), result in zip(targets, results, strict=True)
    ]


def _range_update(values, room_type, hotel, now):
    """The $set (and $setOnInsert) a range writes on each of a room type's nights."""
    currency = hotel.get("currency", "EUR")
    fields = {k: values[k] for k in ("allotment", "closed", "min_stay") if k in values}
    if "price" in values:
        check_price(values["price"].to_decimal(), currency)
        price = money(values["price"].to_decimal(), currency)
        fields.update(price=price, price_minor=to_minor(price.to_decimal(), currency))
    update = {"$set": {**fields, **stamp(now), **denormalized_from_hotel(hotel)}}
    if not values.get("partial", False):
        update["$setOnInsert"] = {"booked": 0, "_created": now}
    return update


def _write_range(db, values, room_type, hotel, update, dates, session):
    partial = values.get("partial", False)
    # Filtered here, not in the query: an extra predicate beside the index keys makes
    # the embedded server scan the collection. The transaction's writes to these rows
    # conflict with any booking that moves them meanwhile.
    existing = list(
        db.inventory.find(
            {
                "room_type": room_type["_id"],
                "date": {"$gte": values["from"], "$lt": values["to"]},
            },
            {"date": 1, "booked": 1},
            session=session,
        )
    )
    where = f" of {room_type.get('name', 'the room type')}" if room_type.get("name") else ""
    if partial and len(existing) < len(dates):
        have = {Day.of(r["date"]) for r in existing}
        listed = ", ".join(n.isoformat() for n in dates if Day.of(n) not in have)[:300]
        raise Refusal(
            409,
            f"no inventory yet on {listed}{where}: a PATCH changes existing nights; PUT the "
            "range with allotment and price to create them",
            {"from": "nights without inventory: " + listed},
        )
    over = [r for r in existing if "allotment" in values and r["booked"] > values["allotment"]]
    if over:
        listed = ", ".join(Day.of(r["date"]).isoformat() for r in over[:10])
        raise Refusal(
            409,
            f"allotment {values['allotment']} is below the rooms already booked on "
            f"{listed}{where}",
            {"allotment": "below booked rooms on " + listed},
        )
    ops = [
        UpdateOne({"room_type": room_type["_id"], "date": night}, update, upsert=not partial)
        for night in dates
    ]
    return db.inventory.bulk_write(ops, ordered=True, session=session)


def copy_hotel_fields(db, original, changes, session):
    """Inside the hotel write's transaction: the copies of its city, country and
    currency in its inventory rows and live bookings follow it, and its KPI rows are
    marked for a recount - all with the hotel's change, or none of it. (After the commit,
    a crash between two writes left bookings whose cancellation released no nights.)"""
    address, before = changes.get("address") or {}, original.get("address") or {}
    copied = {
        field: address[field]
        for field in ("city", "country")
        if field in address and address[field] != before.get(field)
    }
    if "currency" in changes and changes["currency"] != original.get("currency", "EUR"):
        copied["currency"] = changes["currency"]
    cards.refresh_hotel(db, original["_id"], session=session)  # name, stars, ... on its cards
    if not copied:
        return
    hotel_id = original["_id"]
    db.inventory.update_many({"hotel": hotel_id}, {"$set": {**copied, **stamp()}}, session=session)
    if "currency" in copied:
        db.room_types.update_many(
            {"hotel": hotel_id}, {"$set": {"currency": copied["currency"]}}, session=session
        )
    if "city" in copied:  # live bookings release their nights where the rows now are
        db.bookings.update_many(
            {"hotel": hotel_id, "status": {"$in": list(LIVE_STATUSES)}},
            {"$set": {"city": copied["city"]}},
            session=session,
        )
    # Its KPI rows carry where it is and its currency; the old city's rollup loses it.
    changes_log.record(db, hotel_id, cities=[before.get("city")], session=session)


def catalogue_changed(db, hotel_id, *cities):
    """After a committed hotel or room type write (whose search cards changed in its
    transaction): its cached answers, in Redis - the city it is in now and any it was in
    before."""
    hotel = db.hotels.find_one({"_id": hotel_id}, {"address.city": 1})
    city = (hotel or {}).get("address", {}).get("city")
    answer_cache().bump([*cities, *([city] if city else [])], catalogue=True)


def cards_follow_hotel(db, hotel_id, session):
    """Inside a hotel or room type write's transaction: the hotel's search cards."""
    cards.refresh_hotel(db, hotel_id, session=session)


def cards_for_new_room_types(db, room_types, session):
    """Inside a room type insert's transaction: their search cards."""
    cards.add_room_types(db, room_types, session)


def room_type_gone(db, room_type):
    """After a room type's delete committed: its hotel's answers change."""
    catalogue_changed(db, room_type["hotel"])


def inventory_changed(db, rows):
    """After inventory rows committed: the answers of their cities (cached in Redis,
    outside MongoDB's transaction)."""
    answer_cache().bump(row["city"] for row in rows)


def hotel_by_id(db, hotel_id):
    """The hotel with this id (a string or ObjectId), or None."""
    if isinstance(hotel_id, str):
        hotel_id = ObjectId(hotel_id) if ObjectId.is_valid(hotel_id) else None
    return db.hotels.find_one({"_id": hotel_id}) if hotel_id else None


def managed_hotel_ids(db, user):
    return [h["_id"] for h in db.hotels.find({"managers": user["_id"]}, {"_id": 1})]


# A booking that still holds nights or money: a hotel with one cannot go.
LIVE_STATUSES = ("pending_payment", "confirmed")


def refuse_hotel_change(user, original, method, changes=None):
    """Who may change a hotel, for every writer that goes through Eve - the API and the
    admin alike: an admin anything; a manager PATCHes the hotels they manage, never
    their managers list, and never replaces or deletes one. (No user: the CLI and the
    worker, which act for the operator.)"""
    if user is None or user.get("role") == "admin":
        return
    if method != "PATCH":
        raise Refusal(403, "only an admin may replace or delete a hotel")
    if not manages(user, original):
        raise Refusal(403, "you may only change hotels whose managers list holds you")
    managers = (changes or {}).get("managers")
    if managers is not None and list(managers) != list(original.get("managers") or []):
        raise Refusal(
            403, "only an admin may change a hotel's managers", {"managers": "admin only"}
        )


def refuse_deleting_a_hotel_with_live_bookings(db, hotel):
    """Nobody deletes a hotel while bookings hold its nights or money: they would stay
    confirmed for a hotel that no longer exists, and their nights could never be given
    back."""
    live = db.bookings.count_documents(
        {"hotel": hotel["_id"], "status": {"$in": list(LIVE_STATUSES)}}
    )
    if live:
        plural = "booking" if live == 1 else "bookings"
        raise Refusal(
            409,
            f"this hotel has {live} live {plural} (pending payment or confirmed); cancel "
            "them, or close its inventory and let them end, before deleting it",
            {"bookings": f"{live} live"},
        )


def refuse_currency_change(db, original, updates):
    """Prices are stored in the hotel's currency: it cannot change under priced nights."""
    changed = "currency" in updates and updates["currency"] != original.get("currency", "EUR")
    if changed and db.inventory.find_one({"hotel": original["_id"]}, {"_id": 1}):
        raise Refusal(
            409,
            "the currency cannot change while the hotel has inventory priced in "
            f"{original.get('currency', 'EUR')}",
            {"currency": "hotel has priced inventory"},
        )


def exchange_rates_changed():
    """After a committed exchange-rate write: every cached search answer is stale (the
    read model follows the rates on its own change stream)."""
    cards.everything_changed()


def check_taxes(hotel, changes=None):
    """A hotel's taxes and fees as they will be: every amount fits its currency, fee codes
    unique (Cerberus checks each field's own shape). 422 naming the field."""
    after = {**(hotel or {}), **(changes or {})}
    taxes = after.get("taxes") or {}
    currency = after.get("currency", "EUR")
    city = taxes.get("city_tax") or {}
    check_price(city.get("per_person_per_night"), currency, "taxes.city_tax")
    vat = taxes.get("vat_percent")
    if vat is not None and round(vat * 100) != vat * 100:
        raise invalid("taxes.vat_percent", "has more than two decimal places")
    seen = set()
    for i, fee in enumerate(taxes.get("fees") or ()):
        check_price(fee.get("amount"), currency, f"taxes.fees.{i}.amount")
        if fee.get("code") in seen:
            raise invalid("taxes.fees", f"codes must be unique: {fee['code']} appears twice")
        seen.add(fee.get("code"))


def require_manager_of_hotel(db, user, hotel_id):
    require_manager(user, hotel_by_id(db, hotel_id))


def refuse_room_type_change(db, user, original, changes=None):
    """Only the hotel's managers (or an admin) change or delete a room type, whoever
    writes it (the API or the admin); it never moves to another hotel."""
    if user is None:
        return
    require_manager_of_hotel(db, user, original["hotel"])
    moved = (changes or {}).get("hotel")
    if moved is not None and str(moved) != str(original["hotel"]):
        raise Refusal(422, "a room type cannot move to another hotel", {"hotel": "cannot change"})


def delete_room_type_inventory(db, room_type, session):
    """Inside the room type delete's transaction: refuse while nights are booked, else
    its rows go with it, and its hotel's KPIs are marked for a recount."""
    booked = {"room_type": room_type["_id"], "booked": {"$gt": 0}}
    if db.inventory.find_one(booked, {"_id": 1}, session=session):
        raise Refusal(409, "this room type has booked nights; close its inventory instead")
    db.inventory.delete_many({"room_type": room_type["_id"]}, session=session)
    cards.drop_room_type(db, room_type["_id"], session=session)
    changes_log.record(db, room_type["hotel"], session=session)


def record_deleted_hotels(db, hotels, session):
    """Inside a hotel delete's transaction: its KPI rows (and its city's) are recounted."""
    for hotel in hotels:
        city = (hotel.get("address") or {}).get("city")
        cards.drop_hotel(db, hotel["_id"], session=session)
        changes_log.record(db, hotel["_id"], cities=[city], session=session)


def record_inventory_rows(db, rows, session):
    """Inside an inventory row write's transaction: its nights' KPIs (rooms available)."""
    for row in rows:
        night = Day.of(row["date"])
        changes_log.record(db, row["hotel"], night, night.plus(1), session=session)


def refuse_inventory_delete(db, user, row):
    _room_type, hotel = room_type_and_hotel(db, row["room_type"])
    require_manager(user, hotel)
    if row.get("booked", 0) > 0:
        raise Refusal(409, "this night has booked rooms; close it instead of deleting it")


def inventory_nights(db, room_type_id, first, end):
    """A room type's rows for the nights in [first, end), by night (the calendar)."""
    rows = db.inventory.find(
        {"room_type": room_type_id, "date": {"$gte": first, "$lt": end}},
        {"date": 1, "price": 1, "allotment": 1, "booked": 1, "closed": 1, "min_stay": 1},
    )
    return {Day.of(row["date"]): row for row in rows}


def hotel_choices(db, hotels=None):
    """Every hotel, or those of `hotels`, by name (name and currency): one read."""
    query = {} if hotels is None else {"_id": {"$in": list(hotels)}}
    found = db.hotels.find(query, {"name": 1, "currency": 1})
    return sorted(found, key=lambda hotel: hotel.get("name", ""))


def room_types_of(db, hotel_id):
    """A hotel's room types by name (through the `hotel` index)."""
    found = db.room_types.find({"hotel": hotel_id}, {"name": 1, "hotel": 1})
    return sorted(found, key=lambda room_type: room_type.get("name", ""))
