"""Demo data: a hotel business with a history.

32 hotels in 8 real cities (`size="large"`: 216 in 24, the catalogue bench/search.py
measures), a year of priced inventory - the last PAST_NIGHTS nights and the rest ahead -
and the bookings such a year brings: stays over the past months with weekday, weekend and
seasonal patterns per city; bookings on the books ahead (most for the coming weeks, few
for next season); cancellations refunded by their policy, holds that expired unpaid,
payments, refunds and reviews; then the KPIs kept ready from all of it.

Deterministic (fixed random seeds), so figures in the README can be reproduced, and
resumable: the plan is stored first, and each batch of nights is recorded once written,
so a restart carries on where the last run stopped. Nights load in the order guests need
them: the coming ones first (bookable within seconds while `make run` already serves),
then the rest ahead, then the past. A batch writes its bookings before its inventory rows,
whose `booked` counts them, so `reconcile` finds nothing to fix at any batch boundary.
Documents get the domain's defaults (a field an admin added with one included).
"""

import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bson import Decimal128, ObjectId
from pymongo.errors import BulkWriteError
from tqdm import tqdm

import domain
from booking.reservations import CODE_ALPHABET, price_rooms, refund_due
from catalogue import cards, rate_plans
from domain.vocabulary import EXAMPLE_PLANS, HOTEL_AMENITIES
from identity import accounts
from plumbing import jsonschema
from plumbing.context import answers_to_bump
from plumbing.errors import DUPLICATE_KEY, refused_by_validator
from plumbing.values import Day, created, minor_text, quantize, to_minor, utcnow
from reporting import kpis

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
# What a stay pays beyond its nights in the demo's cities (catalogue/charges.py), after
# each city's own rules, simplified: VAT (or sales tax) included or added, a city tax per
# guest per night, and fees per room.
CITY_TAXES = {
    "Paris": {
        "vat_percent": 10,
        "vat_included": True,
        "city_tax": {"per_person_per_night": "3.25", "children_exempt": True},
    },
    "London": {"vat_percent": 20, "vat_included": True},
    "Prague": {
        "vat_percent": 12,
        "vat_included": True,
        "city_tax": {"per_person_per_night": "50.00", "children_exempt": True, "max_nights": 60},
    },
    "Zurich": {
        "vat_percent": 3.8,
        "vat_included": True,
        "city_tax": {"per_person_per_night": "2.50", "children_exempt": True},
    },
    "Dubai": {
        "vat_percent": 5,
        "vat_included": False,
        "fees": [
            {"code": "tourism_dirham", "name": "Tourism Dirham", "amount": "15.00", "per": "night"}
        ],
    },
    "Tokyo": {
        "vat_name": "Consumption tax",
        "vat_percent": 10,
        "vat_included": True,
        "city_tax": {"per_person_per_night": "200", "children_exempt": False},
    },
    "New York": {
        "vat_name": "Sales tax",
        "vat_percent": 14.75,
        "vat_included": False,
        "fees": [
            {"code": "occupancy", "name": "Hotel occupancy fee", "amount": "2.00", "per": "night"}
        ],
    },
    "Sydney": {"vat_name": "GST", "vat_percent": 10, "vat_included": True},
}


def demo_taxes(city):
    """A city's demo taxes, money as Decimal128 as a hotel stores it (None: none)."""
    taxes = CITY_TAXES.get(city)
    if taxes is None:
        return None
    taxes = dict(taxes)
    if "city_tax" in taxes:
        amount = Decimal128(taxes["city_tax"]["per_person_per_night"])
        taxes["city_tax"] = {**taxes["city_tax"], "per_person_per_night": amount}
    if "fees" in taxes:
        taxes["fees"] = [{**fee, "amount": Decimal128(fee["amount"])} for fee in taxes["fees"]]
    return taxes


def exchange_rates(db, now):
    """The demo's exchange-rate table (units per euro, rough, of the day it was seeded):
    one per currency the demo's cities price in. Kept when already there."""
    day = Day.of(now)
    for _city, _country, _lng, _lat, currency, _tz, _level, fx, _step in CITIES:
        if currency != "EUR":
            db.exchange_rates.update_one(
                {"currency": currency},
                {
                    "$setOnInsert": {
                        "currency": currency,
                        "rate": Decimal128(Decimal(fx).quantize(Decimal("0.0001"))),
                        "as_of": day,
                        **_meta(now),
                    }
                },
                upsert=True,
            )


# The demo's cities: each currency's rounding and a time zone on every continent.
DEMO_CITIES = [
    "Paris",
    "London",
    "Prague",
    "Zurich",
    "Dubai",
    "Tokyo",
    "New York",
    "Sydney",
]
# cities, hotels per city, room types per hotel, rooms per room type, with a history
SIZES = {
    "small": (["Paris", "London", "Tokyo", "New York"], 2, (2, 3), (2, 4), True),  # tests
    "demo": (DEMO_CITIES, 4, (2, 3), (2, 4), True),
    # The search benchmark's catalogue: 241,265 inventory rows, no bookings.
    "large": ([c[0] for c in CITIES], 9, (2, 4), (3, 25), False),
}
PAST_NIGHTS = 60
BATCH_NIGHTS = 8
GUESTS = 80

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


PAY_AT_HOTEL = {"code": "pay-at-hotel", "name": "Pay at the hotel", "payment": "at_hotel"}


def demo_plans(fx, currency, at_hotel=False):
    """The example plans (domain/vocabulary.py) in the hotel's currency: flexible,
    non-refundable 15 % off, breakfast for about 18 EUR a guest a night; and, `at_hotel`,
    the flexible terms paid at the hotel with the card as a guarantee."""
    plans = []
    for plan in EXAMPLE_PLANS:
        if "supplement_per_person" in plan:
            local = (Decimal(plan["supplement_per_person"]) * fx).quantize(Decimal(1))
            plan = {**plan, "supplement_per_person": Decimal128(quantize(local, currency))}
        plans.append(plan)
    return [*plans, PAY_AT_HOTEL] if at_hotel else plans


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


def seed_demo(
    db,
    progress=False,
    nights=365,
    past=PAST_NIGHTS,
    start=None,
    size="demo",
    now=None,
):
    """Seed the demo business into an empty catalogue, in one go (or finish what a stopped
    run began). The year is `nights` nights from `start` (default: `past` nights ago);
    the history is told as of `now` (default: now)."""
    plan = seed_catalogue(db, nights=nights, past=past, start=start, size=size, now=now)
    if not plan["skipped"]:
        load_year(db, plan, progress)
    return plan


def loading(db):
    """Whether a demo seed is writing its year now (started, not complete)."""
    return (
        db.seed_progress.find_one({"_id": PROGRESS_ID, "state": {"$ne": "complete"}}) is not None
    )


def seed_catalogue(db, nights=365, past=PAST_NIGHTS, start=None, size="demo", now=None):
    """Accounts, hotels and room types; returns the plan whose year load_year writes.

    Resumable: the plan (every catalogue document, the guests and the pricing) is stored
    in `seed_progress` before anything else is written, and load_year records each batch
    of nights it finishes, so a run stopped at any point is finished by the next start.
    A catalogue that has hotels the seed did not plan is left alone (plan["skipped"]);
    so is one whose seed completed.
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
    now = now or utcnow().replace(microsecond=0)
    start = start or Day.of(now).plus(-past)
    hotels, room_types, pricing = _plan(accounts, size)
    db.seed_progress.insert_one(
        {
            "_id": PROGRESS_ID,
            "state": "catalogue",
            "from": start,
            "nights": nights,
            "now": now,
            "size": size,
            "next_night": 0,
            "hotels": hotels,
            "room_types": room_types,
            "guests": _guests(now, accounts["guest"]),
            "pricing": [
                {**p, "base": Decimal128(p["base"].quantize(Decimal("0.0001")))} for p in pricing
            ],
        }
    )
    return _resume(db, db.seed_progress.find_one({"_id": PROGRESS_ID}), started)


def _resume(db, stored, started):
    """Write the stored plan's catalogue and guests (what is there already stays), then
    hand back the plan with the night its year continues from."""
    for collection, documents in (
        ("hotels", stored["hotels"]),
        ("room_types", stored["room_types"]),
        ("users", stored["guests"][1:]),  # the first is the demo guest account
    ):
        _insert_missing(db[collection], documents)
    cards.rebuild(db)
    exchange_rates(db, stored["now"])
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
        "now": stored["now"],
        "history": SIZES[stored.get("size", "demo")][4],
        "next_night": stored["next_night"],
        "catalogue": {"hotels": stored["hotels"], "room_types": stored["room_types"]},
        "guests": [g["_id"] for g in stored["guests"]],
        "pricing": pricing,
        "seconds": round(time.monotonic() - started, 1),
    }


def _guests(now, demo_guest):
    """The demo guest account first, then the guests of the history: accounts that
    cannot sign in (no password), as imported from another system would be."""
    rng = random.Random(20261125)
    first = [
        "Ada",
        "Alan",
        "Grace",
        "Linus",
        "Hedy",
        "Tim",
        "Katherine",
        "Edsger",
        "Barbara",
        "Donald",
        "Frances",
        "Ken",
        "Margaret",
        "Dennis",
        "Radia",
        "John",
    ]
    last = [
        "Lovelace",
        "Turing",
        "Hopper",
        "Torvalds",
        "Lamarr",
        "Berners-Lee",
        "Johnson",
        "Dijkstra",
        "Liskov",
        "Knuth",
        "Allen",
        "Thompson",
        "Hamilton",
        "Ritchie",
        "Perlman",
        "Backus",
    ]
    guests = [{"_id": demo_guest}]
    for n in range(GUESTS):
        name = f"{rng.choice(first)} {rng.choice(last)}"
        guests.append(
            {
                "_id": _object_id(now - timedelta(days=400 - n), rng),
                "email": f"guest{n + 1}@history.innkeeper.test",
                "name": name,
                "role": "guest",
                "password_hash": "!",  # no password: signing in is impossible
                "token_version": 0,
                **_meta(now),
            }
        )
    return guests


def _object_id(moment, rng):
    """A deterministic ObjectId whose time part is `moment` (so a resumed seed makes the
    same ids, and `_id` order follows creation as it does for live documents)."""
    seconds = int(moment.replace(tzinfo=UTC).timestamp())
    return ObjectId(seconds.to_bytes(4, "big") + rng.randbytes(8))


class SeedRefused(RuntimeError):
    """MongoDB's validator refused demo documents: the domain asks for something the
    seed cannot invent (a required field without a default). The message says what."""


def with_defaults(collection_name, documents):
    """The documents with the domain's defaults for any field they lack, as Eve fills
    them on a POST."""
    schema = jsonschema.resource_schema(domain.build_domain()[collection_name])
    return [jsonschema.fill_defaults(schema, document) for document in documents]


def _insert_missing(collection, documents, defaults_filled=False):
    """Insert documents (with the domain's defaults); the ones a stopped run already
    wrote are left as they are."""
    if not defaults_filled:
        documents = with_defaults(collection.name, documents)
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


def _plan(accounts, size="demo"):
    """Every hotel, room type and price rule of the demo, from a fixed random seed."""
    now = utcnow()
    rng = random.Random(20261201)
    cities, hotels_per_city, kinds, rooms, _history = SIZES[size]
    hotels, room_types, pricing = [], [], []
    for city, country, lng, lat, currency, tz, level, fx, step in CITIES:
        if city not in cities:
            continue
        for n in range(hotels_per_city):
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
                            # Free until a week before: the non-refundable rate's
                            # 15 % off still buys something (no policy refunds nothing).
                            {"free_until_hours": 168, "penalty_percent": 100},
                        ]
                    ),
                    # The demo manager runs the first hotel of every city.
                    "managers": [accounts["manager"]] if n == 0 else [],
                    "status": "active",
                    "rating": {"average": 0, "count": 0},
                    **({"taxes": demo_taxes(city)} if city in CITY_TAXES else {}),
                    **_meta(now),
                }
            )
            star_factor = Decimal("0.55") + Decimal(stars) * Decimal("0.2")
            for name_, adults, children, beds, size, factor, amen in rng.sample(
                _ROOM_TYPES, rng.randint(*kinds)
            ):
                room_type_id = ObjectId()
                total = rng.randint(*rooms)
                room_types.append(
                    {
                        "_id": room_type_id,
                        "hotel": hotel_id,
                        "currency": currency,
                        "name": name_,
                        "description": f"{name_} at {name}.",
                        "max_adults": adults,
                        "max_children": children,
                        "beds": beds,
                        "size_m2": size,
                        "amenities": amen,
                        "total_rooms": total,
                        # The demo manager's hotels also sell pay-at-the-hotel.
                        "rate_plans": demo_plans(Decimal(fx), currency, at_hotel=n == 0),
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
    return hotels, room_types, pricing


# -- the history -------------------------------------------------------------------------

STAY_LENGTHS = ([1, 2, 3, 4, 5, 7], [15, 28, 24, 14, 10, 9])
REVIEW_COMMENTS = {
    5: ["Wonderful stay, we will be back.", "Spotless room and a lovely team."],
    4: ["Great location, comfortable beds.", "Very good value; breakfast could be better."],
    3: ["Fine for a night or two.", "Decent room, a little noisy at night."],
    2: ["Tired decor and slow check-in.", "Not as pictured."],
    1: ["Would not stay again.", "The room was not ready when we arrived."],
}
# Each city's busy and quiet months (the southern hemisphere and the Gulf turn it round).
DEFAULT_SEASON = {
    1: "0.75",
    2: "0.8",
    5: "1.05",
    6: "1.15",
    7: "1.2",
    8: "1.1",
    9: "1.1",
    11: "0.8",
    12: "1.05",
}
CITY_SEASONS = {
    "Sydney": {1: "1.2", 2: "1.15", 6: "0.8", 7: "0.8", 12: "1.25"},
    "Dubai": {1: "1.2", 2: "1.2", 3: "1.1", 7: "0.6", 8: "0.6", 12: "1.2"},
    "Singapore": {},
}


def _season(city):
    months = CITY_SEASONS.get(city, DEFAULT_SEASON)
    return {month: Decimal(level) for month, level in months.items()}


def demand(night, today_, season):
    """Share of a hotel's rooms sold for `night`, before the hotel's own level: a weekend
    lift (Friday and Saturday), the city's season, and - for nights ahead - only what is
    on the books already (most for the coming week, little for next season)."""
    level = Decimal("1.15") if night.weekday() in (4, 5) else Decimal("0.92")
    level *= season.get(night.month, Decimal(1))
    ahead = (night - today_).days
    if ahead >= 0:
        level *= Decimal(
            "0.9" if ahead < 7 else "0.6" if ahead < 30 else "0.3" if ahead < 90 else "0.04"
        )
    return level


def history(plan):
    """The year's bookings as (bookings, payments, reviews, booked) - `booked` counts the
    live stays per room type and night index - made identically from the same plan."""
    rng = random.Random(20261124)
    start, count = plan["from"], plan["nights"]
    if not plan.get("history", True):
        return [], [], [], {}
    today_ = Day.of(plan["now"])
    hotels = {h["_id"]: h for h in plan["catalogue"]["hotels"]}
    room_types = {r["_id"]: r for r in plan["catalogue"]["room_types"]}
    level = {
        h["_id"]: Decimal(str(round(rng.uniform(0.45, 0.8), 2)))
        for h in plan["catalogue"]["hotels"]
    }
    # The history is told as of the start of the seed's UTC day, not its second: which
    # draws the story makes (a booking made "in the future" moved back, a refund's
    # moment) must not depend on the time of day, or two seeds on one day differ.
    story = _Story(rng, {**plan, "now": datetime.combine(today_, datetime.min.time())})
    booked = {}
    for p in plan["pricing"]:
        hotel, room_type = hotels[p["denorm"]["hotel"]], room_types[p["room_type"]]
        season = _season(hotel["address"]["city"])
        taken = booked[p["room_type"]] = [0] * count
        for i in range(count):
            want = p["allotment"] * level[hotel["_id"]] * demand(start.plus(i), today_, season)
            want = min(p["allotment"], int(want + Decimal(str(rng.random()))))
            while taken[i] < want:
                length = rng.choices(*STAY_LENGTHS)[0]
                stay = 0
                while stay < length and i + stay < count and taken[i + stay] < p["allotment"]:
                    taken[i + stay] += 1
                    stay += 1
                story.stay(p, room_type, hotel, i, stay, "confirmed")
                if rng.random() < 0.14:  # someone else booked around then and cancelled
                    other = max(0, min(count - 1, i + rng.randint(-5, 5)))
                    story.stay(p, room_type, hotel, other, min(length, count - other), "cancelled")
                if rng.random() < 0.05:  # and a hold that was never paid
                    story.stay(p, room_type, hotel, i, min(length, count - i), "expired")
    return story.bookings, story.payments, story.reviews, booked


class _Story:
    """Makes a booking's documents: the booking, its payment, its refund, its review."""

    def __init__(self, rng, plan):
        self.rng, self.plan, self.now = rng, plan, plan["now"]
        self.guests = plan["guests"]
        self.bookings, self.payments, self.reviews = [], [], []
        self.codes = set()

    def _code(self):
        while True:
            code = "".join(self.rng.choice(CODE_ALPHABET) for _ in range(8))
            if code not in self.codes:
                self.codes.add(code)
                return code

    def _etag(self):
        return format(self.rng.getrandbits(160), "040x")

    def stay(self, p, room_type, hotel, first, count, status):
        rng, now = self.rng, self.now
        currency = hotel["currency"]
        check_in = self.plan["from"].plus(first)
        stay = [check_in.plus(k) for k in range(count)]
        prices = [quantize(nightly_price(p["base"], night, p["step"]), currency) for night in stay]
        lead = min(int(rng.expovariate(1 / 24)), 300)
        created = check_in - timedelta(
            days=lead, hours=rng.randint(2, 20), minutes=rng.randint(0, 59)
        )
        if created >= now:
            created = now - timedelta(hours=rng.randint(1, 24 * 6))
        # One booking in 40 is the demo guest's, so their /me has a history too.
        guest = self.guests[0] if rng.random() < 0.025 else rng.choice(self.guests[1:])
        adults = rng.randint(1, room_type["max_adults"])
        children = rng.randint(0, room_type.get("max_children", 0))
        terms = {
            "code": "flexible",
            "name": "Flexible",
            "discount_percent": 0,
            "supplement_per_person": minor_text(0, currency),
            "meal": "room_only",
            "payment": "prepay",
        }
        booking = {
            "_id": _object_id(created, rng),
            "room_type": room_type["_id"],
            "rate_plan": "flexible",
            "rate_plan_terms": terms,
            "rooms": [
                {
                    "room_type": room_type["_id"],
                    "rate_plan": "flexible",
                    "adults": adults,
                    "children": children,
                    "rate_plan_terms": terms,
                }
            ],
            "hotel": hotel["_id"],
            "guest": guest,
            "city": hotel["address"]["city"],
            "check_in": check_in,
            "check_out": check_in.plus(count),
            "adults": adults,
            "children": children,
            "nights": count,
            "status": status,
            "currency": currency,
            "tax_terms": hotel.get("taxes") or {},
            "hold_expires_at": created + timedelta(minutes=15),
            "confirmation_code": self._code(),
            "cancellation_policy": rate_plans.policy(EXAMPLE_PLANS[0], hotel),
            "payment": "prepay",
            "_created": created,
            "_updated": created,
            "_etag": self._etag(),
        }
        # priced as a booking is: its nights, the hotel's taxes and fees, the all-in total
        night_rows = {
            n: {"price": Decimal128(price)} for n, price in zip(stay, prices, strict=True)
        }
        price_rooms(booking, {room_type["_id"]: night_rows})
        total = booking["total_price"].to_decimal()
        self.bookings.append(booking)
        paid = created + timedelta(minutes=rng.randint(1, 12))
        if status == "expired":
            expired = booking["hold_expires_at"]
            booking.update(expired_at=expired, _updated=expired)
            if rng.random() < 0.4:
                self._payment(booking, paid, "failed", failure_reason="card_declined")
            return
        if status == "cancelled" and rng.random() < 0.4:  # cancelled before paying
            booking.update(cancelled_at=paid, _updated=paid)
            return
        booking.update(status="confirmed", confirmed_at=paid, _updated=paid)
        payment = self._payment(booking, paid, "succeeded")
        if status == "cancelled":
            window = max(1, int((min(now, check_in) - paid).total_seconds()))
            when = paid + timedelta(seconds=rng.randint(1, window))
            refund = refund_due(booking, when)
            booking.update(
                status="cancelled",
                cancelled_at=when,
                _updated=when,
                refund_amount=Decimal128(refund),
            )
            refunded = "refunded" if refund == total else "partially_refunded"
            payment.update(
                status=refunded if refund else "succeeded",
                refunded_amount=Decimal128(refund),
                _updated=when,
            )
        else:
            at_the_desk(booking, now)
            reviewed = stay[-1] < Day.of(now).plus(-1) and rng.random() < 0.35
            if reviewed and booking["status"] == "checked_out":
                self._review(booking, hotel)

    def _payment(self, booking, when, status, failure_reason=None):
        payment = {
            "_id": _object_id(when, self.rng),
            "booking": booking["_id"],
            "guest": booking["guest"],
            "hotel": booking["hotel"],
            "payment_method": self.rng.choice(["pm_card_visa", "pm_card_mastercard"])
            if status == "succeeded"
            else "pm_card_chargeDeclined",
            "amount": booking["total_price"],
            "currency": booking["currency"],
            "status": status,
            "refunded_amount": Decimal128(quantize(Decimal(0), booking["currency"])),
            "provider": "sandbox",
            "provider_reference": f"sbx_{self.rng.getrandbits(64):016x}",
            "_created": when,
            "_updated": when,
            "_etag": self._etag(),
        }
        if failure_reason:
            payment["failure_reason"] = failure_reason
        self.payments.append(payment)
        return payment

    def _review(self, booking, hotel):
        rng = self.rng
        rating = max(1, min(5, round(hotel["stars"] - 0.4 + rng.gauss(0, 0.9))))
        when = booking["check_out"] + timedelta(days=rng.randint(0, 6), hours=rng.randint(8, 22))
        when = min(self.now, when)
        self.reviews.append(
            {
                "_id": _object_id(when, rng),
                "booking": booking["_id"],
                "hotel": booking["hotel"],
                "guest": booking["guest"],
                "rating": rating,
                "comment": rng.choice(REVIEW_COMMENTS[rating]),
                "_created": when,
                "_updated": when,
                "_etag": self._etag(),
            }
        )


# -- loading -----------------------------------------------------------------------------


def inventory_rows(plan, night, booked):
    """Every room type's row for one night; `booked` maps a room type to its live stays."""
    now = utcnow()
    for p in plan["pricing"]:
        currency = p["denorm"]["currency"]
        price = quantize(nightly_price(p["base"], night, p["step"]), currency)
        yield {
            "room_type": p["room_type"],
            "date": night,
            "allotment": p["allotment"],
            "booked": booked.get(p["room_type"], 0),
            "price": Decimal128(price),
            "price_minor": to_minor(price, currency),
            "closed": False,
            "min_stay": 2 if night.weekday() == 5 and p["stars"] == 5 else 1,
            **p["denorm"],
            **_meta(now),
        }


def night_order(plan):
    """Night indexes in the order they load: from today to the end, then back to the
    first (a seed that starts in the future loads in date order)."""
    first_ahead = max(0, min(plan["nights"], (Day.of(plan["now"]) - plan["from"]).days))
    return [*range(first_ahead, plan["nights"]), *range(first_ahead - 1, -1, -1)]


def _by_batch(plan, order, batch_nights, bookings, payments, reviews):
    """{batch: {collection: documents}}: a booking (and its payment and review) goes with
    the first batch that writes one of its nights."""
    position = {night: k for k, night in enumerate(order)}
    batch_of = {}
    for booking in bookings:
        first = (booking["check_in"] - plan["from"]).days
        nights_ = range(first, first + booking["nights"])
        batch_of[booking["_id"]] = min(position[i] for i in nights_) // batch_nights
    batches = {}
    for kind, documents in (("bookings", bookings), ("payments", payments), ("reviews", reviews)):
        for document in documents:
            owner = document["_id"] if kind == "bookings" else document["booking"]
            batches.setdefault(batch_of[owner], {}).setdefault(kind, []).append(document)
    return batches


def load_year(db, plan, progress=False, log=None, batch_nights=BATCH_NIGHTS):
    """Write the plan's year batch by batch (its bookings, payments and reviews, then the
    inventory rows that count them), then ratings and KPIs; returns the seconds it took.
    Each batch makes the cached answers stale."""
    started = time.monotonic()
    bookings, payments, reviews, booked = history(plan)
    order = night_order(plan)
    batches = _by_batch(plan, order, batch_nights, bookings, payments, reviews)
    bar = tqdm(total=plan["inventory_rows"], unit="rows", desc="year", disable=not progress)
    resume = plan.get("next_night", 0)
    bar.update(resume * len(plan["pricing"]))

    def prepare(first):
        """A batch's documents, defaults filled: made in a thread while the database
        writes the previous batch (the embedded server is the bottleneck)."""
        batch = batches.get(first // batch_nights, {})
        documents = {kind: with_defaults(kind, batch[kind]) for kind in batch}
        rows = [
            row
            for i in order[first : first + batch_nights]
            for row in inventory_rows(
                plan, plan["from"].plus(i), {rt: taken[i] for rt, taken in booked.items()}
            )
        ]
        documents["inventory"] = with_defaults("inventory", rows)
        return documents

    starts = range(resume, len(order), batch_nights)
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = pool.submit(prepare, starts[0]) if starts else None
        for first in starts:
            documents = upcoming.result()
            if first + batch_nights < len(order):
                upcoming = pool.submit(prepare, first + batch_nights)
            _write_batch(db, plan, first, batch_nights, documents, bar, log)
    bar.close()
    _ratings(db, reviews)
    _kpis(db, plan, bookings)
    db.seed_progress.update_one(
        {"_id": PROGRESS_ID},
        {
            "$set": {"state": "complete"},
            "$unset": {"hotels": "", "room_types": "", "pricing": "", "guests": ""},
        },
    )
    plan.update(
        bookings=len(bookings),
        payments=len(payments),
        reviews=len(reviews),
        year_seconds=round(time.monotonic() - started, 1),
    )
    return plan["year_seconds"]


def _answers_stale():
    """A batch committed: any cached search answer may have changed."""
    answers_to_bump().bump_everything()


def _write_batch(db, plan, first, batch_nights, documents, bar, log):
    """Bookings, payments and reviews, then the inventory rows counting them; then the
    progress mark (a stopped run may have written some: those stay as they are)."""
    for kind in ("bookings", "payments", "reviews", "inventory"):
        if documents.get(kind):
            _insert_missing(db[kind], documents[kind], defaults_filled=True)
    rows = documents["inventory"]
    last = min(first + batch_nights, plan["nights"])
    db.seed_progress.update_one({"_id": PROGRESS_ID}, {"$set": {"next_night": last}})
    _answers_stale()
    bar.update(len(rows))
    if log and (first // batch_nights) % 10 == 9:
        log(f"demo year: {last}/{plan['nights']} nights written")


def _kpis(db, plan, bookings):
    """The KPI rows of the year, computed from the history in hand by the functions the
    KPI worker uses (reporting/kpis.py), so nothing is read back."""
    as_of = utcnow()
    hotels = {h["_id"]: h for h in plan["catalogue"]["hotels"]}
    available = {hotel: {} for hotel in hotels}
    for p in plan["pricing"]:
        nights = available[p["denorm"]["hotel"]]
        for i in range(plan["nights"]):
            night = plan["from"].plus(i)
            nights[night] = nights.get(night, 0) + p["allotment"]
    sold = kpis.count_nights(bookings)
    by_city = {}
    for hotel_id, hotel in hotels.items():
        rows = kpis.hotel_kpis(hotel, available[hotel_id], sold.get(hotel_id, {}), as_of)
        kpis.write_hotel(db, hotel_id, rows)
        by_city.setdefault(hotel["address"]["city"], []).extend(rows)
    for city, rows in by_city.items():
        kpis.write_city(db, city, kpis.city_kpis(city, rows, as_of))


def _ratings(db, reviews):
    """Each hotel's rating from its reviews, as the review transaction keeps it."""
    ratings = {}
    for review in reviews:
        count, total = ratings.get(review["hotel"], (0, 0))
        ratings[review["hotel"]] = (count + 1, total + review["rating"])
    for hotel, (count, total) in ratings.items():
        rating = {"average": round(total / count, 2), "count": count, "sum": total}
        db.hotels.update_one({"_id": hotel}, {"$set": {"rating": rating}})
        cards.set_rating(db, hotel, rating)


def at_the_desk(booking, now):
    """What the front desk made of a confirmed stay by `now`: guests who have arrived are
    checked in (in at 15:00 on the arrival day), those whose stay ended checked out (at
    10:00 on the last day); one booking in about thirty, by its code (no random draw, so
    the rest of the demo stays as it was), never came and is a no-show at midnight."""
    arrival = datetime(
        booking["check_in"].year, booking["check_in"].month, booking["check_in"].day
    )
    departure = datetime(
        booking["check_out"].year, booking["check_out"].month, booking["check_out"].day
    )
    if sum(map(ord, booking["confirmation_code"])) % 30 == 0:
        missed = arrival + timedelta(days=1)
        if missed <= now:
            booking.update(status="no_show", no_show_at=missed, _updated=missed)
        return
    checked_in, checked_out = arrival + timedelta(hours=15), departure + timedelta(hours=10)
    if checked_out <= now:
        booking.update(
            status="checked_out",
            checked_in_at=checked_in,
            checked_out_at=checked_out,
            _updated=checked_out,
        )
    elif checked_in <= now:
        booking.update(status="checked_in", checked_in_at=checked_in, _updated=checked_in)


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
        if "bookings" in report:
            lines.append(
                f"  history: {report['bookings']} bookings, {report['payments']} payments, "
                f"{report['reviews']} reviews ({report['year_seconds']} s)"
            )
    lines.append("demo accounts (email / password):")
    for role, (email, password, _) in DEMO_ACCOUNTS.items():
        lines.append(f"  {role:8} {email} / {password}")
    return "\n".join(lines)
