"""Refusals not covered elsewhere: each asserts its status, its message and that nothing
changed."""

import json

import pytest
from bson import ObjectId

from payments import providers
from plumbing import domain_changes
from tests.factories import book, stay


def test_room_type_with_booked_nights_cannot_be_deleted(admin, stock, db):
    room_type, _ = stock(nights=2)
    db.inventory.update_one({}, {"$set": {"booked": 1}})
    current = admin.get(f"room-types/{room_type['_id']}").json
    refused = admin.delete(
        f"room-types/{room_type['_id']}", headers={"If-Match": current["_etag"]}
    )
    assert refused.status_code == 409
    assert "has booked nights" in refused.json["_error"]["message"]
    assert db.room_types.count_documents({}) == 1 and db.inventory.count_documents({}) == 2
    db.inventory.update_many({}, {"$set": {"booked": 0}})
    deleted = admin.delete(
        f"room-types/{room_type['_id']}", headers={"If-Match": current["_etag"]}
    )
    assert deleted.status_code == 204
    assert db.inventory.count_documents({}) == 0  # its unbooked nights go with it


@pytest.mark.parametrize("field", ["date", "room_type"])
def test_an_inventory_row_keeps_its_night_and_room_type(admin, stock, make_room_type, db, field):
    stock(nights=1)
    other = make_room_type(name="Other")
    value = {"date": "2030-01-01", "room_type": other["_id"]}[field]
    row = db.inventory.find_one()
    item = admin.get(f"inventory/{row['_id']}").json
    response = admin.patch(f"inventory/{row['_id']}", {field: value}, etag=item["_etag"])
    assert response.status_code == 422
    assert "cannot change" in str(response.json["_issues"][field])
    assert db.inventory.find_one()[field] == row[field]


def test_inventory_of_a_vanished_hotel_is_refused(admin, make_room_type, db):
    room_type = make_room_type()
    db.hotels.delete_many({})
    response = admin.post(
        "inventory",
        {"room_type": room_type["_id"], "date": "2027-01-01", "allotment": 1, "price": "1.00"},
    )
    assert response.status_code == 409
    assert "hotel no longer exists" in response.json["_error"]["message"]
    assert db.inventory.count_documents({}) == 0


def test_managers_may_not_replace_hotels_or_touch_others_inventory(
    manager, login, make_hotel, stock, db
):
    hotel = make_hotel()
    replaced = manager.put(
        f"hotels/{hotel['_id']}",
        {"name": "X", "address": {"city": "Oslo", "country": "NO"}},
        headers={"If-Match": hotel["_etag"]},
    )
    assert replaced.status_code == 403
    assert "only an admin may replace or delete a hotel" in replaced.json["_error"]["message"]
    stock(nights=1)
    row = db.inventory.find_one()
    outsider = login("manager")
    item = outsider.get(f"inventory/{row['_id']}").json
    deleted = outsider.delete(f"inventory/{row['_id']}", headers={"If-Match": item["_etag"]})
    assert deleted.status_code == 403
    assert "only an admin or a manager" in deleted.json["_error"]["message"]
    assert db.inventory.count_documents({}) == 1


def test_range_put_on_an_unknown_room_type(admin):
    body = {"from": "2027-01-01", "to": "2027-01-02", "allotment": 1, "price": "1.00"}
    response = admin.put("room-types/6740f0c2a1b2c3d4e5f60718/inventory", body)
    assert response.status_code == 404
    assert response.json["_error"]["message"] == "no such room type"


@pytest.mark.parametrize("key", ["x" * 256, "tab\there"])
def test_an_unusable_idempotency_key_is_400(guest, stock, db, key):
    room_type, start = stock()
    response = book(guest, room_type, start, headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert (
        "Idempotency-Key must be 1 to 255 printable characters"
        in (response.json["_error"]["message"])
    )
    assert db.bookings.count_documents({}) == 0


def test_bodies_that_are_not_json_objects(client, db):
    array = client.post("auth/register", [1, 2])
    assert array.status_code == 400
    assert array.json["_error"]["message"] == "the body must be a JSON object"
    broken = client.flask.post(
        "/api/v1/hotels", data="{oops", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert "the body is not valid JSON" in broken.json["_error"]["message"]
    assert db.users.count_documents({}) == db.hotels.count_documents({}) == 0


def test_sandbox_helper_refusals(guest, stock, db):
    room_type, start = stock()
    booking = book(guest, room_type, start).json
    payment = guest.post(
        "payments", {"booking": booking["_id"], "payment_method": "pm_card_authenticationRequired"}
    ).json
    bad = guest.post(f"sandbox/payments/{payment['_id']}/complete", {"outcome": "maybe"})
    assert bad.status_code == 422
    assert bad.json["_error"]["message"] == "outcome must be succeeded or failed"
    missing = guest.post(
        "sandbox/payments/6740f0c2a1b2c3d4e5f60718/complete", {"outcome": "succeeded"}
    )
    assert missing.status_code == 404 and missing.json["_error"]["message"] == "no such payment"
    assert db.payments.find_one()["status"] == "requires_action"


def _deliver(client, app, payment_id):
    raw = json.dumps(
        {
            "id": "evt_odd",
            "type": "payment.succeeded",
            "created": 1,
            "data": {"payment": payment_id},
        }
    ).encode()
    return client.flask.post(
        "/api/v1/webhooks/payments",
        data=raw,
        headers={
            "Payment-Signature": providers.sign(app.config["PAYMENT_WEBHOOK_SECRET"], raw),
            "Content-Type": "application/json",
        },
    )


def test_webhook_for_something_that_is_not_a_payment_id(client, app, db):
    response = _deliver(client, app, "not-an-id")
    assert response.status_code == 400
    assert response.json["_error"]["message"] == "data.payment is not a payment id"
    assert db.webhook_events.count_documents({}) == 0


def test_webhook_for_an_unknown_payment_is_recorded_and_changes_nothing(client, app, db):
    response = _deliver(client, app, str(ObjectId()))
    assert response.status_code == 200 and response.json["outcome"] == "unknown_payment"
    assert db.webhook_events.count_documents({}) == 1 and db.payments.count_documents({}) == 0


def test_wrong_current_password_is_403_and_changes_nothing(guest, db):
    before = db.users.find_one({"_id": guest.user["_id"]})["password_hash"]
    response = guest.post(
        "auth/password",
        {"current_password": "not it at all", "new_password": "a new password here"},
    )
    assert response.status_code == 403
    assert response.json["_error"]["message"] == "current_password is incorrect"
    assert db.users.find_one({"_id": guest.user["_id"]})["password_hash"] == before


def test_domain_apply_refuses_an_unknown_migration(db):
    with pytest.raises(ValueError, match="no migration domain/migrations/nope.py"):
        domain_changes.apply(db, run_migrations=["nope"], log=lambda _: None)


def test_role_refusal_names_the_role_and_what_is_allowed(guest):
    response = guest.get("users")
    assert response.status_code == 403
    assert response.json["_error"]["message"] == (
        "your role (guest) may not GET users; allowed: admin"
    )


def test_a_booking_for_an_unknown_room_type(guest, db):
    response = guest.post(
        "bookings",
        {
            "room_type": "6740f0c2a1b2c3d4e5f60718",
            "check_in": "2027-01-01",
            "check_out": "2027-01-02",
        },
    )
    assert response.status_code == 422
    assert "must exist in resource 'room_types'" in str(response.json["_issues"]["room_type"])
    assert db.bookings.count_documents({}) == 0


@pytest.mark.parametrize(
    "path", ["hotels", "room-types", 'inventory?where={"date": "2027-01-01"}', "reviews"]
)
def test_head_is_public_wherever_get_is(client, make_room_type, path):
    make_room_type()
    assert client.get(path).status_code == 200
    head = client.request("HEAD", path)
    assert head.status_code == 200 and head.data == b""
    assert client.request("HEAD", "bookings").status_code == 401


def test_a_weak_etag_in_if_match_is_412(admin, make_hotel, db):
    hotel = make_hotel(name="Strong Etags")
    response = admin.patch(f"hotels/{hotel['_id']}", {"stars": 2}, etag=f'W/"{hotel["_etag"]}"')
    assert response.status_code == 412
    assert response.json["_error"]["message"] == (
        "If-Match takes the strong ETag: send the _etag you read, without W/"
    )
    assert db.hotels.find_one({"name": "Strong Etags"})["stars"] == 4


@pytest.mark.parametrize(
    ("change", "field", "issue"),
    [
        ({"from": -3, "to": 1}, "from", "is in the past; nights before today cannot be sold"),
        ({"from": 800, "to": 802}, "from", "is more than 731 days ahead"),
        ({"from": "9999-01-01", "to": "9999-01-03"}, "from", "is more than 731 days ahead"),
        ({"price": "١٠٠.٠٠"}, "price", 'required, a decimal string such as "120.00"'),
        ({"from": "٢٠٢٧-٠١-٠١"}, "from", "required, a date in YYYY-MM-DD format"),
    ],
)
def test_the_inventory_range_takes_sellable_nights_in_ascii(
    admin, make_room_type, db, change, field, issue
):
    from plumbing.values import today

    room_type = make_room_type()
    body = {"from": today().plus(5), "to": today().plus(7), "allotment": 2, "price": "100.00"}
    for key, value in change.items():
        body[key] = today().plus(value) if isinstance(value, int) else value
    body = {k: str(v) for k, v in body.items() if k in ("from", "to", "price")} | {"allotment": 2}
    response = admin.put(f"room-types/{room_type['_id']}/inventory", body)
    assert response.status_code == 422, response.json
    assert response.json["_issues"][field] == issue
    assert db.inventory.count_documents({}) == 0


def test_a_single_past_night_is_refused(admin, make_room_type, db):
    from plumbing.values import today

    room_type = make_room_type()
    response = admin.post(
        "inventory",
        {
            "room_type": room_type["_id"],
            "date": str(today().plus(-5)),
            "allotment": 1,
            "price": "9.00",
        },
    )
    assert response.status_code == 422
    assert response.json["_issues"]["date"] == "is in the past; nights before today cannot be sold"
    assert db.inventory.count_documents({}) == 0


def test_a_database_failure_after_the_work_keeps_the_answer(guest, stock, db, monkeypatch):
    """Recording the idempotency key is the last step; if the database is gone by then,
    the client still gets the booking (the claim waits for its lease), never a 500."""
    from pymongo.errors import AutoReconnect

    from plumbing import idempotency

    def gone(*args, **kwargs):
        raise AutoReconnect("connection closed")

    monkeypatch.setattr(idempotency, "complete", gone)
    room_type, start = stock(nights=1)
    body = stay(room_type, start, 1)
    response = guest.post("bookings", body, headers={"Idempotency-Key": "late-failure"})
    assert response.status_code == 201
    assert db.idempotency_keys.find_one()["state"] == "in_flight"


def test_what_fails_outside_the_view_is_mapped_like_the_rest(app_config):
    """Flask wraps an after_request failure in InternalServerError; Eve's own handler
    rendered that as Werkzeug's text. A database outage there is a 503 too."""
    from pymongo.errors import ServerSelectionTimeoutError

    from run import close_app, create_app

    app = create_app(dict(app_config, TESTING=False))  # as served: errors are handled
    try:

        @app.after_request
        def database_gone(response):
            raise ServerSelectionTimeoutError("no servers")

        response = app.test_client().get("/api/v1/hotels")
        assert response.status_code == 503
        assert response.json["_error"]["message"] == "the database is unreachable; retry shortly"
    finally:
        close_app(app)


def test_a_database_failure_during_validation_is_a_503_not_a_422(
    admin, make_hotel, monkeypatch, db
):
    """Eve reports any exception raised while validating (a data_relation lookup, say)
    as the client's 422, driver text included."""
    from eve.io.mongo import Mongo
    from pymongo.errors import AutoReconnect

    hotel = make_hotel()

    def gone(*args, **kwargs):
        raise AutoReconnect("127.0.0.1:27017: connection closed")

    monkeypatch.setattr(Mongo, "find_one", gone)
    response = admin.post(
        "room-types", {"hotel": hotel["_id"], "name": "Twin", "max_adults": 2, "total_rooms": 2}
    )
    assert response.status_code == 503, response.json
    assert response.json["_error"]["message"] == "the database is unreachable; retry shortly"
    assert "27017" not in response.text and "_issues" not in response.json
    assert response.headers["Retry-After"] == "5"
    monkeypatch.undo()
    assert db.room_types.count_documents({}) == 0


def test_an_item_404_names_the_resource_and_the_id(client, guest):
    missing = "6b0594ba71e2aa6a50f0788c"
    for path, title in (
        (f"hotels/{missing}", "hotel"),
        (f"room-types/{missing}", "room type"),
        (f"bookings/{missing}", "booking"),
    ):
        answer = (guest if title == "booking" else client).get(path)
        assert answer.status_code == 404
        assert answer.json["_error"]["message"] == f"{title} {missing} not found", answer.json


def test_a_value_outside_a_vocabulary_is_refused_with_what_is_allowed(admin):
    response = admin.post(
        "hotels",
        {
            "name": "Vocabulary Inn",
            "address": {"city": "Paris", "country": "FR"},
            "status": "MARS",
            "amenities": ["wifi", "pool-table"],
        },
    )
    assert response.status_code == 422
    issues = response.json["_issues"]
    assert issues["status"] == "unallowed value MARS: must be one of active, inactive"
    assert "unallowed value pool-table: must be one of wifi, parking" in issues["amenities"]["1"]
    assert "gym" in issues["amenities"]["1"] and "..." not in issues["amenities"]["1"]


def test_a_long_vocabulary_is_shortened_and_says_where_the_whole_list_is():
    from plumbing.validation import allowed_list

    assert allowed_list(["a", "b"]) == "one of a, b"
    long = allowed_list([f"v{i}" for i in range(30)])
    assert long.startswith("one of v0, v1") and "v19, ... (30 values;" in long
