"""The search read model (search/model.py): searches answered from memory, as fresh as
the database for every write acknowledged before they began."""

import json
import threading
from datetime import datetime

import pytest
from bson import ObjectId, Timestamp

from plumbing.watermark import decode, encode
from routes.availability import parse_query
from run import close_app, create_app
from search import availability
from search.model import Catalogue
from tests.conftest import ApiClient, wait_for
from tests.factories import book
from tests.recording import recorded
from tests.support import readers_against_bookers

CITY = "Paris"


def _query(start, nights=2, **params):
    scope = {} if {"near", "country", "hotel"} & set(params) else {"city": CITY}
    return {**scope, "check_in": str(start), "check_out": str(start.plus(nights)), **params}


def _searched(app, start, **params):
    client = ApiClient(app.test_client())
    response = client.get("availability", query_string=_query(start, **params))
    assert response.status_code == 200, response.json
    return response


def _truth(app, start, **params):
    """The same search read from the database."""
    with app.test_request_context():
        offers, _total, _meta = availability.search(
            app.data.driver.db, parse_query(_query(start, **params))
        )
    return json.loads(json.dumps(offers))


def _left(response, room_type):
    found = [o for o in response.json["_items"] if o["room_type"]["_id"] == room_type["_id"]]
    return found[0]["rooms_left"] if found else 0


@pytest.mark.parametrize(
    "scope", [{}, {"near": "2.35,48.86", "max_km": "5"}, {"country": "FR"}, {"hotel": None}]
)
def test_a_search_from_the_model_reads_no_database_and_answers_as_the_database(
    model_app, stock, scope
):
    room_type, start = stock(nights=3, allotment=4, price="120.00")
    if "hotel" in scope:
        scope = {"hotel": room_type["hotel"]}
    with recorded() as commands:
        found = _searched(model_app, start, nights=3, **scope)
    assert found.headers["X-Search-Source"] == "model"
    assert [name for name, _ in commands] == []  # not one command from the request
    assert found.json["_items"] == _truth(model_app, start, nights=3, **scope)
    assert _left(found, room_type) == 4


def _patch_row(admin, db, room_type, start):
    row = db.inventory.find_one({"room_type": ObjectId(room_type["_id"]), "date": start})
    assert admin.patch_item(f"inventory/{row['_id']}", {"allotment": 1}).status_code == 200


def _close_night(admin, db, room_type, start):
    body = {"from": str(start.plus(1)), "to": str(start.plus(2)), "allotment": 2,
            "price": "100.00", "closed": True}  # fmt: skip
    assert admin.put(f"room-types/{room_type['_id']}/inventory", body).status_code == 200


def _reprice(admin, db, room_type, start):
    body = {"from": str(start), "to": str(start.plus(2)), "allotment": 3, "price": "75.50"}
    assert admin.put(f"room-types/{room_type['_id']}/inventory", body).status_code == 200


def _hotel_stars(admin, db, room_type, start):
    hotel = f"hotels/{room_type['hotel']}"
    assert admin.patch_item(hotel, {"stars": 2, "name": "Renamed"}).status_code == 200


def _close_hotel(admin, db, room_type, start):
    hotel = f"hotels/{room_type['hotel']}"
    assert admin.patch_item(hotel, {"status": "inactive"}).status_code == 200


def _rename_room(admin, db, room_type, start):
    patched = admin.patch_item(f"room-types/{room_type['_id']}", {"name": "Suite"})
    assert patched.status_code == 200


def _delete_room(admin, db, room_type, start):
    assert admin.delete_item(f"room-types/{room_type['_id']}").status_code == 204


@pytest.mark.parametrize(
    "write",
    [_patch_row, _close_night, _reprice, _hotel_stars, _close_hotel, _rename_room, _delete_room],
)
def test_the_model_follows_every_kind_of_catalogue_write(model_app, admin, db, stock, write):
    """After the write has answered, the next search comes from the model and equals the
    database's answer (and differs from the one before)."""
    room_type, start = stock(nights=2, allotment=2, price="100.00")
    before = _searched(model_app, start)
    write(admin, db, room_type, start)
    after = _searched(model_app, start)
    assert after.headers["X-Search-Source"] == "model"
    assert after.json["_items"] == _truth(model_app, start)
    assert after.json["_items"] != before.json["_items"]


def _slow_stream(monkeypatch):
    """Every change reaches the models 50 ms late, as from a busy stream."""
    apply = Catalogue.apply

    def late(self, change, read_whole):
        threading.Event().wait(0.05)
        apply(self, change, read_whole)

    monkeypatch.setattr(Catalogue, "apply", late)


def test_a_guest_sees_their_booking_and_cancellation_in_their_next_search(
    model_app, guest, stock, monkeypatch
):
    """Read-your-writes across two apps (two models, as two processes have), with a
    stream slower than the guest: the booking is made through the shared app, the
    searches go to the other, which waits until its model has the change."""
    room_type, start = stock(nights=2, allotment=3)
    _slow_stream(monkeypatch)
    assert _left(_searched(model_app, start), room_type) == 3
    booked = book(guest, room_type, start)
    assert booked.status_code == 201
    seen = _searched(model_app, start)
    assert (seen.headers["X-Search-Source"], _left(seen, room_type)) == ("model", 2)
    path = f"bookings/{booked.json['_id']}"
    assert guest.patch_item(path, {"status": "cancelled"}).status_code == 200
    seen = _searched(model_app, start)
    assert (seen.headers["X-Search-Source"], _left(seen, room_type)) == ("model", 3)


def test_searches_never_show_more_rooms_than_acknowledged_bookings_leave(
    model_app, login, stock, monkeypatch
):
    """Eight guests book one room each (through the shared app) while eight readers
    search the other app's model over and over: a search that starts after n bookings
    were acknowledged never shows more than allotment - n rooms."""
    allotment = 8
    room_type, start = stock(nights=2, allotment=allotment)
    guests = [login("guest") for _ in range(allotment)]
    _slow_stream(monkeypatch)
    sources = []

    def booked_one(guest):
        assert book(guest, room_type, start).status_code == 201

    def rooms_left():
        found = _searched(model_app, start)
        sources.append(found.headers["X-Search-Source"])
        return _left(found, room_type)

    violations = readers_against_bookers(guests, booked_one, rooms_left, allotment)
    assert violations == []
    assert "model" in sources
    final = _searched(model_app, start)
    assert final.headers["X-Search-Source"] == "model" and _left(final, room_type) == 0


def test_a_model_behind_the_newest_write_sends_the_search_to_the_database(model_app, stock):
    room_type, start = stock(nights=2, allotment=2)
    model = model_app.extensions["search_model"]
    model.wait = 0.05
    future = Timestamp(2**31 - 1, 0)  # a write the stream has not delivered
    assert model.source(future) is None
    assert model.source(None) is not None
    model_app.redis.set(model_app.extensions["answers"]._written_key, encode(future))  # noqa: SLF001
    found = _searched(model_app, start)
    assert found.headers["X-Search-Source"] == "database"
    assert _left(found, room_type) == 2


def test_a_silent_stream_sends_searches_to_the_database(model_app, stock):
    """How stale a search can be when no write mark says otherwise (Redis down): a model
    whose stream has not answered for `stale_seconds` is not read."""
    room_type, start = stock(nights=2, allotment=2)
    model = model_app.extensions["search_model"]
    assert _searched(model_app, start).headers["X-Search-Source"] == "model"
    model.stop()  # the stream is silent from now on
    model.stale_seconds = 0.2
    wait_for(lambda: model.source(None) is None, what="the silent model to be set aside")
    found = _searched(model_app, start)
    assert found.headers["X-Search-Source"] == "database" and _left(found, room_type) == 2


def test_the_model_loads_a_catalogue_written_before_it_started(app_config, stock):
    room_type, start = stock(nights=3, allotment=2, price="99.00")
    app = create_app(
        dict(app_config, SEARCH_CACHE=False, SEARCH_MODEL=True, SEARCH_MODEL_WAIT_MS=5000)
    )
    try:
        with app.app_context():
            app.extensions["search_model"].start(app.data.driver.db)
        assert app.extensions["search_model"].wait_until_ready(10)
        found = _searched(app, start, nights=3)
        assert found.headers["X-Search-Source"] == "model"
        assert found.json["_items"] == _truth(app, start, nights=3)
    finally:
        close_app(app)


def test_the_model_off_reads_the_database(app_config, stock):
    room_type, start = stock(nights=2, allotment=2)
    app = create_app(dict(app_config, SEARCH_CACHE=False, SEARCH_MODEL=False))
    try:
        found = _searched(app, start)
        assert found.headers["X-Search-Source"] == "database" and _left(found, room_type) == 2
    finally:
        close_app(app)


# -- the data structure alone ------------------------------------------------------------


def _row(room_type, day, **fields):
    return {
        "_id": ObjectId(),
        "room_type": room_type,
        "date": datetime(2027, 3, day),
        "price_minor": 10000,
        "allotment": 2,
        "booked": 0,
        **fields,
    }


def _update(collection, key, fields, removed=()):
    return {
        "operationType": "update",
        "ns": {"coll": collection},
        "documentKey": {"_id": key},
        "updateDescription": {"updatedFields": fields, "removedFields": list(removed)},
    }


def test_nights_grow_both_ways_and_keep_gaps_empty():
    catalogue, room_type = Catalogue(), ObjectId()
    for day in (10, 12, 5):
        catalogue.put_row(_row(room_type, day, price_minor=day * 100))
    rows = catalogue.rows_of({room_type: {}}, datetime(2027, 3, 1), datetime(2027, 3, 20))
    assert [(r["date"].day, r["price_minor"]) for r in rows] == [(5, 500), (10, 1000), (12, 1200)]
    assert rows[0] == {
        "room_type": room_type,
        "date": datetime(2027, 3, 5),
        "price_minor": 500,
        "allotment": 2,
        "booked": 0,
        "closed": False,
        "min_stay": 1,
    }


def test_changes_apply_by_row_id_and_a_move_or_unknown_row_is_read_whole():
    catalogue, room_type = Catalogue(), ObjectId()
    row = _row(room_type, 10, closed=True, min_stay=3)
    catalogue.put_row(row)
    read = []
    catalogue.apply(_update("inventory", row["_id"], {"booked": 2}, ["closed", "min_stay"]), None)
    (night,) = catalogue.rows_of({room_type: {}}, datetime(2027, 3, 10), datetime(2027, 3, 11))
    assert (night["booked"], night["closed"], night["min_stay"]) == (2, False, 1)
    moved = {**row, "date": datetime(2027, 3, 11)}

    def read_whole(collection, key):
        read.append((collection, key))
        return moved

    catalogue.apply(_update("inventory", row["_id"], {"date": moved["date"]}), read_whole)
    assert read == [("inventory", row["_id"])]
    days = catalogue.rows_of({room_type: {}}, datetime(2027, 3, 1), datetime(2027, 3, 30))
    assert [r["date"].day for r in days] == [11]
    catalogue.apply({"operationType": "delete", "ns": {"coll": "inventory"},
                     "documentKey": {"_id": row["_id"]}}, None)  # fmt: skip
    assert catalogue.rows_of({room_type: {}}, datetime(2027, 3, 1), datetime(2027, 3, 30)) == []


def test_cards_are_found_by_city_country_and_hotel_and_follow_dotted_updates():
    catalogue, hotel = Catalogue(), ObjectId()
    card = {"_id": ObjectId(), "hotel": hotel, "city": "Paris", "city_key": "paris",
            "country": "FR", "rating": {"average": 4.0, "count": 2}}  # fmt: skip
    catalogue.put_card(card)
    assert catalogue.cards_where({"city_key": "paris"}) == [card]
    assert catalogue.cards_where({"hotel": {"$in": [hotel]}}) == [card]
    catalogue.apply(
        _update(
            "search_rooms", card["_id"], {"rating.count": 3, "city": "Lyon", "city_key": "lyon"}
        ),
        None,
    )
    assert catalogue.cards_where({"city_key": "paris"}) == []
    (moved,) = catalogue.cards_where({"country": "FR"})
    assert moved["rating"] == {"average": 4.0, "count": 3} and moved["city"] == "Lyon"
    assert catalogue.width({"lyon"}) == 1
    assert catalogue.cities() == ["Lyon"]


def test_a_cluster_time_round_trips_as_text_that_sorts_as_the_time():
    early, late = Timestamp(1_700_000_000, 99), Timestamp(1_700_000_001, 1)
    assert decode(encode(early)) == early
    assert encode(early) < encode(late)
    assert decode(None) is None
