"""The analysts' KPIs kept ready: `occupancy_daily` (a hotel's night) and
`occupancy_city_daily` (a city's night, per currency), read through an index in
milliseconds instead of computed over inventory and bookings on every read.

How they stay right:

1. Every write that can move a KPI (a booking confirmed, cancelled or expired, a late
   payment re-taking nights, an inventory row or range written, a hotel moved) records
   what it touched - the hotel and its nights - in `kpi_changes`, inside the same
   transaction as the change where there is one. The record is the durable "to do".
2. The worker (`refresh`, every few seconds in `flask --app run worker` and the `make run`
   sweeper) holds a lease so one refresher runs at a time, takes the oldest records,
   recomputes each touched hotel's nights from the source collections (inventory by
   city, room type and night; bookings by hotel and arrival: index reads only), writes the
   rows and the cities' rollups, and only then deletes the records it handled. A change
   committed meanwhile has its own record, handled on the next pass.
3. Each row carries `as_of`: it reflects every change committed before that instant;
   `kpi_changes` lists what is not in yet.

The definitions are STR's (docs/analysts.md): `rooms_available` is the night's allotment
summed over the hotel's room types, `rooms_sold` the nights of confirmed bookings, room
revenue their booked nightly prices without VAT, city tax or fees (`net` when the price
includes VAT, catalogue/charges.py); occupancy = sold / available (4 places), ADR =
revenue / sold and RevPAR = revenue / available, rounded half to even to the currency's
minor unit; each ratio is null when its denominator is 0. `from_scratch` recomputes the
same rows in one aggregation (the old view's pipeline): tests and `reconcile` compare.
"""

import os
import socket
import threading
from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from bson import Decimal128
from pymongo import ASCENDING, UpdateOne
from pymongo.errors import DuplicateKeyError

from domain.vocabulary import MAX_NIGHTS, SOLD
from plumbing.jobs import Job
from plumbing.values import MINOR_UNITS, Day, minor_units, utcnow
from reporting.changes import CHANGES, EVERYTHING, record

HOTEL_DAILY = "occupancy_daily"
CITY_DAILY = "occupancy_city_daily"
LEASES = "worker_leases"
LEASE_SECONDS = 60
INDEXES = {
    HOTEL_DAILY: {
        "hotel_date": ([("hotel", ASCENDING), ("date", ASCENDING)], True),
        "date": ([("date", ASCENDING)], False),
    },
    CITY_DAILY: {
        "city_date_currency": (
            [("city", ASCENDING), ("date", ASCENDING), ("currency", ASCENDING)],
            True,
        ),
        "date": ([("date", ASCENDING)], False),
    },
}


def provision(db):
    """The collections' indexes; replaces an `occupancy_daily` view left by an older
    release with the kept collection and asks the worker to fill it."""
    names = set(db.list_collection_names())
    views = {c["name"] for c in db.list_collections(filter={"type": "view"})}
    rebuild = HOTEL_DAILY in views or HOTEL_DAILY not in names
    if HOTEL_DAILY in views:
        db.drop_collection(HOTEL_DAILY)
    for collection, indexes in INDEXES.items():
        for name, (keys, unique) in indexes.items():
            db[collection].create_index(keys, name=name, unique=unique)
    db[CHANGES].create_index([("at", ASCENDING)], name="at")
    if rebuild and db.inventory.find_one({}, {"_id": 1}) is not None:
        record(db, EVERYTHING)


def reconcile(db, fix=False):
    """The kept KPIs against a recomputation, once the pending records are in: the
    values that differ; with `fix`, every hotel recomputed."""
    drain(db)  # what the worker would do next
    off = drift(db)
    if fix and off:
        record(db, EVERYTHING)
        drain(db)
    return off


def pending(db):
    """How many change records the worker has not handled yet."""
    return db[CHANGES].estimated_document_count()


# -- the worker -------------------------------------------------------------------------


def _owner():
    """This thread of this process on this machine: two refreshers never share a lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def take_lease(db, owner=None, seconds=LEASE_SECONDS):
    """True when this process holds the refresher's lease for the next `seconds`."""
    owner = owner or _owner()
    now = utcnow()
    try:
        db[LEASES].update_one(
            {"_id": "kpis", "$or": [{"until": {"$lt": now}}, {"owner": owner}]},
            {"$set": {"owner": owner, "until": now + timedelta(seconds=seconds)}},
            upsert=True,
        )
    except DuplicateKeyError:  # another refresher holds it
        return False
    return True


def release_lease(db, owner=None):
    db[LEASES].delete_one({"_id": "kpis", "owner": owner or _owner()})


def refresh(db, limit=500, owner=None):
    """Handle up to `limit` change records (oldest first); returns how many. Does nothing
    while another process holds the lease."""
    if not take_lease(db, owner):
        return 0
    as_of = utcnow()  # before reading: every record read was committed before it
    changes = list(db[CHANGES].find({}, sort=[("_id", ASCENDING)], limit=limit))
    if not changes:
        return 0
    spans, cities = _merge(changes)
    if EVERYTHING in spans:
        spans = {h["_id"]: (None, None) for h in db.hotels.find({}, {"_id": 1})}
        spans.update({h: (None, None) for h in db[HOTEL_DAILY].distinct("hotel")})
        cities |= set(db[HOTEL_DAILY].distinct("city"))
    city_spans = defaultdict(list)
    for hotel_id, (start, end) in spans.items():
        for city in refresh_hotel(db, hotel_id, start, end, as_of) | cities_of(changes, hotel_id):
            city_spans[city].append((start, end))
    for city in cities - set(city_spans):
        city_spans[city].append((None, None))
    for city, hotel_spans in city_spans.items():
        refresh_city(db, city, *_union(hotel_spans), as_of)
    db[CHANGES].delete_many({"_id": {"$in": [c["_id"] for c in changes]}})
    return len(changes)


def drain(db, owner=None):
    """Refresh until no change record is left (tests, the seed, `reconcile --fix`)."""
    handled = 0
    while True:
        done = refresh(db, owner=owner)
        handled += done
        if not done:
            return handled


def _merge(changes):
    """{hotel: (first night, night after last)} over the records (None: every night),
    and the cities named by them."""
    spans, cities = {}, set()
    for change in changes:
        cities.update(change.get("cities") or ())
        hotel = change["hotel"]
        span = (change.get("from"), change.get("to"))
        spans[hotel] = _union([spans[hotel], span]) if hotel in spans else span
    return spans, cities


def cities_of(changes, hotel_id):
    return {c for change in changes if change["hotel"] == hotel_id for c in change["cities"]}


def _union(spans):
    if any(start is None for start, _ in spans):
        return None, None
    return min(s for s, _ in spans), max(e for _, e in spans)


def _nights_filter(field, start, end):
    return {} if start is None else {field: {"$gte": start, "$lt": end}}


def hotel_rows(db, hotel, start, end, as_of):
    """A hotel's KPI rows for the nights in [start, end) (every night when None), computed
    from inventory (by city, room type and night) and bookings (by hotel and arrival)."""
    available = defaultdict(int)
    for room_type in db.room_types.find({"hotel": hotel["_id"]}, {"_id": 1}):
        rows = db.inventory.find(
            {
                "city": hotel["address"]["city"],  # the shard key's prefix (docs/scaling.md)
                "room_type": room_type["_id"],
                **_nights_filter("date", start, end),
            },
            {"date": 1, "allotment": 1},
        )
        for row in rows:
            available[Day.of(row["date"])] += row["allotment"]
    arrivals = {} if start is None else {"$gte": start - timedelta(days=MAX_NIGHTS), "$lt": end}
    bookings = db.bookings.find(
        {"hotel": hotel["_id"], **({"check_in": arrivals} if arrivals else {})},
        {"hotel": 1, "status": 1, "nightly_prices": 1, "rooms.nightly_prices": 1},
    )
    sold = count_nights(bookings, start, end).get(hotel["_id"], {})
    return hotel_kpis(hotel, available, sold, as_of)


def count_nights(bookings, start=None, end=None):
    """{hotel: {night: [rooms sold, room revenue]}} over the nights of the sold (confirmed
    or no-show) bookings among `bookings` in [start, end) (every night when None)."""
    sold = defaultdict(dict)
    for booking in bookings:
        if booking["status"] not in SOLD:
            continue
        nights = sold[booking["hotel"]]
        # Each room is a room sold; bookings made before `rooms` are one room.
        for room in booking.get("rooms") or [booking]:
            for night in room.get("nightly_prices") or ():
                day = Day.of(night["date"])
                if start is None or start <= day < end:
                    tally = nights.setdefault(day, [0, Decimal(0)])
                    tally[0] += 1
                    # the room revenue: without VAT (`net`) when the price includes it
                    tally[1] += night.get("net", night["price"]).to_decimal()
    return sold


def hotel_kpis(hotel, available, sold, as_of):
    """A hotel's rows from its rooms available by night and count_nights' tallies."""
    keys = {
        "hotel": hotel["_id"],
        "city": hotel["address"]["city"],
        "country": hotel["address"].get("country"),
        "currency": hotel.get("currency", "EUR"),
    }
    nothing = (0, Decimal(0))
    return [
        kpi_row(keys, day, available.get(day, 0), *sold.get(day, nothing), as_of)
        for day in sorted(set(available) | set(sold))
    ]


def city_kpis(city, rows, as_of):
    """A city's rollup (per night and currency) from its hotels' rows."""
    totals = {}
    for row in rows:
        key = (Day.of(row["date"]), row["currency"])
        total = totals.setdefault(key, [row.get("country"), 0, 0, 0, Decimal(0)])
        total[1] += 1
        total[2] += row["rooms_available"]
        total[3] += row["rooms_sold"]
        total[4] += row["room_revenue"].to_decimal()
    return [
        {
            **kpi_row(
                {"city": city, "country": country, "currency": currency},
                day,
                available,
                sold,
                revenue,
                as_of,
            ),
            "hotels": hotels,
        }
        for (day, currency), (country, hotels, available, sold, revenue) in sorted(totals.items())
    ]


def kpi_row(keys, day, available, sold, revenue, as_of):
    """One KPI document: the counts, the exact revenue and the rounded ratios."""
    currency = keys["currency"]
    return {
        **keys,
        "date": day,
        "rooms_available": available,
        "rooms_sold": sold,
        "occupancy": round(sold / available, 4) if available else None,
        "room_revenue": Decimal128(revenue),
        "adr": _money_ratio(revenue, sold, currency),
        "revpar": _money_ratio(revenue, available, currency),
        "as_of": as_of,
    }


def _money_ratio(amount, count, currency):
    if not count:
        return None
    step = Decimal(1).scaleb(-minor_units(currency))
    return Decimal128((amount / count).quantize(step, rounding=ROUND_HALF_EVEN))


def refresh_hotel(db, hotel_id, start, end, as_of):
    """Rewrite a hotel's rows for [start, end); returns the cities whose rollups they
    touch (where the hotel is, and where its old rows said it was)."""
    hotel = db.hotels.find_one({"_id": hotel_id}, {"address": 1, "currency": 1})
    rows = hotel_rows(db, hotel, start, end, as_of) if hotel else []
    old = write_hotel(db, hotel_id, rows, _nights_filter("date", start, end))
    return {r["city"] for r in old} | ({hotel["address"]["city"]} if hotel else set())


def refresh_city(db, city, start, end, as_of):
    """Rewrite a city's rollup for [start, end) from the rows of the hotels now in it."""
    nights = _nights_filter("date", start, end)
    fields = ("date", "currency", "country", "rooms_available", "rooms_sold", "room_revenue")
    rows = [
        row
        for hotel in db.hotels.find({"address.city": city}, {"_id": 1})
        for row in db[HOTEL_DAILY].find(
            {"hotel": hotel["_id"], **nights}, dict.fromkeys(fields, 1)
        )
    ]
    write_city(db, city, city_kpis(city, rows, as_of), nights)


def write_hotel(db, hotel_id, rows, nights=None):
    """Make a hotel's rows in `nights` (a date filter; all when None) exactly `rows`;
    returns the rows there were."""
    scope = {"hotel": hotel_id, **(nights or {})}
    return _replace(db[HOTEL_DAILY], scope, ("date",), rows, also=("city",))


def write_city(db, city, rows, nights=None):
    _replace(db[CITY_DAILY], {"city": city, **(nights or {})}, ("date", "currency"), rows)


def _replace(collection, scope, key_fields, rows, also=()):
    """Make the documents in `scope` exactly `rows` (matched on `key_fields`): new ones
    inserted in bulk, the others updated or deleted by _id. Returns the old documents."""
    projection = dict.fromkeys((*key_fields, *also), 1)
    old = list(collection.find(scope, projection))

    def key(document):
        return tuple(document[f] for f in key_fields)

    ids = {key(document): document["_id"] for document in old}
    fresh = [row for row in rows if key(row) not in ids]
    if fresh:
        collection.insert_many(fresh, ordered=False)
    kept = {key(row) for row in rows}
    updates = [UpdateOne({"_id": ids[key(row)]}, {"$set": row}) for row in rows if key(row) in ids]
    for first in range(0, len(updates), 1000):
        collection.bulk_write(updates[first : first + 1000], ordered=False)
    gone = [ids[k] for k in ids if k not in kept]
    if gone:
        collection.delete_many({"_id": {"$in": gone}})
    return old


# -- from scratch -----------------------------------------------------------------------


def _minor_digits():
    """The currency's minor-unit digits as an expression on `$currency` (2 unless listed)."""
    exceptions = {}
    for currency, digits in MINOR_UNITS.items():
        if digits != 2:
            exceptions.setdefault(digits, []).append(currency)
    return {
        "$switch": {
            "branches": [
                {"case": {"$in": ["$currency", currencies]}, "then": digits}
                for digits, currencies in sorted(exceptions.items())
            ],
            "default": 2,
        }
    }


def _ratio(numerator, denominator, digits):
    """numerator / denominator rounded to `digits` places, None when the denominator is 0."""
    return {
        "$cond": [
            {"$gt": [denominator, 0]},
            {"$round": [{"$divide": [numerator, denominator]}, digits]},
            None,
        ]
    }


def occupancy_pipeline(inventory_match=None, bookings_match=None):
    """The KPI rows recomputed in one aggregation over inventory; with matches (exports), each
    side is narrowed first, through its indexes, to the hotels and nights asked for."""
    stages = [{"$match": inventory_match}] if inventory_match else []
    confirmed = {"status": {"$in": list(SOLD)}, **(bookings_match or {})}
    return stages + [
        {
            "$project": {
                "hotel": 1,
                "date": 1,
                "currency": 1,
                "available": "$allotment",
                "sold": {"$literal": 0},
                "revenue": {"$literal": Decimal128("0")},
            }
        },
        {
            "$unionWith": {
                "coll": "bookings",
                "pipeline": [
                    {"$match": confirmed},
                    {"$unwind": "$nightly_prices"},
                    {
                        "$project": {
                            "hotel": 1,
                            "currency": 1,
                            "date": "$nightly_prices.date",
                            "available": {"$literal": 0},
                            # a room each night per room booked (one before `rooms`)
                            "sold": {"$size": {"$ifNull": ["$rooms", [0]]}},
                            "revenue": {
                                "$ifNull": ["$nightly_prices.net", "$nightly_prices.price"]
                            },
                        }
                    },
                ],
            }
        },
        {
            "$group": {
                "_id": {"hotel": "$hotel", "date": "$date"},
                "rooms_available": {"$sum": "$available"},
                "rooms_sold": {"$sum": "$sold"},
                "room_revenue": {"$sum": "$revenue"},
                "currency": {"$first": "$currency"},
            }
        },
        {
            "$project": {
                "_id": 0,
                "hotel": "$_id.hotel",
                "date": "$_id.date",
                "rooms_available": 1,
                "rooms_sold": 1,
                # Ratios as analysts quote them: occupancy to 4 places, ADR and RevPAR to
                # the currency's minor unit ($round: half to even), not 34 digits.
                "occupancy": _ratio("$rooms_sold", "$rooms_available", 4),
                "room_revenue": 1,
                "adr": _ratio("$room_revenue", "$rooms_sold", _minor_digits()),
                "revpar": _ratio("$room_revenue", "$rooms_available", _minor_digits()),
                "currency": 1,
            }
        },
    ]


def from_scratch(db, match=None):
    """The hotel rows recomputed in one aggregation over every inventory row and confirmed
    booking (slow on a big database: for tests and audits, not for reading)."""
    pipeline = occupancy_pipeline() + [{"$match": match or {}}, {"$sort": {"hotel": 1, "date": 1}}]
    return list(db.inventory.aggregate(pipeline))


def drift(db):
    """[(hotel, night, field, kept, recomputed)] where the kept rows differ from scratch."""
    fields = ("rooms_available", "rooms_sold", "room_revenue", "occupancy", "adr", "revpar")
    expected = {(r["hotel"], Day.of(r["date"])): r for r in from_scratch(db)}
    kept = {(r["hotel"], Day.of(r["date"])): r for r in db[HOTEL_DAILY].find({})}
    found = []
    for key in sorted(set(expected) | set(kept), key=lambda k: (str(k[0]), k[1])):
        want, have = expected.get(key, {}), kept.get(key, {})
        for field in fields:
            if _plain(want.get(field)) != _plain(have.get(field)):
                found.append((*key, field, have.get(field), want.get(field)))
    return found


def _plain(value):
    if isinstance(value, Decimal128):
        return value.to_decimal().normalize()
    if isinstance(value, float):
        return round(value, 4)
    return value


def _refresh(context):
    refresh(context.db)


JOBS = (Job("KPI refresh", every=5, run=_refresh),)
