"""Availability search: one offer per room type sellable on every night of a stay.

The database only looks things up, through an index, and returns only the fields needed:

1. the search cards of the room types in scope (catalogue/cards.py: index `city`, `hotel`
   or `country`), filtered here on status, stars, amenities, occupancy and currency;
2. for each city those cards are in, the inventory rows of the stay's nights (index
   `city_date`: an equality and a range, the shape every engine plans as one index
   scan - an extra predicate or an `$in` on it would make the embedded one scan the
   collection).

Grouping by room type, the sellable check, totals, sorting and paging happen here, in
the API process, which scales by adding workers; a `near` search first asks the
2dsphere index which hotels are in range. The answer is the same as the aggregation
this replaced (tests/search/test_availability.py computes it by hand).
"""

import difflib
import math
from collections import defaultdict
from decimal import ROUND_FLOOR

from pymongo.database import Database

from catalogue import cards as search_cards
from catalogue import charges
from catalogue.rate_plans import condition_issue, night_minor
from plumbing.errors import Refusal
from plumbing.values import Day, city_key, local_today, minor_text, minor_units, to_minor
from search.currencies import NATIVE, comparison, rate_table

# Totals sort as compared: the all-in total, converted when offers span currencies or a
# display_currency is asked (search/currencies.py).
SORTS = {
    "total_price": lambda o: (o["_key"], o["_id"]),
    "-total_price": lambda o: (-o["_key"], o["_id"]),
    "-stars": lambda o: (-(o["_card"]["stars"] or 0), o["_key"], o["_id"]),
    "-rating": lambda o: (
        -o["_card"]["rating"]["average"],
        -o["_card"]["rating"]["count"],
        o["_key"],
        o["_id"],
    ),
    "distance": lambda o: (o["_distance"], o["_key"], o["_id"]),
}
EARTH_RADIUS_KM = 6371.0088
# What a search reads of a row: the integer price, not the Decimal128 one (on the
# embedded engine each projected field costs; these 7 read in 6.0 ms what 9 did in 7.4).
ROW_FIELDS = {
    "_id": 0,
    "room_type": 1,
    "date": 1,
    "price_minor": 1,
    "allotment": 1,
    "booked": 1,
    "closed": 1,
    "min_stay": 1,
}


def haversine_km(a, b):
    (lng1, lat1), (lng2, lat2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def hotels_near(db, point, max_km):
    """{hotel_id: distance_km} for active hotels within max_km of (lng, lat)."""
    cursor = db.hotels.find(
        {
            "location": {
                "$nearSphere": {
                    "$geometry": {"type": "Point", "coordinates": list(point)},
                    "$maxDistance": max_km * 1000,
                }
            }
        },
        {"location": 1},
    )
    return {h["_id"]: haversine_km(point, h["location"]["coordinates"]) for h in cursor}


def scope(query, distances=None):
    """The card filter for a parsed query: which room types a search may offer."""
    if query.get("hotel"):
        return {"hotel": query["hotel"]}
    if distances is not None:
        return {"hotel": {"$in": list(distances)}}
    if query.get("city"):  # parsed to its key: "paris", "PARIS" and "Paris" alike
        return {"city_key": query["city"]}
    if query.get("country"):
        return {"country": query["country"]}
    return {}


def fits(card, query):
    """Whether a card passes the query's hotel and room filters."""
    if card["status"] != "active":
        return False
    if query.get("city") and not query.get("hotel") and card["city_key"] != query["city"]:
        return False
    for field in ("country", "currency"):
        if query.get(field) and card[field] != query[field]:
            return False
    if query.get("min_stars") and (card["stars"] or 0) < query["min_stars"]:
        return False
    if query.get("amenities") and not set(query["amenities"]) <= set(card["amenities"]):
        return False
    return card["max_adults"] >= query["adults"] and card["max_children"] >= query["children"]


class DatabaseSource:
    """What a search reads, from MongoDB: the cards in scope (index `city`, `hotel` or
    `country`), each city's nights of a stay (index `city_date`), hotels near a point
    (2dsphere). The read model (search/model.py) answers the same four questions from
    memory; the search below is the same code over either."""

    name = "database"

    def __init__(self, db):
        self.db = db

    def near(self, point, max_km):
        return hotels_near(self.db, point, max_km)

    def cards(self, where):
        return list(self.db[search_cards.COLLECTION].find(where))

    def width(self, cities):
        """How many room types these cities (by key) hold (the nights a search reads)."""
        collection = self.db[search_cards.COLLECTION]
        return sum(len(list(collection.find({"city_key": c}, {"_id": 1}))) for c in cities)

    def rows(self, cards, check_in, check_out):
        """The inventory rows of the stay's nights of these cards' room types (read city by
        city, the index's shape, and kept for the cards asked)."""
        return [
            row
            for row in stay_rows(self.db, {c["city"] for c in cards.values()}, check_in, check_out)
            if row["room_type"] in cards
        ]

    def rates(self):
        """The exchange-rate table (search/currencies.py): a few dozen small documents."""
        return rate_table(self.db.exchange_rates.find({}, {"currency": 1, "rate": 1, "as_of": 1}))

    def cities(self):
        """Every city with a room type on sale (for the hint of a city not found)."""
        return self.db[search_cards.COLLECTION].distinct("city")


def source_of(reader):
    """A search source: one already, or a database to read."""
    return DatabaseSource(reader) if isinstance(reader, Database) else reader


# The most inventory rows one search may read: about a third of a second on the embedded
# engine. A search over every city for a month would read 20,000 (1.5 s of a worker and
# of the database's one thread); it is refused, asking for a narrower search, from the
# read model too, so that an answer never depends on where it was computed.
MAX_ROWS_READ = 5_000


def candidates(source, query, distances=None):
    """(the cards a search may offer, by room type id; how many the scope held before
    the filters); a 400 when reading their cities' nights would exceed MAX_ROWS_READ."""
    where = scope(query, distances)
    found = source.cards(where)
    nights = (query["check_out"] - query["check_in"]).days
    # A city, a country or no scope found every room type of its cities; a hotel or a
    # `near` scope found some, and the rows are read city by city.
    width = len(found)
    if "hotel" in where:
        width = source.width({card["city_key"] for card in found})
    if width * nights > MAX_ROWS_READ:
        raise Refusal(
            400,
            f"this search would read {width * nights} nights of inventory (at most "
            f"{MAX_ROWS_READ}): narrow it with city, country, hotel or near, or a shorter stay",
            {"city": "give a city, country, hotel or near to narrow the search"},
        )
    return {card["_id"]: card for card in found if fits(card, query)}, len(found)


def stay_rows(db, cities, check_in, check_out):
    """The inventory rows of the stay's nights in each city, one indexed find a city."""
    stay = {"$gte": check_in, "$lt": check_out}
    for city in sorted(cities):
        rows = list(db.inventory.find({"city": city, "date": stay}, ROW_FIELDS))
        if any("price_minor" not in row for row in rows):
            _price_legacy_rows(db, city, stay, rows)
        yield from rows


def _price_legacy_rows(db, city, stay, rows):
    """Rows written before `price_minor` existed (until the backfill migration runs):
    their integer price from the Decimal128 one and the row's currency."""
    exact = {
        (r["room_type"], r["date"]): to_minor(r["price"].to_decimal(), r.get("currency", "EUR"))
        for r in db.inventory.find(
            {"city": city, "date": stay}, {"room_type": 1, "date": 1, "price": 1, "currency": 1}
        )
    }
    for row in rows:
        row.setdefault("price_minor", exact[(row["room_type"], row["date"])])


def minor_price(row):
    """A row's price in whole minor units, kept ready on the row."""
    return row["price_minor"]


def sellable(rows, check_in, nights, max_price):
    """(total in minor units, rooms left) when every night sells and the stay may start
    on check_in, else None. `max_price` is in minor units too."""
    if len(rows) != nights:
        return None
    total, left = 0, None
    for row in rows:
        if row.get("closed") or row["booked"] >= row["allotment"]:
            return None
        if row["date"] == check_in and row.get("min_stay", 1) > nights:
            return None
        total += minor_price(row)
        free = row["allotment"] - row["booked"]
        left = free if left is None else min(left, free)
    if max_price is not None and total > max_price:
        return None
    return total, left


def priced_plans(card, rows, check_in, nights, query, compare, cap, todays):
    """[(plan, room price, all-in total, compared total)] for the card's plans that sell
    this stay: their conditions met (nights, days ahead of the hotel's today) and the
    compared all-in total (search/currencies.py) within `cap`, all in minor units."""
    tz = card["plans"][0]["policy"]["timezone"] if card["plans"] else "UTC"
    if tz not in todays:
        todays[tz] = local_today(tz)
    ahead = (check_in - todays[tz]).days
    adults, children = query["adults"], query["children"]
    party, terms, currency = adults + children, card.get("charges"), card["currency"]
    # What the hotel's taxes add: the same fees and city tax for every plan; VAT on top
    # of each plan's price when not included (catalogue/charges.py).
    extra, added = 0, None
    if terms is not charges.NO_CHARGES:
        extra = charges.fixed(terms, nights, adults, children)
        added = None if terms["vat_included"] or not terms["vat"] else terms
    native = compare is NATIVE
    priced = []
    for plan in card["plans"]:
        if condition_issue(plan, nights, ahead):
            continue
        if plan["discount_percent"] or plan["supplement_minor"]:
            room = sum(night_minor(minor_price(row), plan, party) for row in rows)
        else:
            room = sum(minor_price(row) for row in rows)
        total = room + extra + (charges.vat_of(room, added) if added else 0)
        key = total if native else compare.convert(total, currency)
        if cap is None or key <= cap:
            priced.append((plan, room, total, key))
    return priced


def city_hint(source, query):
    """The `_meta` of a city search that found no room type: the closest cities known."""
    known = {}
    for name in source.cities():
        known.setdefault(city_key(name), name)
    close = difflib.get_close_matches(query["city"], list(known), n=3, cutoff=0.6)
    hint = {"city": f"no hotel in a city named {query['city']!r}"}
    if close:
        hint["did_you_mean"] = [known[key] for key in close]
    return hint


def _cap(query, compare, currency):
    """max_price in minor units of what totals are compared in."""
    cap = query.get("max_price")
    return None if cap is None else max_minor(cap, compare.currency or currency)


def search(reader, query):
    """(offers, total, meta) for a parsed query: one offer per room type and rate plan,
    and what the answer's `_meta` says of it (the currency totals were compared in, a
    city not found). `reader` is a source (DatabaseSource, the read model) or a database."""
    source = source_of(reader)
    distances = None
    if query.get("near"):
        distances = source.near(query["near"], query["max_km"])
        if not distances:
            return [], 0, {}
    cards, in_scope = candidates(source, query, distances)
    if not cards:
        unknown_city = query.get("city") and not query.get("hotel") and not in_scope
        return [], 0, city_hint(source, query) if unknown_city else {}
    compare = comparison(
        source, query.get("display_currency"), {c["currency"] for c in cards.values()}
    )
    cards = {i: card for i, card in cards.items() if compare.can(card["currency"])}
    check_in, check_out = query["check_in"], query["check_out"]
    nights = (check_out - check_in).days
    by_room = defaultdict(list)
    for row in source.rows(cards, check_in, check_out):
        by_room[row["room_type"]].append(row)
    offers, todays = [], {}
    for room_type_id, rows in by_room.items():
        card = cards[room_type_id]
        sold = sellable(rows, check_in, nights, None)
        if sold is None:
            continue
        cap = _cap(query, compare, card["currency"])
        distance = distances.get(card["hotel"]) if distances is not None else None
        for rank, (plan, room, total, key) in enumerate(
            priced_plans(card, rows, check_in, nights, query, compare, cap, todays)
        ):
            offers.append(
                {
                    "_id": (room_type_id, rank),
                    "_card": card,
                    "_plan": plan,
                    "_rows": rows,
                    "_room": room,
                    "_total": total,
                    "_key": key,
                    "_left": sold[1],
                    "_distance": distance,
                }
            )
    offers.sort(key=SORTS[query["sort"]])
    skip = (query["page"] - 1) * query["max_results"]
    page = [offer(o, query, compare) for o in offers[skip : skip + query["max_results"]]]
    return page, len(offers), compare.meta()


def calendar(reader, query, first, end, nights):
    """The lowest all-in total of a `nights`-night stay for each check-in night in
    [first, end), per currency (or in the display_currency, converted), over the cards
    in scope: [(night, {currency: (compared total, card, plan, room price, all-in total)})].
    One read of the cards and one of each city's nights for the whole span; each stay is
    then priced in the API process, as a search prices one."""
    source = source_of(reader)
    span = {**query, "check_in": first, "check_out": end.plus(nights - 1)}
    distances = None
    if query.get("near"):
        distances = source.near(query["near"], query["max_km"])
        if not distances:
            return [(first.plus(i), {}) for i in range((end - first).days)]
    cards, _in_scope = candidates(source, span, distances)
    wanted = query.get("display_currency")
    currencies = {c["currency"] for c in cards.values()}
    # Without a display currency each currency keeps its own lowest, compared as it is.
    compare = comparison(source, wanted, currencies) if wanted else comparison(source, None, ())
    cards = {i: card for i, card in cards.items() if compare.can(card["currency"])}
    by_room = defaultdict(dict)
    for row in source.rows(cards, first, span["check_out"]):
        by_room[row["room_type"]][Day.of(row["date"])] = row
    days, todays = [], {}
    for offset in range((end - first).days):
        check_in, lowest = first.plus(offset), {}
        for room_type_id, card in cards.items():
            nightly = by_room.get(room_type_id, {})
            rows = [nightly.get(check_in.plus(i)) for i in range(nights)]
            if None in rows or sellable(rows, check_in, nights, None) is None:
                continue
            cap = _cap(query, compare, card["currency"])
            column = compare.currency or card["currency"]
            for plan, room, total, key in priced_plans(
                card, rows, check_in, nights, query, compare, cap, todays
            ):
                best = lowest.get(column)
                if best is None or key < best[0]:
                    lowest[column] = (key, card, plan, room, total)
        days.append((check_in, lowest))
    return days, compare


def calendar_day(check_in, nights, lowest, query, compare):
    """One night of the calendar as plain values, cheapest currency first: each lowest
    all-in total with its breakdown, and converted when a display_currency was asked."""
    prices = []
    for _column, (_key, card, plan, room, total) in sorted(
        lowest.items(), key=lambda item: item[1][0]
    ):
        currency = card["currency"]
        price = {
            "total_price": minor_text(total, currency),
            "currency": currency,
            "price_breakdown": breakdown(card, room, nights, query, minor_text(total, currency)),
            "hotel": {"_id": str(card["hotel"]), "name": card["hotel_name"]},
            "room_type": {"_id": str(card["_id"]), "name": card["name"]},
            "rate_plan": {"code": plan["code"], "name": plan["name"]},
        }
        if compare.currency:
            price["converted"] = compare.shown(total, currency)
        prices.append(price)
    return {
        "check_in": check_in.isoformat(),
        "check_out": check_in.plus(nights).isoformat(),
        "nights": nights,
        "lowest": prices,
    }


def max_minor(max_price, currency):
    """The largest total in minor units that is at most max_price (a Decimal)."""
    return int((max_price * 10 ** minor_units(currency)).to_integral_value(ROUND_FLOOR))


def _parts(card):
    """What every offer of a card shows whatever the stay (its hotel, its room type, each
    plan, the links), built once: a card the read model holds keeps them (a changed card
    is a new dict, so they are rebuilt with it); nothing changes them after."""
    parts = card.get("_offer_parts")
    if parts is None:
        parts = {
            "hotel": {
                "_id": str(card["hotel"]),
                "name": card["hotel_name"],
                "stars": card["stars"],
                "city": card["city"],
                "rating": card["rating"],
            },
            "room_type": {
                "_id": str(card["_id"]),
                "name": card["name"],
                "max_adults": card["max_adults"],
                "max_children": card["max_children"],
            },
            "hotel_link": {"title": "hotel", "href": f"hotels/{card['hotel']}"},
            "room_type_link": {"title": "room type", "href": f"room-types/{card['_id']}"},
            "plans": {
                plan["code"]: {
                    "code": plan["code"],
                    "name": plan["name"],
                    "meal": plan["meal"],
                    "payment": plan.get("payment", "prepay"),
                    "refundable": plan["policy"]["refundable"],
                    "free_until_hours": plan["policy"]["free_until_hours"],
                    "penalty_percent": plan["policy"]["penalty_percent"],
                    "summary": plan["summary"],
                }
                for plan in card["plans"]
            },
        }
        card["_offer_parts"] = parts
    return parts


def breakdown(card, room, nights, query, total_text=None):
    """An offer's price breakdown (catalogue/charges.py) as the API shows it: the room
    price, VAT on it, and the stay's city tax and fees (built once per room type and
    stay, and shared by its offers: nothing changes them after)."""
    terms, currency = card.get("charges"), card["currency"]
    total_text = total_text or minor_text(
        charges.total(room, terms, nights, query["adults"], query["children"]), currency
    )
    if terms is charges.NO_CHARGES:
        return {"room": total_text, "taxes": [], "fees": [], "total": total_text}
    stay = (nights, query["adults"], query["children"])
    kept = card.get("_stay_lines")
    if kept is None or kept[0] != stay:
        kept = card["_stay_lines"] = (stay, *charges.stay_lines(terms, *stay, currency))
    _stay, city, fees = kept
    rate = terms["vat"]
    if not rate:
        return {
            "room": minor_text(room, currency),
            "taxes": city,
            "fees": fees,
            "total": total_text,
        }
    vat = charges.vat_line(terms, minor_text(charges.vat_of(room, terms), currency))
    taxes = [vat, *city] if city else [vat]
    return {"room": minor_text(room, currency), "taxes": taxes, "fees": fees, "total": total_text}


def offer(found, query, compare):
    """One offer, built from plain values (strings for ids, dates and money) so that
    encoding it is the JSON encoder's C path, not a Python hook per field."""
    card, plan, currency = found["_card"], found["_plan"], found["_card"]["currency"]
    parts = _parts(card)
    party = query["adults"] + query["children"]
    plain = not (plan["discount_percent"] or plan["supplement_minor"])
    check_in, check_out = query["check_in"].isoformat(), query["check_out"].isoformat()
    total = minor_text(found["_total"], currency)
    nightly = [
        {
            "date": row["date"].strftime("%Y-%m-%d"),
            "price": minor_text(
                minor_price(row) if plain else night_minor(minor_price(row), plan, party),
                currency,
            ),
        }
        for row in sorted(found["_rows"], key=lambda row: row["date"])
    ]
    item = {
        "hotel": parts["hotel"],
        "room_type": parts["room_type"],
        "rate_plan": parts["plans"][plan["code"]],
        "check_in": check_in,
        "check_out": check_out,
        "nights": len(nightly),
        "nightly_prices": nightly,
        "price_breakdown": breakdown(card, found["_room"], len(nightly), query, total),
        "total_price": total,
        "currency": currency,
        "rooms_left": found["_left"],
        "_links": {
            "hotel": parts["hotel_link"],
            "room_type": parts["room_type_link"],
            "book": {
                "title": "book",
                "href": "bookings",
                "method": "POST",
                "body": {
                    "room_type": parts["room_type"]["_id"],
                    "rate_plan": plan["code"],
                    "check_in": check_in,
                    "check_out": check_out,
                    "adults": query["adults"],
                    "children": query["children"],
                },
            },
        },
    }
    if compare.currency:
        item["converted"] = compare.shown(found["_total"], currency)
    if found["_distance"] is not None:
        item["distance_km"] = round(found["_distance"], 2)
    return item
