"""The search answer cache: hits for repeats, never an answer older than a committed change."""

import json
import threading
from datetime import datetime, timedelta

import pytest
from bson import ObjectId

import cli
from plumbing import embedded
from routes.availability import parse_query
from search import availability
from tests.factories import book
from tests.support import readers_against_bookers


def _search(client, start, nights=2, city="Paris", **params):
    query = {
        "city": city,
        "check_in": start.isoformat(),
        "check_out": start.plus(nights),
        **params,
    }
    response = client.get("availability?" + "&".join(f"{k}={v}" for k, v in query.items()))
    assert response.status_code == 200, response.json
    return response


def _offer(response, room_type):
    found = [o for o in response.json["_items"] if o["room_type"]["_id"] == room_type["_id"]]
    return found[0] if found else None


def test_a_repeat_is_a_hit_in_any_spelling(client, stock):
    room_type, start = stock(nights=2, allotment=3)
    first = _search(client, start, adults=1)
    assert first.headers["X-Search-Cache"] == "miss"
    again = client.get(
        f"availability?adults=1&check_out={start.plus(2)}&check_in={start}&city=Paris&page=1"
    )
    assert again.headers["X-Search-Cache"] == "hit"
    assert again.json["_items"] == first.json["_items"]
    assert again.json["_meta"] == first.json["_meta"]
    assert _offer(again, room_type)["rooms_left"] == 3
    other = _search(client, start, adults=2)
    assert other.headers["X-Search-Cache"] == "miss"


def _nothing(guest, admin, db, app, room_type, start):
    pass


def _book(guest, admin, db, app, room_type, start):
    assert book(guest, room_type, start).status_code == 201


def _cancel(guest, admin, db, app, room_type, start):
    created = guest.get("bookings").json["_items"][0]
    assert (
        guest.patch_item(f"bookings/{created['_id']}", {"status": "cancelled"}).status_code == 200
    )


def _expire(guest, admin, db, app, room_type, start):
    db.bookings.update_many({}, {"$set": {"hold_expires_at": datetime.utcnow() - timedelta(1)}})
    cli.run_jobs(app, threading.Event(), 0, once=True, log=lambda *_: None)


def _patch_row(guest, admin, db, app, room_type, start):
    row = db.inventory.find_one({"room_type": ObjectId(room_type["_id"])})
    assert admin.patch_item(f"inventory/{row['_id']}", {"allotment": 1}).status_code == 200


def _put_range(guest, admin, db, app, room_type, start):
    body = {"from": str(start), "to": str(start.plus(2)), "allotment": 2, "price": "90.00"}
    assert admin.put(f"room-types/{room_type['_id']}/inventory", body).status_code == 200


def _close_hotel(guest, admin, db, app, room_type, start):
    response = admin.patch_item(f"hotels/{room_type['hotel']}", {"status": "inactive"})
    assert response.status_code == 200


def _rename_room(guest, admin, db, app, room_type, start):
    response = admin.patch_item(f"room-types/{room_type['_id']}", {"name": "Renamed"})
    assert response.status_code == 200


def _delete_room(guest, admin, db, app, room_type, start):
    assert admin.delete_item(f"room-types/{room_type['_id']}").status_code == 204


@pytest.mark.parametrize(
    ("before", "write"),
    [
        (_nothing, _book),
        (_book, _cancel),
        (_book, _expire),
        (_nothing, _patch_row),
        (_nothing, _put_range),
        (_nothing, _close_hotel),
        (_nothing, _rename_room),
        (_nothing, _delete_room),
    ],
)
def test_every_write_that_changes_an_answer_invalidates_it(
    guest, admin, db, app, stock, before, write
):
    """After the write has answered, the next search is the database's answer, not the
    cached one from before it."""
    room_type, start = stock(nights=2, allotment=2, price="100.00")
    before(guest, admin, db, app, room_type, start)
    cached = _search(guest, start)
    assert _search(guest, start).headers["X-Search-Cache"] == "hit"
    write(guest, admin, db, app, room_type, start)
    after = _search(guest, start)
    assert after.headers["X-Search-Cache"] == "miss"
    with app.test_request_context():
        query = parse_query(
            {"city": "Paris", "check_in": str(start), "check_out": str(start.plus(2))}
        )
        truth = json.loads(json.dumps(availability.search(db, query)[0]))
    assert after.json["_items"] == truth
    assert after.json["_items"] != cached.json["_items"]


def test_answers_are_never_older_than_an_acknowledged_booking(login, stock):
    """Eight guests book one room each while eight readers search the same stay over and
    over (filling the cache with every intermediate state): a search that starts after
    n bookings were acknowledged never shows more than allotment - n rooms."""
    allotment = 8
    room_type, start = stock(nights=2, allotment=allotment)
    guests = [login("guest") for _ in range(8)]
    reader = login("guest")

    def booked_one(guest):
        assert book(guest, room_type, start).status_code == 201

    def rooms_left():
        offer = _offer(_search(reader, start), room_type)
        return offer["rooms_left"] if offer else 0

    violations = readers_against_bookers(guests, booked_one, rooms_left, allotment)
    assert violations == []
    assert _offer(_search(reader, start), room_type) is None  # sold out, and says so


def test_booking_is_decided_by_the_database_not_the_cache(guest, stock, db):
    room_type, start = stock(nights=2, allotment=1)
    assert _offer(_search(guest, start), room_type)["rooms_left"] == 1
    db.inventory.update_many({}, {"$set": {"booked": 1}})  # sold elsewhere, no bump
    assert _offer(_search(guest, start), room_type)["rooms_left"] == 1  # the cache says 1
    refused = book(guest, room_type, start)
    assert refused.status_code == 409 and "not available" in refused.json["_error"]["message"]


def test_search_cache_off_reads_the_database_every_time(app_config, stock):
    from run import close_app, create_app

    room_type, start = stock(nights=2, allotment=2)
    app = create_app(dict(app_config, SEARCH_CACHE=False))
    try:
        http = app.test_client()
        url = f"/api/v1/availability?city=Paris&check_in={start}&check_out={start.plus(2)}"
        answers = [http.get(url) for _ in range(2)]
        assert [a.headers["X-Search-Cache"] for a in answers] == ["off", "off"]
        assert answers[1].json["_items"][0]["room_type"]["_id"] == room_type["_id"]
    finally:
        close_app(app)


def test_redis_down_search_answers_from_the_database(app_config, tmp_path, stock):
    from run import close_app, create_app

    room_type, start = stock(nights=2, allotment=2)
    redis = embedded.redis_server(tmp_path, embedded.free_port(), persist=False).start()
    app = create_app(dict(app_config, REDIS_URL=embedded.redis_url(redis.port)))
    try:
        http = app.test_client()
        url = f"/api/v1/availability?city=Paris&check_in={start}&check_out={start.plus(2)}"
        assert http.get(url).headers["X-Search-Cache"] == "miss"
        assert http.get(url).headers["X-Search-Cache"] == "hit"
        redis.stop()
        down = http.get(url)
        assert down.status_code == 200 and down.headers["X-Search-Cache"] == "miss"
        assert down.json["_items"][0]["room_type"]["_id"] == room_type["_id"]
    finally:
        redis.stop()
        close_app(app)
