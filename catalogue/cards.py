"""Search cards: one document per room type holding what a search filters, sorts and shows.

A search reads a city's cards (index `city`) and that city's inventory rows for the stay
(index `city_date`): two indexed finds, no join and no aggregation in the database.
The cards are derived data, rebuilt from the hotel and its room types:

- after every write to a hotel or a room type (the catalogue hooks, so the API, the
  admin and `post_internal` alike), and in the review transaction for the rating;
- from scratch at provisioning (`make run`, the worker, `flask --app run provision`)
  and by `flask --app run reconcile`, which repairs whatever a crash between a catalogue
  write and its card refresh left behind.

Keeping the rating on one card per room type, not on the ~365 inventory rows of each,
is what makes a review one small write rather than a thousand.
"""

from bson import ObjectId
from pymongo import ASCENDING, DeleteMany, ReplaceOne

from catalogue import charges, rate_plans
from plumbing.context import answer_cache
from plumbing.values import city_key

COLLECTION = "search_rooms"
INDEXES = {
    "city": [("city", ASCENDING)],
    "city_key": [("city_key", ASCENDING)],
    "hotel": [("hotel", ASCENDING)],
    "country": [("country", ASCENDING)],
}
HOTEL_FIELDS = {
    "name": 1,
    "address.city": 1,
    "address.country": 1,
    "currency": 1,
    "status": 1,
    "stars": 1,
    "amenities": 1,
    "rating": 1,
    "cancellation_policy": 1,
    "timezone": 1,
    "check_in_time": 1,
    "location": 1,
    "taxes": 1,
}
ROOM_TYPE_FIELDS = {"hotel": 1, "name": 1, "max_adults": 1, "max_children": 1, "rate_plans": 1}


def plans(hotel, room_type):
    """The room type's rate plans as a search prices and shows them: the price rule in
    minor units, the policy a booking would snapshot, and both in plain words."""
    currency = hotel.get("currency", "EUR")
    city_tax = bool(((hotel.get("taxes") or {}).get("city_tax") or {}).get("per_person_per_night"))
    kept = []
    for plan in rate_plans.plans_of(room_type):
        card_plan = rate_plans.card_plan(plan, currency)
        card_plan["policy"] = rate_plans.policy(plan, hotel)
        card_plan["summary"] = rate_plans.words(card_plan, card_plan["policy"], currency, city_tax)
        del card_plan["cancellation"]  # the policy above is what a booking keeps
        kept.append(card_plan)
    return kept


def card(hotel, room_type):
    """The search card of a room type of a hotel: exactly the fields a search filters,
    sorts and shows, so a search reads cards whole, without a projection."""
    rating = hotel.get("rating") or {}
    return {
        "_id": room_type["_id"],
        "hotel": hotel["_id"],
        "hotel_name": hotel["name"],
        "city": hotel["address"]["city"],
        # what a search's `city` matches: "paris", "PARIS" and "Paris" alike
        "city_key": city_key(hotel["address"]["city"]),
        "country": hotel["address"]["country"],
        "currency": hotel.get("currency", "EUR"),
        # the hotel's taxes and fees in minor units (catalogue/charges.py), None if none
        "charges": charges.terms(hotel.get("taxes"), hotel.get("currency", "EUR")),
        "status": hotel.get("status", "active"),
        "stars": hotel.get("stars"),
        "amenities": sorted(hotel.get("amenities") or []),
        "rating": {"average": rating.get("average", 0), "count": rating.get("count", 0)},
        "name": room_type["name"],
        "max_adults": room_type["max_adults"],
        "max_children": room_type.get("max_children", 0),
        "plans": plans(hotel, room_type),
        # [lng, lat]: a `near` search answered from the read model measures from it.
        "location": (hotel.get("location") or {}).get("coordinates"),
    }


def refresh_hotel(db, hotel_id, session=None):
    """Rebuild the cards of one hotel from its current documents (or drop them); returns
    the hotel's city now (None when it is gone)."""
    collection = db[COLLECTION]
    hotel = db.hotels.find_one({"_id": hotel_id}, HOTEL_FIELDS, session=session)
    if hotel is None:
        collection.delete_many({"hotel": hotel_id}, session=session)
        return None
    room_types = list(db.room_types.find({"hotel": hotel_id}, ROOM_TYPE_FIELDS, session=session))
    ops = [ReplaceOne({"_id": r["_id"]}, card(hotel, r), upsert=True) for r in room_types]
    ops.append(DeleteMany({"hotel": hotel_id, "_id": {"$nin": [r["_id"] for r in room_types]}}))
    collection.bulk_write(ops, ordered=True, session=session)
    return hotel["address"]["city"]


def drop_room_type(db, room_type_id, session=None):
    db[COLLECTION].delete_one({"_id": room_type_id}, session=session)


def drop_hotel(db, hotel_id, session=None):
    db[COLLECTION].delete_many({"hotel": hotel_id}, session=session)


def add_room_types(db, room_types, session=None):
    """Inside a room type insert's transaction (before the insert itself): their cards,
    from the documents being inserted and their hotels."""
    for room_type in room_types:
        room_type.setdefault("_id", ObjectId())
        hotel = db.hotels.find_one({"_id": room_type["hotel"]}, HOTEL_FIELDS, session=session)
        if hotel is not None:
            db[COLLECTION].replace_one(
                {"_id": room_type["_id"]}, card(hotel, room_type), upsert=True, session=session
            )


def set_rating(db, hotel_id, rating, session=None):
    """Inside the review's transaction: the hotel's new rating on its cards."""
    db[COLLECTION].update_many(
        {"hotel": hotel_id},
        {"$set": {"rating": {"average": rating["average"], "count": rating["count"]}}},
        session=session,
    )


def expected(db):
    """Every card as the catalogue says it should be, by room type id."""
    hotels = {h["_id"]: h for h in db.hotels.find({}, HOTEL_FIELDS)}
    return {
        r["_id"]: card(hotels[r["hotel"]], r)
        for r in db.room_types.find({}, ROOM_TYPE_FIELDS)
        if r["hotel"] in hotels
    }


def drift(db):
    """(missing or wrong card ids, stray card ids) against a rebuild from scratch."""
    want = expected(db)
    have = {c["_id"]: c for c in db[COLLECTION].find()}
    wrong = sorted(i for i, c in want.items() if have.get(i) != c)
    return wrong, sorted(set(have) - set(want))


def rebuild(db):
    """Make every card match the catalogue; returns how many were written or removed."""
    wrong, stray = drift(db)
    want = expected(db)
    ops = [ReplaceOne({"_id": i}, want[i], upsert=True) for i in wrong]
    if stray:
        ops.append(DeleteMany({"_id": {"$in": stray}}))
    if ops:
        db[COLLECTION].bulk_write(ops, ordered=True)
    return len(wrong) + len(stray)


def provision(db):
    """Indexes, then a from-scratch check: idempotent, and cheap (one card a room type)."""
    collection = db[COLLECTION]
    for name, keys in INDEXES.items():
        collection.create_index(keys, name=name)
    return rebuild(db)


def everything_changed():
    """Every cached answer is stale (a rebuild, a domain change, a bulk load)."""
    answer_cache().bump_everything()


def ensure(db):
    """Start-up: the cards rebuilt if they do not match the catalogue's shape, and then
    no cached answer holds. Returns how many cards were rebuilt."""
    rebuilt = provision(db)
    if rebuilt:
        everything_changed()
    return rebuilt


def reconcile(db, fix=False, booked_drift=False):
    """(wrong, stray) cards against the catalogue; with `fix`, rebuilt, and the cached
    answers dropped when anything was repaired (`booked_drift`: reconcile fixed
    inventory counts too)."""
    wrong, stray = drift(db)
    if fix and (wrong or stray):
        rebuild(db)
    if fix and (booked_drift or wrong or stray):
        everything_changed()
    return wrong, stray


def domain_applied(db):
    """After `domain apply`: cards of the new shape, and no cached answer holds (fields
    and their defaults may have changed under them)."""
    provision(db)
    everything_changed()
