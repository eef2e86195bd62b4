"""Hotels: public reads, admin writes, managers patch their own; Eve's query conventions."""

import json

import pytest
from bson import ObjectId


def test_anyone_reads_hotels_with_hateoas_links(client, make_hotel):
    hotel = make_hotel()
    listing = client.get("hotels")
    assert listing.status_code == 200
    assert listing.json["_meta"]["total"] == 1
    assert listing.json["_links"]["self"]["href"] == "hotels"
    item = listing.json["_items"][0]
    assert item["_links"]["self"]["href"] == f"hotels/{hotel['_id']}"
    one = client.get(f"hotels/{hotel['_id']}")
    assert one.status_code == 200
    assert one.json["address"]["city"] == "Paris"
    assert one.json["_created"].endswith("Z") and "T" in one.json["_created"]


@pytest.mark.parametrize("role", ["guest", "manager"])
def test_only_admins_create_hotels(login, role):
    response = login(role).post(
        "hotels", {"name": "X", "address": {"city": "Oslo", "country": "NO"}}
    )
    assert response.status_code == 403
    assert "admin" in response.json["_error"]["message"]


def test_anonymous_write_is_401(client):
    response = client.post("hotels", {"name": "X", "address": {"city": "Oslo", "country": "NO"}})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"address": {"city": "Paris", "country": "FR"}}, "name", "required field"),
        (
            {"name": "X", "address": {"city": "Paris", "country": "XX"}},
            "address",
            "ISO 3166-1 alpha-2",
        ),
        (
            {"name": "X", "address": {"city": "Paris", "country": "FR"}, "stars": 6},
            "stars",
            "max value is 5",
        ),
        (
            {"name": "X", "address": {"city": "Paris", "country": "FR"}, "currency": "EURO"},
            "currency",
            "ISO 4217",
        ),
        (
            {
                "name": "X",
                "address": {"city": "Paris", "country": "FR"},
                "timezone": "Mars/Olympus",
            },
            "timezone",
            "IANA time zone",
        ),
        (
            {"name": "X", "address": {"city": "Paris", "country": "FR"}, "amenities": ["casino"]},
            "amenities",
            "unallowed value",
        ),
        (
            {
                "name": "X",
                "address": {"city": "Paris", "country": "FR"},
                "location": {"type": "Point", "coordinates": [200, 10]},
            },
            "location",
            "longitude",
        ),
        (
            {
                "name": "X",
                "address": {"city": "Paris", "country": "FR"},
                "cancellation_policy": {"free_until_hours": -1, "penalty_percent": 50},
            },
            "cancellation_policy",
            "min value is 0",
        ),
        (
            {
                "name": "X",
                "address": {"city": "Paris", "country": "FR"},
                "rating": {"average": 5, "count": 1},
            },
            "rating",
            "set by the server",
        ),
        (
            {"name": "X", "address": {"city": "Paris", "country": "FR"}, "check_in_time": "3pm"},
            "check_in_time",
            "HH:MM",
        ),
        (
            {"name": "X", "address": {"city": "Paris", "country": "FR"}, "casino": True},
            "casino",
            "unknown field",
        ),
    ],
)
def test_each_hotel_validation_refusal_names_the_field(admin, db, body, field, message):
    response = admin.post("hotels", body)
    assert response.status_code == 422
    assert message in json.dumps(response.json["_issues"][field])
    assert db.hotels.count_documents({}) == 0


def test_manager_patches_own_hotel_not_another(manager, login, make_hotel):
    own = make_hotel()
    other = make_hotel(managers=[])
    assert manager.patch_item(f"hotels/{own['_id']}", {"stars": 5}).status_code == 200
    refused = manager.patch_item(f"hotels/{other['_id']}", {"stars": 5})
    assert refused.status_code == 403
    assert "managers list" in refused.json["_error"]["message"]


def test_manager_cannot_change_managers_or_delete(manager, make_hotel, db):
    hotel = make_hotel()
    response = manager.patch_item(f"hotels/{hotel['_id']}", {"managers": []})
    assert response.status_code == 403
    assert db.hotels.find_one({"_id": ObjectId(hotel["_id"])})["managers"]
    current = manager.get(f"hotels/{hotel['_id']}").json
    deleted = manager.delete(f"hotels/{hotel['_id']}", headers={"If-Match": current["_etag"]})
    assert deleted.status_code == 403


def test_if_match_is_required_and_checked(admin, make_hotel):
    hotel = make_hotel()
    missing = admin.patch(f"hotels/{hotel['_id']}", {"stars": 3})
    assert missing.status_code == 428
    stale = admin.patch(f"hotels/{hotel['_id']}", {"stars": 3}, etag="0" * 40)
    assert stale.status_code == 412
    fresh = admin.patch(f"hotels/{hotel['_id']}", {"stars": 3}, etag=hotel["_etag"])
    assert fresh.status_code == 200
    assert fresh.json["stars"] == 3
    again = admin.patch(f"hotels/{hotel['_id']}", {"stars": 2}, etag=hotel["_etag"])
    assert again.status_code == 412


def test_where_sort_page_projection(client, make_hotel):
    for i, city in enumerate(["Paris", "Lyon", "Paris", "Nice"]):
        make_hotel(name=f"H{i}", stars=i + 1, address={"city": city, "country": "FR"})
    where = client.get('hotels?where={"address.city": "Paris"}&sort=-stars')
    assert [h["name"] for h in where.json["_items"]] == ["H2", "H0"]
    page = client.get("hotels?sort=stars&max_results=2&page=2")
    assert [h["name"] for h in page.json["_items"]] == ["H2", "H3"]
    assert page.json["_meta"] == {"page": 2, "max_results": 2, "total": 4}
    assert "prev" in page.json["_links"]
    projected = client.get('hotels?projection={"name": 1}')
    assert set(projected.json["_items"][0]) - {"_links"} <= {
        "_id",
        "name",
        "_created",
        "_updated",
        "_etag",
    }


def test_filter_on_unlisted_field_is_refused(client, make_hotel):
    make_hotel()
    response = client.get('hotels?where={"description": "x"}')
    assert response.status_code == 400


@pytest.mark.parametrize("where", ['{"name": {"$where": "1"}}', '{"name": {"$regex": "."}}'])
def test_blacklisted_operators_are_refused(client, make_hotel, where):
    make_hotel()
    assert client.get(f"hotels?where={where}").status_code == 400


def test_admin_deletes_a_hotel(admin, make_hotel, db):
    hotel = make_hotel()
    response = admin.delete(f"hotels/{hotel['_id']}", headers={"If-Match": hotel["_etag"]})
    assert response.status_code == 204
    assert db.hotels.count_documents({}) == 0


def test_currency_change_refused_once_priced(admin, stock, db):
    room_type, _ = stock()
    hotel = admin.get(f"hotels/{room_type['hotel']}").json
    response = admin.patch(f"hotels/{hotel['_id']}", {"currency": "USD"}, etag=hotel["_etag"])
    assert response.status_code == 409
    assert "currency" in response.json["_error"]["message"]
    assert db.hotels.find_one({"_id": ObjectId(hotel["_id"])})["currency"] == "EUR"


def test_city_change_reaches_inventory_copies(admin, stock, db):
    room_type, _ = stock()
    hotel = admin.get(f"hotels/{room_type['hotel']}").json
    response = admin.patch(
        f"hotels/{hotel['_id']}",
        {"address": {"city": "Lyon", "country": "FR"}},
        etag=hotel["_etag"],
    )
    assert response.status_code == 200
    assert set(db.inventory.distinct("city")) == {"Lyon"}


def test_public_catalogue_reads_are_cacheable_and_conditional(client, make_hotel):
    hotel = make_hotel(name="Cached Hotel")
    for path in ('hotels?where={"name": "Cached Hotel"}', f"hotels/{hotel['_id']}"):
        first = client.get(path)
        assert first.status_code == 200
        assert first.headers["Cache-Control"] == "public, max-age=60"
        etag = first.headers["ETag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
        changed = client.get(path, headers={"If-None-Match": '"not-it"'})
        assert changed.status_code == 200 and changed.json == first.json


def test_private_reads_are_not_marked_public(guest):
    mine = guest.get("bookings")
    assert mine.status_code == 200
    assert "public" not in mine.headers.get("Cache-Control", "")
    assert (
        guest.get("bookings", headers={"If-None-Match": mine.headers["ETag"]}).status_code == 304
    )


def test_the_front_door_answers_anyone_and_every_link_resolves(client, guest):
    for caller, path in ((client, "/"), (client, "/api/v1/"), (guest, "/api/v1/")):
        home = caller.get(path)
        assert home.status_code == 200, home.json
        links = home.json["_links"]
        assert {"title": "hotels", "href": "/api/v1/hotels"} in links["child"]
        listed = {link["title"] for link in links["child"]}
        assert ("bookings" in listed) is (caller is guest)  # what the caller may read
        for link in [*links["child"], links["docs"], links["health"]]:
            answer = caller.get(link["href"])
            assert answer.status_code == 200, (link, answer.status_code)
    browser = client.get("/", headers={"Accept": "text/html"})
    assert browser.status_code == 302 and browser.headers["Location"].endswith("/api/v1/")
    page = client.get("/api/v1/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.mimetype == "text/html"


def _crash_at_the_kpi_record(monkeypatch):
    """A failure after the copies were written, before the transaction commits (as a
    process killed there would leave it)."""
    from catalogue import rules

    def crash(*args, **kwargs):
        raise RuntimeError("killed between the follow-up writes")

    monkeypatch.setattr(rules.changes_log, "record", crash)


def test_a_hotel_move_and_its_copies_commit_together_or_not_at_all(
    admin, guest, stock, db, monkeypatch
):
    from tests.factories import book

    room_type, start = stock()
    booking = book(guest, room_type, start, nights=2).json
    hotel = admin.get(f"hotels/{room_type['hotel']}").json
    _crash_at_the_kpi_record(monkeypatch)
    moved = {"address": {"city": "Lyon", "country": "FR"}}
    response = admin.patch(f"hotels/{hotel['_id']}", moved, etag=hotel["_etag"])
    assert response.status_code == 500
    # Nothing of it: not the hotel, not one inventory row, not the live booking.
    assert db.hotels.find_one({"_id": ObjectId(hotel["_id"])})["address"]["city"] == "Paris"
    assert set(db.inventory.distinct("city")) == {"Paris"}
    assert db.bookings.find_one({"_id": ObjectId(booking["_id"])})["city"] == "Paris"
    assert {c["city"] for c in db.search_rooms.find({"hotel": ObjectId(hotel["_id"])})} == {
        "Paris"
    }
    monkeypatch.undo()
    response = admin.patch(f"hotels/{hotel['_id']}", moved, etag=hotel["_etag"])
    assert response.status_code == 200, response.json
    assert set(db.inventory.distinct("city")) == {"Lyon"}
    assert db.bookings.find_one({"_id": ObjectId(booking["_id"])})["city"] == "Lyon"
    assert {c["city"] for c in db.search_rooms.find({"hotel": ObjectId(hotel["_id"])})} == {"Lyon"}
    recorded = db.kpi_changes.find_one({"hotel": ObjectId(hotel["_id"])}, sort=[("at", -1)])
    assert recorded["cities"] == ["Paris"]


def test_a_room_type_and_its_inventory_go_together_or_not_at_all(admin, stock, db, monkeypatch):
    room_type, _ = stock(nights=3)
    _crash_at_the_kpi_record(monkeypatch)
    assert admin.delete_item(f"room-types/{room_type['_id']}").status_code == 500
    assert db.room_types.count_documents({}) == 1 and db.inventory.count_documents({}) == 3
    assert db.search_rooms.count_documents({"_id": ObjectId(room_type["_id"])}) == 1
    monkeypatch.undo()
    assert admin.delete_item(f"room-types/{room_type['_id']}").status_code == 204
    assert db.room_types.count_documents({}) == 0 and db.inventory.count_documents({}) == 0
    assert db.search_rooms.count_documents({"_id": ObjectId(room_type["_id"])}) == 0
