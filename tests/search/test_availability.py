"""GET /availability against hand-computed expectations; indexes used; parameters checked."""

from datetime import datetime

import pytest
from bson import Decimal128, ObjectId

from catalogue import cards
from plumbing.values import Day, today
from routes.availability import parse_query
from search import availability
from tests.recording import recorded
from tests.support import _stages


@pytest.fixture
def paris(admin, make_hotel, make_room_type, stock, db):
    """One Paris hotel whose room types each fail one rule, but `good`; a Lyon hotel."""
    start = today().plus(20)
    hotel = make_hotel(
        name="Paris Central",
        stars=4,
        amenities=["wifi", "spa"],
        location={"type": "Point", "coordinates": [2.35, 48.86]},
    )
    rooms = {}
    for name, adults, price in [
        ("good", 2, "100.00"),
        ("closed", 2, "90.00"),
        ("full", 2, "80.00"),
        ("min_stay", 2, "70.00"),
        ("small", 1, "60.00"),
        ("dear", 2, "400.00"),
    ]:
        room_type = make_room_type(hotel=hotel, name=name, max_adults=adults)
        stock(nights=3, allotment=2, price=price, start=start, room_type=room_type)
        rooms[name] = room_type

    def row(name, offset):
        night = start.plus(offset)
        return {
            "room_type": ObjectId(rooms[name]["_id"]),
            "date": datetime(night.year, night.month, night.day),
        }

    db.inventory.update_one(row("closed", 1), {"$set": {"closed": True}})
    db.inventory.update_one(row("full", 2), {"$set": {"booked": 2}})
    db.inventory.update_one(row("min_stay", 0), {"$set": {"min_stay": 4}})
    db.inventory.update_one(
        row("good", 1),
        {"$set": {"price": Decimal128("125.50"), "price_minor": 12550, "booked": 1}},
    )
    lyon = make_hotel(
        name="Lyon Gare",
        stars=3,
        address={"city": "Lyon", "country": "FR"},
        location={"type": "Point", "coordinates": [4.83, 45.76]},
    )
    stock(
        nights=3,
        allotment=2,
        price="50.00",
        start=start,
        room_type=make_room_type(hotel=lyon, name="lyon"),
    )
    return {"hotel": hotel, "lyon": lyon, "rooms": rooms, "start": start}


def search(client, start, nights=3, **params):
    query = {"check_in": start.isoformat(), "check_out": start.plus(nights).isoformat(), **params}
    return client.get("availability?" + "&".join(f"{k}={v}" for k, v in query.items()))


def test_only_the_room_type_sellable_every_night_for_the_party(client, paris):
    response = search(client, paris["start"], city="Paris", adults=2, max_price="500.00")
    assert response.status_code == 200, response.json
    offers = response.json["_items"]
    assert [o["room_type"]["name"] for o in offers] == ["good"]
    offer = offers[0]
    assert offer["total_price"] == "325.50" and offer["currency"] == "EUR"
    assert [n["price"] for n in offer["nightly_prices"]] == ["100.00", "125.50", "100.00"]
    assert offer["nightly_prices"][0]["date"] == paris["start"].isoformat()
    assert offer["rooms_left"] == 1 and offer["nights"] == 3
    assert offer["hotel"]["name"] == "Paris Central" and offer["hotel"]["city"] == "Paris"
    book = offer["_links"]["book"]
    assert (book["href"], book["method"]) == ("bookings", "POST")
    # The body to send, as the offer was searched: posting it books this offer.
    assert book["body"] == {
        "room_type": offer["room_type"]["_id"],
        "rate_plan": "standard",
        "check_in": offer["check_in"],
        "check_out": offer["check_out"],
        "adults": 2,
        "children": 0,
    }
    assert offer["_links"]["hotel"]["href"] == f"hotels/{paris['hotel']['_id']}"
    assert response.json["_meta"] == {"page": 1, "max_results": 25, "total": 1}


def test_a_single_adult_also_sees_the_small_room_and_max_price_cuts(client, paris):
    names = [
        o["room_type"]["name"]
        for o in search(client, paris["start"], city="Paris", adults=1).json["_items"]
    ]
    assert names == ["small", "good", "dear"]  # sorted by total_price
    capped = search(client, paris["start"], city="Paris", adults=1, max_price="325.50")
    assert [o["room_type"]["name"] for o in capped.json["_items"]] == ["small", "good"]


def test_a_shorter_stay_avoids_the_bad_nights(client, paris):
    one_night = search(client, paris["start"], nights=1, city="Paris", adults=2)
    assert {o["room_type"]["name"] for o in one_night.json["_items"]} == {
        "good",
        "closed",
        "full",
        "dear",
    }  # min_stay 4 still refuses a 1-night arrival


def test_sorts_and_pages(client, paris):
    start = paris["start"]
    cheap_first = search(client, start, adults=1, sort="total_price").json["_items"]
    assert [o["room_type"]["name"] for o in cheap_first] == ["lyon", "small", "good", "dear"]
    dear_first = search(client, start, adults=1, sort="-total_price").json["_items"]
    assert [o["room_type"]["name"] for o in dear_first] == ["dear", "good", "small", "lyon"]
    by_stars = search(client, start, adults=1, sort="-stars").json["_items"]
    assert by_stars[-1]["hotel"]["name"] == "Lyon Gare"
    page = search(client, start, adults=1, max_results=3, page=2).json
    assert [o["room_type"]["name"] for o in page["_items"]] == ["dear"]
    assert page["_meta"] == {"page": 2, "max_results": 3, "total": 4}
    assert "prev" in page["_links"] and "next" not in page["_links"]


def test_filters(client, paris):
    start = paris["start"]

    def names(**params):
        return [o["room_type"]["name"] for o in search(client, start, **params).json["_items"]]

    assert names(hotel=paris["lyon"]["_id"]) == ["lyon"]
    assert names(min_stars=4, adults=2) == ["good", "dear"]
    assert names(amenities="spa", adults=2) == ["good", "dear"]
    assert names(amenities="spa,pool") == []
    assert names(country="FR", city="Lyon") == ["lyon"]
    assert names(country="DE") == []


def test_near_and_distance_sort(client, paris):
    start = paris["start"]
    near_lyon = search(client, start, near="4.84,45.76", max_km=5, sort="distance").json
    assert [o["room_type"]["name"] for o in near_lyon["_items"]] == ["lyon"]
    assert 0 < near_lyon["_items"][0]["distance_km"] < 1
    wide = search(client, start, near="4.84,45.76", max_km=500, sort="distance", adults=2)
    assert wide.json["_items"][0]["hotel"]["name"] == "Lyon Gare"
    assert wide.json["_items"][-1]["hotel"]["name"] == "Paris Central"


def test_rating_sort(client, paris, db):
    db.hotels.update_one(
        {"_id": ObjectId(paris["lyon"]["_id"])},
        {"$set": {"rating": {"average": 4.9, "count": 3, "sum": 15}}},
    )
    cards.refresh_hotel(db, ObjectId(paris["lyon"]["_id"]))  # as a review's write does
    first = search(client, paris["start"], adults=2, sort="-rating").json["_items"][0]
    assert first["hotel"]["name"] == "Lyon Gare" and first["hotel"]["rating"]["count"] == 3


@pytest.mark.parametrize(
    ("params", "name", "message"),
    [
        ({"adults": "two"}, "adults", "whole number"),
        ({"children": -1}, "children", "whole number"),
        ({"sort": "price"}, "sort", "one of"),
        ({"sort": "distance"}, "sort", "needs near"),
        ({"near": "abc"}, "near", "longitude"),
        ({"near": "2,48", "max_km": 9999}, "max_km", "at most 500"),
        ({"max_km": 5}, "max_km", "only applies"),
        ({"country": "XX"}, "country", "ISO 3166"),
        ({"hotel": "123"}, "hotel", "hexadecimal"),
        ({"amenities": "casino"}, "amenities", "casino"),
        ({"max_price": "cheap"}, "max_price", "decimal"),
        ({"max_results": 1000}, "max_results", "1 to 100"),
        ({"colour": "blue"}, "colour", "unknown parameter"),
    ],
)
def test_bad_parameters_are_named(client, params, name, message):
    start = today().plus(5)
    response = search(client, start, **params)
    assert response.status_code == 400
    assert message in response.json["_issues"][name]


@pytest.mark.parametrize(
    ("check_in", "check_out", "field"),
    [(-3, 1, "check_in"), (5, 5, "check_out"), (5, 40, "check_out"), (400, 401, "check_in")],
)
def test_bad_stays_are_422(client, check_in, check_out, field):
    day = today()
    response = client.get(
        f"availability?check_in={day.plus(check_in)}&check_out={day.plus(check_out)}"
    )
    assert response.status_code == 422
    assert field in response.json["_issues"]


def test_missing_dates_are_400(client):
    response = client.get("availability?city=Paris")
    assert response.status_code == 400
    assert set(response.json["_issues"]) == {"check_in", "check_out"}


def _index_names(plan):
    if isinstance(plan, dict):
        names = [plan["indexName"]] if "indexName" in plan else []
        return names + [n for v in plan.values() for n in _index_names(v)]
    if isinstance(plan, list):
        return [n for v in plan for n in _index_names(v)]
    return []


@pytest.mark.parametrize(
    ("query", "indexes"),
    [
        ({"city": "Paris"}, {"city_key", "city_date"}),
        ({"hotel": "lyon"}, {"hotel", "city_key", "city_date"}),
        ({"country": "FR"}, {"country", "city_date"}),
        ({"near": "2.35,48.86"}, {"location", "hotel", "city_key", "city_date"}),
    ],
)
def test_explain_shows_every_find_of_a_search_uses_an_index(db, paris, query, indexes):
    """A search read from the database (before the read model is loaded, or when it is
    behind) sends finds only (no aggregation), and each is planned on an index."""
    query = dict(query)
    if query.get("hotel"):
        query["hotel"] = str(paris["lyon"]["_id"])
    start = paris["start"]
    stay = {"check_in": str(start), "check_out": str(start.plus(3)), **query}
    with recorded() as commands:
        found, total, _meta = availability.search(db, parse_query(stay))
    assert found and total
    assert {name for name, _ in commands} == {"find"}, commands
    used = set()
    for _name, command in commands:
        plan = db.command(
            "explain",
            {"find": command["find"], "filter": command["filter"]},
            verbosity="queryPlanner",
        )
        stages = _stages(plan)
        assert "IXSCAN" in stages and "COLLSCAN" not in stages, (command, stages)
        used.update(_index_names(plan))
    assert used == indexes


def test_search_dates_in_the_future_only(client):
    assert Day.parse(today().isoformat()) == today()


def test_rows_written_before_price_minor_are_priced_exactly(app, client, paris, db):
    """Until the backfill migration runs, a row without price_minor is priced from its
    Decimal128 price: the offer is the same."""
    before = search(client, paris["start"], city="Paris", adults=2).json["_items"]
    db.inventory.update_many({}, {"$unset": {"price_minor": ""}})
    app.extensions["answers"].bump_everything()  # as a migration does
    after = search(client, paris["start"], city="Paris", adults=2)
    assert after.headers["X-Search-Cache"] == "miss"
    assert after.json["_items"] == before


def test_a_search_too_wide_to_answer_quickly_is_refused(client, paris, monkeypatch):
    """Every city for a month would read 20,000 rows on the demo: refused, naming how to
    narrow it, before any inventory is read."""
    from search import availability

    monkeypatch.setattr(availability, "MAX_ROWS_READ", 10)  # Paris: 6 room types
    wide = search(client, paris["start"], nights=2)
    assert wide.status_code == 400
    assert "narrow it with city, country, hotel or near" in wide.json["_error"]["message"]
    assert "city" in wide.json["_issues"]
    assert search(client, paris["start"], nights=1, city="Paris").status_code == 200
    hotel = search(client, paris["start"], nights=2, hotel=paris["hotel"]["_id"])
    assert hotel.status_code == 400  # a hotel's rows are read with its whole city's
