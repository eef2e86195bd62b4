"""`bookings_flat` kept ready: one document per booked room and night, for the analysts,
read through an index (a hotel's month in milliseconds) instead of computed on each read.

It follows its sources from MongoDB's change stream with a persisted resume token, so
no writer has to remember it (Eve's endpoints, the custom routes, the admin, the seed
and the worker all write bookings, hotels and room types):

1. `drain` (the worker, every pass) opens the change stream after the token kept in
   `feed_positions`, reads what committed since - bookings, hotels, room types - and
   recomputes the flat rows of every booking concerned from its source document (the
   pipeline below, BOOKINGS_FLAT, narrowed to those bookings by `_id`),
   replacing its rows in one transaction.
2. Only then does it store the token of the last change it applied. A crash in between
   applies the same changes again on the next pass: a recomputation from the source is
   the same whatever it replaces, so every change takes effect exactly once.
3. With no token (the first pass) or one the server no longer holds (the oplog rolled
   past it), it opens the stream first, rebuilds every row, then carries on from where
   that stream stood: nothing committed during the rebuild is missed.

A row is as stale as the worker's pass (WORKER_INTERVAL seconds, 5 by default);
`lag(db)` says how many changes are waiting.
"""

import time

from pymongo import ASCENDING

from plumbing import transactions
from plumbing.changefeed import KeptPosition
from plumbing.jobs import Job

COLLECTION = "bookings_flat"
FEED = "bookings_flat"
# The embedded database answers on one thread: the follower works in small steps so a
# booking never waits behind it for long (a transaction of BATCH changes, rows written
# REBUILD_ROWS at a time), and a pass ends after PASS_SECONDS; the next one carries on.
BATCH = 100
REBUILD_ROWS = 500
PASS_LIMIT = 20_000
PASS_SECONDS = 2.0
WATCHED = ["bookings", "hotels", "room_types"]
PIPELINE = [
    {
        "$match": {
            "operationType": {"$in": ["insert", "update", "replace", "delete"]},
            "ns.coll": {"$in": WATCHED},
        }
    }
]
POSITION = KeptPosition(FEED, PIPELINE)  # in feed_positions
BOOKINGS_FLAT = [
    # One document per room and night: a booking's rooms (one room, made of its top-level
    # fields, for a booking made before `rooms` existed), then each room's nights.
    {
        "$addFields": {
            "room": {
                "$ifNull": [
                    "$rooms",
                    [{"room_type": "$room_type", "nightly_prices": "$nightly_prices"}],
                ]
            }
        }
    },
    {"$unwind": {"path": "$room", "includeArrayIndex": "room_index"}},
    {"$unwind": "$room.nightly_prices"},
    {
        "$addFields": {
            "room_type": "$room.room_type",
            "rate_plan": {"$ifNull": ["$room.rate_plan", "standard"]},
            "night": "$room.nightly_prices",
        }
    },
    {"$lookup": {"from": "hotels", "localField": "hotel", "foreignField": "_id", "as": "h"}},
    {
        "$lookup": {
            "from": "room_types",
            "localField": "room_type",
            "foreignField": "_id",
            "as": "rt",
        }
    },
    # One element each; a plain sub-document path then works on every server (a nested
    # path through the looked-up array does not on the embedded one).
    {"$addFields": {"h": {"$arrayElemAt": ["$h", 0]}, "rt": {"$arrayElemAt": ["$rt", 0]}}},
    {
        "$project": {
            "_id": 0,
            "booking": "$_id",
            "room": "$room_index",
            "confirmation_code": 1,
            "guest": 1,
            "hotel": 1,
            "hotel_name": "$h.name",
            "city": "$h.address.city",
            "country": "$h.address.country",
            "room_type": 1,
            "room_type_name": "$rt.name",
            "rate_plan": 1,
            "date": "$night.date",
            "price": "$night.price",
            "net": "$night.net",  # the price without VAT, when it includes VAT
            "currency": 1,
            "status": 1,
            "check_in": 1,
            "check_out": 1,
            "nights": 1,
            "booked_at": "$_created",
            "lead_time_days": {
                "$dateDiff": {"startDate": "$_created", "endDate": "$check_in", "unit": "day"}
            },
        }
    },
]

INDEXES = [
    ([("hotel", ASCENDING), ("date", ASCENDING)], "hotel_date"),
    ([("hotel", ASCENDING), ("check_in", ASCENDING)], "hotel_check_in"),
    ([("booking", ASCENDING)], "booking"),
]


def provision(db):
    """The kept collection and its indexes (a database of before had a view of the
    name, computed on each read: it goes, and the first `drain` fills the collection)."""
    found = next(iter(db.list_collections(filter={"name": COLLECTION})), None)
    if found is not None and found.get("type") == "view":
        db.drop_collection(COLLECTION)
    for keys, name in INDEXES:
        db[COLLECTION].create_index(keys, name=name)


def computed(db, match):
    """The flat rows of the bookings `match` selects, by the aggregation pipeline (the
    definition the analysts' export runs; `drift` checks the kept rows against it)."""
    rows = db.bookings.aggregate([{"$match": match}, *BOOKINGS_FLAT])
    return [dict(row, _id=row_id(row)) for row in rows]


def row_id(row):
    return f"{row['booking']}:{row['room']}:{row['date']:%Y-%m-%d}"


def rows_of(booking, hotels, room_types):
    """The same rows as the pipeline, computed here from the booking and its hotel and
    room types (dicts by id): no lookup per night on the database's one thread."""
    rooms = booking.get("rooms") or [
        {"room_type": booking.get("room_type"), "nightly_prices": booking.get("nightly_prices")}
    ]
    hotel = hotels.get(booking.get("hotel")) or {}
    address = hotel.get("address") or {}
    created, check_in = booking.get("_created"), booking.get("check_in")
    shared = {
        "booking": booking["_id"],
        **{f: booking[f] for f in _COPIED if f in booking},
        **({"hotel_name": hotel["name"]} if "name" in hotel else {}),
        **{f: address[f] for f in ("city", "country") if f in address},
        **({"booked_at": created} if created is not None else {}),
        "lead_time_days": (check_in.date() - created.date()).days
        if created is not None and check_in is not None
        else None,
    }
    found = []
    for index, room in enumerate(rooms):
        kind = room.get("room_type")
        name = (room_types.get(kind) or {}).get("name")
        for night in room.get("nightly_prices") or []:
            row = {
                **shared,
                "room": index,
                **({"room_type": kind} if kind is not None else {}),
                **({"room_type_name": name} if name is not None else {}),
                "rate_plan": room.get("rate_plan") or "standard",
                "date": night.get("date"),
                "price": night.get("price"),
                **({"net": night["net"]} if "net" in night else {}),
            }
            found.append(dict(row, _id=row_id(row)))
    return found


_COPIED = ("confirmation_code", "guest", "hotel", "currency", "status", "check_in")
_COPIED += ("check_out", "nights")


def _names(db, bookings, session=None):
    hotel_ids = {b.get("hotel") for b in bookings}
    kinds = {r.get("room_type") for b in bookings for r in (b.get("rooms") or [b])}
    hotels = db.hotels.find(
        {"_id": {"$in": list(hotel_ids)}}, {"name": 1, "address": 1}, session=session
    )
    room_types = db.room_types.find({"_id": {"$in": list(kinds)}}, {"name": 1}, session=session)
    return {h["_id"]: h for h in hotels}, {r["_id"]: r for r in room_types}


def _replace(db, session, bookings):
    """Replace the rows of these booking ids by their recomputation (gone: no rows)."""
    ids = sorted(bookings)
    db[COLLECTION].delete_many({"booking": {"$in": ids}}, session=session)
    found = list(db.bookings.find({"_id": {"$in": ids}}, session=session))
    hotels, room_types = _names(db, found, session)
    rows = [row for booking in found for row in rows_of(booking, hotels, room_types)]
    if rows:
        db[COLLECTION].insert_many(rows, session=session)


def _concerned(db, changes):
    """The booking ids the changes concern: a booking's own; a hotel's or room type's
    bookings (their names, city and country are copied onto the rows)."""
    bookings = set()
    for change in changes:
        key = change["documentKey"]["_id"]
        collection = change["ns"]["coll"]
        if collection == "bookings":
            bookings.add(key)
        elif collection == "hotels":
            bookings.update(b["_id"] for b in db.bookings.find({"hotel": key}, {"_id": 1}))
        else:
            found = db.bookings.find(
                {"$or": [{"room_type": key}, {"rooms.room_type": key}]}, {"_id": 1}
            )
            bookings.update(b["_id"] for b in found)
    return bookings


def rebuild(db):
    """Every row again from the bookings (the first pass, a lost token, `reconcile`)."""
    db[COLLECTION].delete_many({})
    hotels = {h["_id"]: h for h in db.hotels.find({}, {"name": 1, "address": 1})}
    room_types = {r["_id"]: r for r in db.room_types.find({}, {"name": 1})}
    rows, count = [], 0
    for booking in db.bookings.find({}):
        count += 1
        rows += rows_of(booking, hotels, room_types)
        if len(rows) >= REBUILD_ROWS:
            db[COLLECTION].insert_many(rows, ordered=False)
            rows = []
    if rows:
        db[COLLECTION].insert_many(rows, ordered=False)
    return count


def drain(db, limit=None):
    """Apply every change committed since the kept token; returns how many were read."""
    stream = POSITION.open(db)
    if stream is None:  # no token, or one too old: rebuild from here
        stream = POSITION.fresh(db)
        position = stream.resume_token  # where it stands before the rebuild reads
        rebuild(db)
        POSITION.save(db, position)
    read, deadline = 0, time.monotonic() + PASS_SECONDS
    with stream:
        while limit is None or read < limit:
            batch, last = [], None
            # On a busy cluster the position moves on with every write it does not watch:
            # a pass also ends at its deadline, and the next one carries on.
            caught_up = time.monotonic() > deadline
            while len(batch) < BATCH and not caught_up and time.monotonic() <= deadline:
                before = stream.resume_token
                change = stream.try_next()
                if change is not None:
                    batch.append(change)
                    last = change["_id"]
                elif stream.resume_token == before:
                    caught_up = True  # the server has nothing newer for us
                    break
                # An empty batch whose position moved on: the server skipped writes
                # this feed does not watch and has more to read - not caught up yet.
            if batch:
                bookings = _concerned(db, batch)
                if bookings:
                    transactions.run(
                        db.client, lambda session, ids=bookings: _replace(db, session, ids)
                    )
                POSITION.save(
                    db, last
                )  # only once applied: a crash before this applies them again
                read += len(batch)
            if caught_up:
                if stream.resume_token is not None:
                    POSITION.save(db, stream.resume_token)
                return read
    return read


def drift(db):
    """The ids of rows that differ from a recomputation from the bookings (tests and
    `reconcile`): missing, stray or different."""
    kept = {r["_id"]: r for r in db[COLLECTION].find()}
    fresh = {r["_id"]: r for r in computed(db, {})}
    return sorted(set(kept) ^ set(fresh)) + sorted(
        k for k in set(kept) & set(fresh) if kept[k] != fresh[k]
    )


def _follow(context):
    drain(context.db, limit=PASS_LIMIT)


JOBS = (Job("bookings flat", every=5, run=_follow),)
