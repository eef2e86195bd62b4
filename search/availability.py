"""Availability search: one offer per room type sellable on every night of a stay.

One aggregation over inventory per request. Its first $match is fully covered by one
index - (city, date) for a city or hotel search, (date) otherwise - and every other
predicate waits for the second stage: on the embedded server a predicate the index does
not cover turns the first stage into a collection scan, and a real mongod is fast either
way. A `near` search first asks the 2dsphere index which hotels are in range.
"""

import math

from bson import Decimal128

from plumbing.values import Day, money

SORTS = {
    "total_price": [("total", 1), ("_id", 1)],
    "-total_price": [("total", -1), ("_id", 1)],
    "-stars": [("hotel.stars", -1), ("total", 1), ("_id", 1)],
    "-rating": [("hotel.rating.average", -1), ("hotel.rating.count", -1), ("total", 1)],
    "distance": [("distance_km", 1), ("total", 1), ("_id", 1)],
}
EARTH_RADIUS_KM = 6371.0088


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


def pipeline(query, hotel_city=None, distances=None):
    """The aggregation for a parsed query (see routes/availability.py for the fields)."""
    check_in, check_out = query["check_in"], query["check_out"]
    stay = {"$gte": check_in, "$lt": check_out}
    second = {"closed": False, "$expr": {"$lt": ["$booked", "$allotment"]}}
    city = hotel_city or query.get("city")
    first = {"city": city, "date": stay} if city else {"date": stay}
    if query.get("hotel"):
        second["hotel"] = query["hotel"]
    if query.get("country"):
        second["country"] = query["country"]
    if query.get("currency"):
        second["currency"] = query["currency"]
    if distances is not None:
        second["hotel"] = {"$in": list(distances)}
    nights = (check_out - check_in).days
    hotel_match = {"hotel.status": "active"}
    if query.get("min_stars"):
        hotel_match["hotel.stars"] = {"$gte": query["min_stars"]}
    if query.get("amenities"):
        hotel_match["hotel.amenities"] = {"$all": query["amenities"]}
    stages = [
        {"$match": first},
        {"$match": second},
        {
            "$group": {
                "_id": "$room_type",
                "hotel_id": {"$first": "$hotel"},
                "currency": {"$first": "$currency"},
                "nights": {"$sum": 1},
                "total": {"$sum": "$price"},
                "nightly_prices": {"$push": {"date": "$date", "price": "$price"}},
                "rooms_left": {"$min": {"$subtract": ["$allotment", "$booked"]}},
                "arrival_min_stay": {
                    "$max": {"$cond": [{"$eq": ["$date", check_in]}, "$min_stay", 0]}
                },
            }
        },
        {"$match": {"nights": nights, "arrival_min_stay": {"$lte": nights}}},
    ]
    if query.get("max_price") is not None:
        stages.append({"$match": {"total": {"$lte": Decimal128(query["max_price"])}}})
    stages += [
        {
            "$lookup": {
                "from": "room_types",
                "localField": "_id",
                "foreignField": "_id",
                "as": "room_type",
            }
        },
        {"$unwind": "$room_type"},
        {
            "$match": {
                "room_type.max_adults": {"$gte": query["adults"]},
                "room_type.max_children": {"$gte": query["children"]},
            }
        },
        {
            "$lookup": {
                "from": "hotels",
                "localField": "hotel_id",
                "foreignField": "_id",
                "as": "hotel",
            }
        },
        {"$unwind": "$hotel"},
        {"$match": hotel_match},
    ]
    if distances is not None:
        stages.append(
            {
                "$addFields": {
                    "distance_km": {
                        "$switch": {
                            "branches": [
                                {"case": {"$eq": ["$hotel_id", hotel_id]}, "then": km}
                                for hotel_id, km in distances.items()
                            ],
                            "default": None,
                        }
                    }
                }
            }
        )
    skip = (query["page"] - 1) * query["max_results"]
    stages += [
        {"$sort": dict(SORTS[query["sort"]])},
        {
            "$facet": {
                "items": [{"$skip": skip}, {"$limit": query["max_results"]}],
                "total": [{"$count": "n"}],
            }
        },
    ]
    return stages


def search(db, query):
    """(offers, total) for a parsed query."""
    hotel_city, distances = None, None
    if query.get("hotel"):
        hotel = db.hotels.find_one({"_id": query["hotel"]}, {"address.city": 1})
        if hotel is None:
            return [], 0
        hotel_city = hotel["address"]["city"]
    if query.get("near"):
        distances = hotels_near(db, query["near"], query["max_km"])
        if not distances:
            return [], 0
    result = next(db.inventory.aggregate(pipeline(query, hotel_city, distances)))
    total = result["total"][0]["n"] if result["total"] else 0
    return [offer(raw, query) for raw in result["items"]], total


def offer(raw, query):
    hotel, room_type, currency = raw["hotel"], raw["room_type"], raw["currency"]
    rating = hotel.get("rating") or {"average": 0, "count": 0}
    nightly = sorted(
        (
            {"date": Day.of(n["date"]), "price": money(n["price"].to_decimal(), currency)}
            for n in raw["nightly_prices"]
        ),
        key=lambda n: n["date"],
    )
    item = {
        "hotel": {
            "_id": hotel["_id"],
            "name": hotel["name"],
            "stars": hotel.get("stars"),
            "city": hotel["address"]["city"],
            "rating": {"average": rating.get("average", 0), "count": rating.get("count", 0)},
        },
        "room_type": {
            "_id": room_type["_id"],
            "name": room_type["name"],
            "max_adults": room_type["max_adults"],
            "max_children": room_type.get("max_children", 0),
        },
        "check_in": query["check_in"],
        "check_out": query["check_out"],
        "nights": raw["nights"],
        "nightly_prices": nightly,
        "total_price": money(raw["total"].to_decimal(), currency),
        "currency": currency,
        "rooms_left": raw["rooms_left"],
        "_links": {
            "hotel": {"title": "hotel", "href": f"hotels/{hotel['_id']}"},
            "room_type": {"title": "room type", "href": f"room-types/{room_type['_id']}"},
            "book": {"title": "book", "href": "bookings", "method": "POST"},
        },
    }
    if raw.get("distance_km") is not None:
        item["distance_km"] = round(raw["distance_km"], 2)
    return item
