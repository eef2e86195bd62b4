"""GET /availability: offers for a stay, filtered, sorted and paginated like Eve's lists."""

from urllib.parse import urlencode

import orjson
import simplejson as json
from bson import ObjectId
from flask import Blueprint, current_app, request

from booking.reservations import check_stay
from domain.vocabulary import HOTEL_AMENITIES
from plumbing import bodies, openapi
from plumbing.context import db
from plumbing.errors import Refusal
from plumbing.responses import respond
from plumbing.values import city_key, parse_days, parse_money, today
from search import availability
from search import model as search_model
from search.parameters import INTEGERS, QUERY

bp = Blueprint("availability", __name__)


def _bad(query, name, issues):
    query.check(name, None, issues)  # records the schema's reason
    return query.parameters[name]["schema"].get("default")


def parse_query(args):
    """Validate the query string into typed values; 400 naming every bad parameter. A
    parameter sent empty (a search form's unfilled box) is a parameter not sent."""
    args = {name: value for name, value in args.items() if value != ""}
    issues = {name: "unknown parameter" for name in args if name not in QUERY.parameters}
    query = parse_days(args, ("check_in", "check_out"), issues)
    for name in INTEGERS:
        query[name] = QUERY.integer(args, name, issues)
    if args.get("city") is not None:
        # searched by its key (plumbing/values.city_key): "Zurich" finds Zürich
        query["city"] = city_key(QUERY.check("city", args["city"].strip(), issues) or "")
    if args.get("country") is not None:
        query["country"] = QUERY.check("country", args["country"].upper(), issues)
    for name in ("currency", "display_currency"):
        if args.get(name) is not None:
            query[name] = QUERY.check(name, args[name].upper(), issues)
    if args.get("hotel") is not None:
        if ObjectId.is_valid(args["hotel"]):
            query["hotel"] = ObjectId(args["hotel"])
        else:
            _bad(QUERY, "hotel", issues)
    if args.get("near") is not None:
        try:
            lng, lat = (float(x) for x in args["near"].split(","))
            if not (-180 <= lng <= 180 and -90 <= lat <= 90):
                raise ValueError
            query["near"] = (lng, lat)
        except ValueError:
            _bad(QUERY, "near", issues)
        try:
            query["max_km"] = QUERY.check("max_km", float(args.get("max_km", 10)), issues)
        except ValueError:
            _bad(QUERY, "max_km", issues)
    elif args.get("max_km") is not None:
        issues["max_km"] = "only applies together with near"
    if args.get("amenities") is not None and QUERY.check("amenities", args["amenities"], issues):
        amenities = [a.strip() for a in args["amenities"].split(",") if a.strip()]
        unknown = [a for a in amenities if a not in HOTEL_AMENITIES]
        if unknown:
            issues["amenities"] = "unknown amenities: " + ", ".join(unknown)[:200]
        query["amenities"] = amenities
    if args.get("max_price") is not None:
        try:
            query["max_price"] = parse_money(args["max_price"]).to_decimal()
        except ValueError:
            _bad(QUERY, "max_price", issues)
    query["sort"] = QUERY.check("sort", args.get("sort", "total_price"), issues)
    if query["sort"] == "distance" and "near" not in query:
        issues["sort"] = "distance needs near=<lng>,<lat>"
    if issues:
        raise Refusal(400, "invalid search: " + ", ".join(sorted(issues)), issues)
    check_stay(query["check_in"], query["check_out"], today().plus(-1))
    return query


def _link(args, page, title):
    return {"title": title, "href": "availability?" + urlencode({**args, "page": page})}


def _source(written):
    """The read model once it has applied every write acknowledged before this search
    (search/model.py), else the database."""
    return search_model.source_of(current_app.extensions["search_model"], db(), written)


def answer(query):
    """(total, the offers as JSON text, what `_meta` says of them, "hit" | "miss" | "off",
    where it was computed): from the answer cache (search/answers.py) when it holds this
    query under current generations, else computed and stored."""
    cache = current_app.extensions["answers"]
    cached, key, written = cache.lookup(query)
    if cached is not None:
        total, meta, items = cached.split("\n", 2)
        return int(total), items, orjson.loads(meta), "hit", "cache"
    source = _source(written)
    offers, total, meta = availability.search(source, query)
    items = orjson.dumps(offers).decode()
    cache.store(key, f"{total}\n{orjson.dumps(meta).decode()}\n{items}")
    return total, items, meta, "miss" if cache.enabled else "off", source.name


CALENDAR_DAYS = 62
CALENDAR = bodies.Query(
    {
        "from": {"schema": {"type": "string", "format": "date"}, "required": True},
        "to": {
            "schema": {"type": "string", "format": "date"},
            "description": "the night after the last check-in",
            "required": True,
        },
        "nights": {"schema": {"type": "integer", "minimum": 1, "maximum": 30, "default": 1}},
    }
)


def parse_calendar(args):
    """The calendar's own parameters (from, to, nights), then the search's filters, checked
    by parse_query on the first stay of the span."""
    issues = {}
    span = parse_days(args, ("from", "to"), issues)
    nights = CALENDAR.integer(args, "nights", issues)
    if "from" in span and "to" in span:
        days = (span["to"] - span["from"]).days
        if not 1 <= days <= CALENDAR_DAYS:
            issues["to"] = f"must be 1 to {CALENDAR_DAYS} days after from"
    if issues:
        raise Refusal(400, "invalid price calendar: " + ", ".join(sorted(issues)), issues)
    filters = {k: v for k, v in args.items() if k not in ("from", "to", "nights")}
    stay = {
        "check_in": span["from"].isoformat(),
        "check_out": span["from"].plus(nights).isoformat(),
    }
    query = parse_query({**filters, **stay})
    return query, span["from"], span["to"], nights


@bp.get("/availability/calendar")
def price_calendar():
    """The lowest total for each check-in night of a span (a hotel's or a city's), for a
    stay of `nights` and the party: which dates are cheapest. From the answer cache under
    the same generations as a search, else computed in one pass over the span."""
    args = request.args.to_dict()
    query, first, end, nights = parse_calendar(args)
    cache = current_app.extensions["answers"]
    key_query = {**query, "calendar": [first, end, nights]}
    cached, key, written = cache.lookup(key_query)
    state, source_name = "hit", "cache"
    if cached is None:
        source = _source(written)
        source_name = source.name
        days, compare = availability.calendar(source, query, first, end, nights)
        cached = json.dumps(
            [
                availability.calendar_day(day, nights, lowest, query, compare)
                for day, lowest in days
            ],
            separators=(",", ":"),
        )
        cache.store(key, cached)
        state = "miss" if cache.enabled else "off"
    items = json.loads(cached)
    for item in items:
        search = {k: v for k, v in args.items() if k not in ("from", "to", "nights")}
        search.update(check_in=item["check_in"], check_out=item["check_out"])
        item["_links"] = {
            "search": {"title": "offers", "href": "availability?" + urlencode(search)}
        }
    return respond(
        {
            "_items": items,
            "_links": {
                "self": {
                    "title": "price calendar",
                    "href": "availability/calendar?" + urlencode(args),
                },
                "parent": {"title": "home", "href": "/"},
            },
        },
        headers={"X-Search-Cache": state, "X-Search-Source": source_name},
    )


@bp.get("/availability")
def search():
    args = request.args.to_dict()
    query = parse_query(args)
    total, items, meta, cached, source_name = answer(query)
    links = {
        "self": _link(args, query["page"], "availability"),
        "parent": {"title": "home", "href": "/"},
    }
    last = max(1, -(-total // query["max_results"]))
    if query["page"] < last:
        links["next"] = _link(args, query["page"] + 1, "next page")
        links["last"] = _link(args, last, "last page")
    if query["page"] > 1:
        links["prev"] = _link(args, query["page"] - 1, "previous page")
    return respond(
        {
            "_items": json.RawJSON(items),
            "_meta": {
                "page": query["page"],
                "max_results": query["max_results"],
                "total": total,
                **meta,
            },
            "_links": links,
        },
        headers={"X-Search-Cache": cached, "X-Search-Source": source_name},
    )


SEARCH_STATUSES = (200, 400, 422, 429, 503)
_LINK = {
    "type": "object",
    "required": ["href"],
    "properties": {
        "title": {"type": "string"},
        "href": {"type": "string"},
        "method": {"type": "string"},
        "body": {"type": "object", "description": "what to send, for an action link"},
    },
}
_LINE = {
    "type": "object",
    "required": ["code", "name", "amount"],
    "properties": {
        "code": {"type": "string", "description": "vat, city_tax, or the hotel's fee code"},
        "name": {"type": "string"},
        "amount": openapi.MONEY,
        "included": {
            "type": "boolean",
            "description": "taxes: true when the room price already includes it (VAT)",
        },
    },
}
PRICE_BREAKDOWN = {
    "type": "object",
    "title": "PriceBreakdown",
    "description": "room (the nights under the rate plan) + fees + taxes not included = "
    "total, the all-in amount the guest pays (catalogue/charges.py)",
    "required": ["room", "taxes", "fees", "total"],
    "properties": {
        "room": openapi.MONEY,
        "taxes": {"type": "array", "items": _LINE},
        "fees": {"type": "array", "items": _LINE},
        "total": openapi.MONEY,
    },
}
CONVERTED = {
    "type": "object",
    "title": "ConvertedTotal",
    "description": "with display_currency: the all-in total in it, by the exchange-rates "
    "table; the charge stays total_price in currency",
    "properties": {
        "total_price": openapi.MONEY,
        "currency": {"type": "string"},
        "rates_as_of": {"type": ["string", "null"], "format": "date"},
    },
}
_OFFER = {
    "type": "object",
    "required": [
        "hotel",
        "room_type",
        "rate_plan",
        "check_in",
        "check_out",
        "nights",
        "nightly_prices",
        "price_breakdown",
        "total_price",
        "currency",
        "rooms_left",
        "_links",
    ],
    "properties": {
        "hotel": {
            "type": "object",
            "title": "OfferHotel",
            "required": ["_id", "name", "city"],
            "properties": {
                "_id": openapi.OBJECT_ID,
                "name": {"type": "string"},
                "stars": {"type": ["integer", "null"]},
                "city": {"type": "string"},
                "rating": {
                    "type": "object",
                    "title": "OfferRating",
                    "properties": {
                        "average": {"type": "number"},
                        "count": {"type": "integer"},
                    },
                },
            },
        },
        "room_type": {
            "type": "object",
            "title": "OfferRoomType",
            "required": ["_id", "name", "max_adults"],
            "properties": {
                "_id": openapi.OBJECT_ID,
                "name": {"type": "string"},
                "max_adults": {"type": "integer"},
                "max_children": {"type": "integer"},
            },
        },
        "rate_plan": {
            "type": "object",
            "title": "OfferRatePlan",
            "description": "the plan this offer sells under; its total is the plan's",
            "required": ["code", "name", "refundable", "summary"],
            "properties": {
                "code": {"type": "string"},
                "name": {"type": "string"},
                "meal": {"type": "string"},
                "payment": {
                    "type": "string",
                    "enum": ["prepay", "at_hotel"],
                    "description": "prepay: paid when booking; at_hotel: paid at the "
                    "hotel, the card saved as a guarantee",
                },
                "refundable": {
                    "type": "boolean",
                    "description": "true only when some cancellation gives money back "
                    "(or, paid at the hotel, costs less than the total)",
                },
                "free_until_hours": {"type": "integer"},
                "penalty_percent": {"type": "integer"},
                "summary": {"type": "string", "description": "the plan and its policy in words"},
            },
        },
        "check_in": {"type": "string", "format": "date"},
        "check_out": {"type": "string", "format": "date"},
        "nights": {"type": "integer"},
        "nightly_prices": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "date": {"type": "string", "format": "date"},
                    "price": openapi.MONEY,
                },
            },
        },
        "price_breakdown": PRICE_BREAKDOWN,
        "total_price": {**openapi.MONEY, "description": "the all-in total: what is charged"},
        "currency": {"type": "string"},
        "converted": CONVERTED,
        "rooms_left": {"type": "integer"},
        "distance_km": {"type": "number"},
        "_links": {
            "type": "object",
            "title": "OfferLinks",
            "required": ["hotel", "room_type", "book"],
            "properties": {"hotel": _LINK, "room_type": _LINK, "book": _LINK},
        },
    },
}
OPENAPI = {
    "/api/v1/availability": {
        "get": {
            "tags": ["availability"],
            "summary": "Offers: one per room type and rate plan sellable on every night, "
            "for the party",
            "parameters": QUERY.openapi_parameters(),
            "responses": openapi.responses(
                *SEARCH_STATUSES,
                ok={
                    "type": "object",
                    "properties": {
                        "_items": {"type": "array", "items": _OFFER},
                        "_meta": {"type": "object"},
                        "_links": {"type": "object"},
                    },
                },
            ),
        }
    },
}

_CALENDAR_DAY = {
    "type": "object",
    "title": "CalendarDay",
    "required": ["check_in", "check_out", "nights", "lowest"],
    "properties": {
        "check_in": {"type": "string", "format": "date"},
        "check_out": {"type": "string", "format": "date"},
        "nights": {"type": "integer"},
        "lowest": {
            "type": "array",
            "description": "the cheapest sellable stay in each currency, cheapest first; "
            "empty when nothing sells for that check-in",
            "items": {
                "type": "object",
                "title": "CalendarPrice",
                "properties": {
                    "total_price": {**openapi.MONEY, "description": "the all-in total"},
                    "currency": {"type": "string"},
                    "price_breakdown": PRICE_BREAKDOWN,
                    "converted": CONVERTED,
                    "hotel": {
                        "type": "object",
                        "title": "CalendarHotel",
                        "properties": {"_id": openapi.OBJECT_ID, "name": {"type": "string"}},
                    },
                    "room_type": {
                        "type": "object",
                        "title": "CalendarRoomType",
                        "properties": {"_id": openapi.OBJECT_ID, "name": {"type": "string"}},
                    },
                    "rate_plan": {
                        "type": "object",
                        "title": "CalendarRatePlan",
                        "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
                    },
                },
            },
        },
        "_links": {"type": "object"},
    },
}
OPENAPI["/api/v1/availability/calendar"] = {
    "get": {
        "tags": ["availability"],
        "summary": "Price calendar: the lowest total for each check-in night of a span",
        "parameters": [
            *CALENDAR.openapi_parameters(),
            *[
                p
                for p in OPENAPI["/api/v1/availability"]["get"]["parameters"]
                if p["name"] not in ("check_in", "check_out", "page", "max_results", "sort")
            ],
        ],
        "responses": openapi.responses(
            *SEARCH_STATUSES,
            ok={
                "type": "object",
                "properties": {
                    "_items": {"type": "array", "items": _CALENDAR_DAY},
                    "_links": {"type": "object"},
                },
            },
        ),
    }
}

OPENAPI["/api/v1/availability"]["get"]["responses"]["200"]["headers"] = {
    "X-Search-Cache": {
        "description": "hit: the answer cache held this search under current generations; "
        "miss: computed now (and kept); off: SEARCH_CACHE=0",
        "schema": {"enum": ["hit", "miss", "off"]},
    },
    "X-Search-Source": {
        "description": "where the answer was computed: cache (a kept answer), model (the "
        "read model in the API process, caught up with every acknowledged write) or "
        "database (the model loading, behind, or SEARCH_MODEL=0)",
        "schema": {"enum": ["cache", "model", "database"]},
    },
}
OPENAPI["/api/v1/availability/calendar"]["get"]["responses"]["200"].setdefault(
    "headers", {}
).update(OPENAPI["/api/v1/availability"]["get"]["responses"]["200"]["headers"])
