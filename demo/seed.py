"""Demo data: a believable catalogue of 216 hotels in 24 real cities, a year of inventory.

Deterministic (a fixed random seed), so figures in the README can be reproduced.
The catalogue goes in first (a second or two); the ~230,000 inventory rows follow night by
night from today onward, so that `make run` can serve while the later nights load.
Indexes stay in place throughout: the API may take writes while the seed runs.
"""

import random
import time
from decimal import Decimal

from bson import Decimal128, ObjectId
from pymongo.errors import BulkWriteError
from tqdm import tqdm

import domain
from domain.vocabulary import HOTEL_AMENITIES
from identity import accounts
from plumbing import jsonschema
from plumbing.errors import DUPLICATE_KEY, refused_by_validator
from plumbing.values import Day, created, quantize, to_minor, today, utcnow
from search import cards

DEMO_ACCOUNTS = {
    "admin": ("admin@innkeeper.test", "innkeeper-admin-demo", "Demo Admin"),
    "manager": ("manager@innkeeper.test", "innkeeper-manager-demo", "Demo Manager"),
    "guest": ("guest@innkeeper.test", "innkeeper-guest-demo", "Demo Guest"),
}

# city, country, lng, lat, currency, timezone, price level (EUR per standard double night),
# units per EUR (rough), rounding step in the local currency
CITIES = [
    ("Paris", "FR", 2.3522, 48.8566, "EUR", "Europe/Paris", 140, 1, "1"),
    ("London", "GB", -0.1276, 51.5072, "GBP", "Europe/London", 150, Decimal("0.85"), "1"),
    ("Berlin", "DE", 13.4050, 52.5200, "EUR", "Europe/Berlin", 100, 1, "1"),
    ("Madrid", "ES", -3.7038, 40.4168, "EUR", "Europe/Madrid", 105, 1, "1"),
    ("Barcelona", "ES", 2.1734, 41.3851, "EUR", "Europe/Madrid", 125, 1, "1"),
    ("Rome", "IT", 12.4964, 41.9028, "EUR", "Europe/Rome", 120, 1, "1"),
    ("Amsterdam", "NL", 4.9041, 52.3676, "EUR", "Europe/Amsterdam", 150, 1, "1"),
    ("Lisbon", "PT", -9.1393, 38.7223, "EUR", "Europe/Lisbon", 110, 1, "1"),
    ("Vienna", "AT", 16.3738, 48.2082, "EUR", "Europe/Vienna", 110, 1, "1"),
    ("Prague", "CZ", 14.4378, 50.0755, "CZK", "Europe/Prague", 85, 25, "10"),
    ("Copenhagen", "DK", 12.5683, 55.6761, "DKK", "Europe/Copenhagen", 140, Decimal("7.46"), "5"),
    ("Stockholm", "SE", 18.0686, 59.3293, "SEK", "Europe/Stockholm", 120, Decimal("11.2"), "10"),
    ("Zurich", "CH", 8.5417, 47.3769, "CHF", "Europe/Zurich", 170, Decimal("0.94"), "1"),
    ("Athens", "GR", 23.7275, 37.9838, "EUR", "Europe/Athens", 95, 1, "1"),
    ("Dublin", "IE", -6.2603, 53.3498, "EUR", "Europe/Dublin", 140, 1, "1"),
    ("Istanbul", "TR", 28.9784, 41.0082, "TRY", "Europe/Istanbul", 80, 38, "50"),
    ("Dubai", "AE", 55.2708, 25.2048, "AED", "Asia/Dubai", 130, Decimal("3.97"), "5"),
    ("Tokyo", "JP", 139.6917, 35.6895, "JPY", "Asia/Tokyo", 120, 165, "100"),
    ("Singapore", "SG", 103.8198, 1.3521, "SGD", "Asia/Singapore", 150, Decimal("1.45"), "1"),
    ("Bangkok", "TH", 100.5018, 13.7563, "THB", "Asia/Bangkok", 70, 38, "50"),
    ("Sydney", "AU", 151.2093, -33.8688, "AUD", "Australia/Sydney", 140, Decimal("1.65"), "1"),
    ("New York", "US", -74.0060, 40.7128, "USD", "America/New_York", 180, Decimal("1.08"), "1"),
    (
        "San Francisco",
        "US",
        -122.4194,
        37.7749,
        "USD",
        "America/Los_Angeles",
        170,
        Decimal("1.08"),
        "1",
    ),
    ("Montreal", "CA", -73.5673, 45.5017, "CAD", "America/Toronto", 110, Decimal("1.48"), "1"),
]
HOTELS_PER_CITY = 9

_NAME_PARTS = (
    [
        "Grand",
        "Royal",
        "Park",
        "Harbour",
        "Garden",
        "Central",
        "Riverside",
        "Old Town",
        "Boutique",
        "Station",
        "Palace",
        "Plaza",
        "Skyline",
        "Artisan",
        "Lantern",
        "Linden",
    ],
    ["Hotel", "Inn", "Suites", "House", "Residence", "Lodge", "Hotel & Spa", "Rooms"],
)
_ROOM_TYPES = [
    # name, max_adults, max_children, beds, size, price factor, amenities
    ("Single", 1, 0, [{"type": "single", "count": 1}], 14, Decimal("0.75"), ["wifi", "desk"]),
    (
        "Standard Double",
        2,
        0,
        [{"type": "double", "count": 1}],
        18,
        Decimal("1.0"),
        ["wifi", "tv", "hairdryer"],
    ),
    ("Twin", 2, 1, [{"type": "twin", "count": 2}], 20, Decimal("1.05"), ["wifi", "tv"]),
    (
        "Deluxe King",
        2,
        1,
        [{"type": "king", "count": 1}],
        26,
        Decimal("1.45"),
        ["wifi", "tv", "minibar", "coffee_machine", "bathtub"],
    ),
    (
        "Family Room",
        2,
        2,
        [{"type": "queen", "count": 1}, {"type": "sofa_bed", "count": 1}],
        32,
        Decimal("1.7"),
        ["wifi", "tv", "kettle", "safe"],
    ),
    (
        "Junior Suite",
        3,
        1,
        [{"type": "king", "count": 1}, {"type": "sofa_bed", "count": 1}],
        40,
        Decimal("2.3"),
        ["wifi", "tv", "minibar", "balcony", "sea_view"],
    ),
]
_HOTEL_AMENITY_POOL = HOTEL_AMENITIES
PROGRESS_ID = "demo"


def _meta(now):
    return created(now)


def season_factor(night):
    month = night.month
    if month in (6, 7, 8):
        return Decimal("1.25")
    if month == 12 and night.day >= 20:
        return Decimal("1.3")
    if month in (1, 2, 11):
        return Decimal("0.9")
    return Decimal("1.0")


def weekday_factor(night):
    return Decimal("1.2") if night.weekday() in (4, 5) else Decimal("1.0")


def nightly_price(base_local, night, step):
    raw = base_local * season_factor(night) * weekday_factor(night)
    step = Decimal(step)
    return (raw / step).quantize(Decimal(1)) * step


def _accounts(db):
    ids = {}
    for role, (email, password, name) in DEMO_ACCOUNTS.items():
        existing = db.users.find_one({"email": email})
        user = existing or accounts.create_user(db, email, password, name, role)
        ids[role] = user["_id"]
    return ids


def seed_demo(db, progress=False, nights=365, start=None, on_batch=None):
    """Seed catalogue and inventory into an empty catalogue, in one go (or finish one a
    stopped run began)."""
    plan = seed_catalogue(db, nights=nights, start=start)
    if not plan["skipped"]:
        load_inventory(db, plan, progress, on_batch=on_batch)
    return plan


def seed_catalogue(db, nights=365, start=None):
    """Accounts, hotels and room types; returns the plan whose inventory load_inventory writes.

    Resumable: the plan (every catalogue document and the pricing) is stored in
    `seed_progress` before anything else is written, and load_inventory records each
    batch of nights it finishes, so a run stopped at any point is finished by the next
    start. A catalogue that has hotels the seed did not plan is left alone
    (plan["skipped"]); so is one whose seed completed.
    """
    started = time.monotonic()
    accounts = _accounts(db)
    stored = db.seed_progress.find_one({"_id": PROGRESS_ID})
    if stored is not None:
        if stored["state"] == "complete":
            return {"skipped": True, "seconds": 0.0}
        return _resume(db, stored, started)
    if db.hotels.find_one({}, {"_id": 1}):
        return {"skipped": True, "seconds": 0.0}
    hotels, room_types, pricing, start = _plan(accounts, start)
    db.seed_progress.insert_one(
        {
            "_id": PROGRESS_ID,
            "state": "catalogue",
            "from": start,
            "nights": nights,
            "next_night": 0,
            "hotels": hotels,
            "room_types": room_types,
            "pricing": [
                {**p, "base": Decimal128(p["base"].quantize(Decimal("0.0001")))} for p in pricing
            ],
        }
    )
    return _resume(db, db.seed_progress.find_one({"_id": PROGRESS_ID}), started)


def _resume(db, stored, started):
    """Write the stored plan's catalogue (what is there already stays), then hand back
    the plan with the night its inventory continues from."""
    for collection, documents in (
        ("hotels", stored["hotels"]),
        ("room_types", stored["room_types"]),
    ):
        _insert_missing(db[collection], documents)
    cards.rebuild(db)
    db.seed_progress.update_one(
        {"_id": PROGRESS_ID, "state": "catalogue"}, {"$set": {"state": "inventory"}}
    )
    pricing = [{**p, "base": p["base"].to_decimal()} for p in stored["pricing"]]
    start, nights = Day.of(stored["from"]), stored["nights"]
    return {
        "skipped": False,
        "resumed_at": stored["next_night"] or None,
        "hotels": len(stored["hotels"]),
        "cities": len({h["address"]["city"] for h in stored["hotels"]}),
        "room_types": len(stored["room_types"]),
        "inventory_rows": len(pricing) * nights,
        "from": start,
        "to": start.plus(nights),
        "nights": nights,
        "next_night": stored["next_night"],
        "pricing": pricing,
        "seconds": round(time.monotonic() - started, 1),
    }


class SeedRefused(RuntimeError):
    """MongoDB's validator refused demo documents: the domain asks for something the
    seed cannot invent (a required field without a default). The message says what."""


def _insert_missing(collection, documents):
    """Insert documents (with the domain's defaults for any field they lack); the ones a
    stopped run already wrote are left as they are."""
    schema = jsonschema.resource_schema(domain.build_domain()[collection.name])
    documents = [jsonschema.fill_defaults(schema, document) for document in documents]
    try:
        collection.insert_many(documents, ordered=False)
    except BulkWriteError as error:
        refused = [e for e in error.details["writeErrors"] if e.get("code") != DUPLICATE_KEY]
        if not refused:
            return
        if refused_by_validator(error):
            raise SeedRefused(_why_refused(collection.name, refused[0])) from None
        raise


def _why_refused(collection, write_error):
    rules = write_error.get("errInfo", {}).get("details", {}).get("schemaRulesNotSatisfied", [])
    missing = sorted({f for rule in rules for f in rule.get("missingProperties", [])})
    what = (
        f"requires {', '.join(f'{collection}.{f}' for f in missing)}, which has no default"
        if missing
        else f"refuses the seed's {collection} documents ({write_error.get('errmsg')})"
    )
    return (
        f"demo seed stopped: the domain {what}. Give the field a default in "
        f"domain/{collection}.py (or make it optional), then start again: the seed "
        "carries on where it stopped."
    )


def _plan(accounts, start):
    """Every hotel, room type and price rule of the demo, from a fixed random seed."""
    now = utcnow()
    rng = random.Random(20261201)
    start = start or today()
    hotels, room_types, pricing = [], [], []
    for city, country, lng, lat, currency, tz, level, fx, step in CITIES:
        for n in range(HOTELS_PER_CITY):
            stars = rng.choice([2, 3, 3, 4, 4, 4, 5])
            name = f"{rng.choice(_NAME_PARTS[0])} {city} {rng.choice(_NAME_PARTS[1])}"
            hotel_id = ObjectId()
            hotels.append(
                {
                    "_id": hotel_id,
                    "name": name if n else f"Innkeeper {city}",
                    "description": f"A {stars}-star hotel in {city}.",
                    "address": {
                        "line1": f"{rng.randint(1, 200)} Main Street",
                        "city": city,
                        "country": country,
                        "postal_code": f"{rng.randint(1000, 99999)}",
                    },
                    "location": {
                        "type": "Point",
                        "coordinates": [
                            round(lng + rng.uniform(-0.06, 0.06), 5),
                            round(lat + rng.uniform(-0.04, 0.04), 5),
                        ],
                    },
                    "stars": stars,
                    "amenities": sorted(rng.sample(_HOTEL_AMENITY_POOL, rng.randint(3, 8))),
                    "currency": currency,
                    "timezone": tz,
                    "check_in_time": rng.choice(["14:00", "15:00", "16:00"]),
                    "check_out_time": rng.choice(["10:00", "11:00", "12:00"]),
                    "cancellation_policy": rng.choice(
                        [
                            {"free_until_hours": 24, "penalty_percent": 100},
                            {"free_until_hours": 48, "penalty_percent": 50},
                            {"free_until_hours": 72, "penalty_percent": 30},
                            {"free_until_hours": 0, "penalty_percent": 100},
                        ]
                    ),
                    # The demo manager runs the first hotel of every city.
                    "managers": [accounts["manager"]] if n == 0 else [],
                    "status": "active",
                    "rating": {"average": 0, "count": 0},
                    **_meta(now),
                }
            )
            star_factor = Decimal("0.55") + Decimal(stars) * Decimal("0.2")
            for name_, adults, children, beds, size, factor, amen in rng.sample(
                _ROOM_TYPES, rng.randint(2, 4)
            ):
                room_type_id = ObjectId()
                total = rng.randint(3, 25)
                room_types.append(
                    {
                        "_id": room_type_id,
                        "hotel": hotel_id,
                        "name": name_,
                        "description": f"{name_} at {name}.",
                        "max_adults": adults,
                        "max_children": children,
                        "beds": beds,
                        "size_m2": size,
                        "amenities": amen,
                        "total_rooms": total,
                        **_meta(now),
                    }
                )
                pricing.append(
                    {
                        "room_type": room_type_id,
                        "base": Decimal(level) * factor * star_factor * Decimal(fx),
                        "step": step,
                        "allotment": total,
                        "stars": stars,
                        "denorm": {
                            "hotel": hotel_id,
                            "city": city,
                            "country": country,
                            "currency": currency,
                        },
                    }
                )
    return hotels, room_types, pricing, start


def inventory_rows(plan, night):
    """Every room type's row for one night."""
    now = utcnow()
    for p in plan["pricing"]:
        currency = p["denorm"]["currency"]
        price = quantize(nightly_price(p["base"], night, p["step"]), currency)
        yield {
            "room_type": p["room_type"],
            "date": night,
            "allotment": p["allotment"],
            "booked": 0,
            "price": Decimal128(price),
            "price_minor": to_minor(price, currency),
            "closed": False,
            "min_stay": 2 if night.weekday() == 5 and p["stars"] == 5 else 1,
            **p["denorm"],
            **_meta(now),
        }


def load_inventory(db, plan, progress=False, log=None, batch_nights=8, on_batch=None):
    """Insert the plan's inventory nearest night first; returns the seconds it took.
    `on_batch()` is called after each batch of nights is written."""
    started = time.monotonic()
    bar = tqdm(total=plan["inventory_rows"], unit="rows", desc="inventory", disable=not progress)
    resume = plan.get("next_night", 0)
    done = resume * len(plan["pricing"])
    bar.update(done)
    for first in range(resume, plan["nights"], batch_nights):
        last = min(first + batch_nights, plan["nights"])
        rows = [
            row for i in range(first, last) for row in inventory_rows(plan, plan["from"].plus(i))
        ]
        _insert_missing(db.inventory, rows)  # a stopped run may have written some
        db.seed_progress.update_one({"_id": PROGRESS_ID}, {"$set": {"next_night": last}})
        if on_batch is not None:
            on_batch()
        bar.update(len(rows))
        done += len(rows)
        if log and (first // batch_nights) % 10 == 9:
            log(
                f"demo inventory: {done}/{plan['inventory_rows']} rows, nights up to "
                f"{plan['from'].plus(first + batch_nights)}"
            )
    bar.close()
    db.seed_progress.update_one(
        {"_id": PROGRESS_ID},
        {"$set": {"state": "complete"}, "$unset": {"hotels": "", "room_types": "", "pricing": ""}},
    )
    plan["inventory_seconds"] = round(time.monotonic() - started, 1)
    return plan["inventory_seconds"]


def describe(report):
    if report.get("skipped"):
        lines = ["demo data: the catalogue already has hotels; nothing seeded"]
    else:
        resumed = f", resuming at night {report['resumed_at']}" if report.get("resumed_at") else ""
        lines = [
            f"demo data: {report['hotels']} hotels in {report['cities']} cities{resumed}, "
            f"{report['room_types']} room types, {report['inventory_rows']} inventory rows "
            f"({report['from']} to {report['to']})"
        ]
    lines.append("demo accounts (email / password):")
    for role, (email, password, _) in DEMO_ACCOUNTS.items():
        lines.append(f"  {role:8} {email} / {password}")
    return "\n".join(lines)
