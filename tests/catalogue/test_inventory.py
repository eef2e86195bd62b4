"""Inventory rows: money and stay dates typed in MongoDB, the range PUT, guarded allotment."""

from datetime import datetime
from decimal import Decimal

import pytest
from bson import Decimal128, ObjectId

from plumbing import domain_changes
from plumbing.values import Day, minor_text, to_minor, today

# Fixed nights that are always ahead and within the two years inventory may be loaded.
YEAR = today().year + 1


def night_body(room_type):
    """One night of inventory next June: two rooms at 10.00."""
    return {
        "room_type": room_type["_id"],
        "date": f"{YEAR}-06-01",
        "allotment": 2,
        "price": "10.00",
    }


def test_money_and_dates_round_trip_as_typed_bson(admin, client, make_room_type, db):
    room_type = make_room_type()
    response = admin.post(
        "inventory",
        {"room_type": room_type["_id"], "date": f"{YEAR}-06-24", "allotment": 3, "price": "149.5"},
    )
    assert response.status_code == 201, response.json
    stored = db.inventory.find_one({"_id": ObjectId(response.json["_id"])})
    assert stored["date"] == datetime(YEAR, 6, 24)
    assert stored["price"] == Decimal128("149.50")
    assert isinstance(stored["room_type"], ObjectId)
    assert stored["hotel"] == ObjectId(room_type["hotel"])
    assert (stored["booked"], stored["currency"], stored["city"]) == (0, "EUR", "Paris")
    fetched = client.get(f"inventory/{response.json['_id']}").json
    assert fetched["date"] == f"{YEAR}-06-24"
    assert fetched["price"] == "149.50"


def test_jpy_prices_have_no_minor_digits(admin, make_hotel, make_room_type, db):
    hotel = make_hotel(currency="JPY", address={"city": "Tokyo", "country": "JP"})
    room_type = make_room_type(hotel=hotel)
    ok = admin.post(
        "inventory",
        {"room_type": room_type["_id"], "date": f"{YEAR}-06-01", "allotment": 1, "price": "15000"},
    )
    assert ok.status_code == 201
    assert ok.json["price"] == "15000"
    refused = admin.post(
        "inventory",
        {
            "room_type": room_type["_id"],
            "date": f"{YEAR}-06-02",
            "allotment": 1,
            "price": "15000.50",
        },
    )
    assert refused.status_code == 422
    assert "JPY" in refused.json["_issues"]["price"]
    assert db.inventory.count_documents({}) == 1


def test_price_minor_follows_price_on_every_write(admin, make_hotel, make_room_type, db):
    """Searches sum `price_minor`: each write path keeps it equal to `price`."""
    euro = make_room_type()
    yen = make_room_type(
        hotel=make_hotel(currency="JPY", address={"city": "Kyoto", "country": "JP"})
    )
    start = today().plus(5)
    posted = admin.post(
        "inventory",
        {"room_type": euro["_id"], "date": start.isoformat(), "allotment": 1, "price": "149.5"},
    )
    assert posted.status_code == 201, posted.json
    assert (
        admin.patch_item(f"inventory/{posted.json['_id']}", {"price": "99.99"}).status_code == 200
    )
    for room_type, price in ((euro, "120.05"), (yen, "15000")):
        ranged = admin.put(
            f"room-types/{room_type['_id']}/inventory",
            {
                "from": start.plus(1).isoformat(),
                "to": start.plus(3).isoformat(),
                "allotment": 1,
                "price": price,
            },
        )
        assert ranged.status_code == 200, ranged.json
    rows = {(r["currency"], Day.of(r["date"])): r["price_minor"] for r in db.inventory.find()}
    assert rows == {
        ("EUR", start): 9999,
        ("EUR", start.plus(1)): 12005,
        ("EUR", start.plus(2)): 12005,
        ("JPY", start.plus(1)): 15000,
        ("JPY", start.plus(2)): 15000,
    }
    assert minor_text(12005, "EUR") == "120.05" and minor_text(15000, "JPY") == "15000"
    assert minor_text(-5, "EUR") == "-0.05" and to_minor(Decimal("0.5"), "EUR") == 50


def test_backfill_migration_gives_old_rows_price_minor(stock, db):
    stock(nights=2, price="80.10")
    db.inventory.update_many({}, {"$unset": {"price_minor": ""}})
    domain_changes.apply(db, run_migrations=["backfill_inventory_price_minor"], log=lambda _: None)
    assert [r["price_minor"] for r in db.inventory.find()] == [8010, 8010]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"price": 120.5}, "price", "decimal string"),
        ({"price": "-3.00"}, "price", "decimal string"),
        ({"price": "abc"}, "price", "decimal string"),
        ({"date": "2026-13-01"}, "date", "YYYY-MM-DD"),
        ({"date": "01/12/2026"}, "date", "YYYY-MM-DD"),
        ({"allotment": -1}, "allotment", "min value is 0"),
        ({"allotment": 6}, "allotment", "total_rooms (5)"),
        ({"price": "10.001"}, "price", "decimal places"),
        ({"booked": 3}, "booked", "set by the server"),
        ({"hotel": "6740f0c2a1b2c3d4e5f60718"}, "hotel", "set by the server"),
        ({"min_stay": 0}, "min_stay", "min value is 1"),
    ],
)
def test_inventory_refusals_leave_nothing_written(
    admin, make_room_type, db, overrides, field, message
):
    room_type = make_room_type()
    body = night_body(room_type)
    body.update(overrides)
    response = admin.post("inventory", body)
    assert response.status_code == 422
    assert message in str(response.json["_issues"][field])
    assert db.inventory.count_documents({}) == 0


def test_one_row_per_room_type_and_night(admin, make_room_type):
    room_type = make_room_type()
    body = night_body(room_type)
    assert admin.post("inventory", body).status_code == 201
    duplicate = admin.post("inventory", body)
    assert duplicate.status_code == 409
    assert "room_type, date" in duplicate.json["_error"]["message"]


def test_range_put_sets_every_night_then_updates(admin, client, make_room_type, db):
    room_type = make_room_type()
    url = f"room-types/{room_type['_id']}/inventory"
    first = admin.put(
        url,
        {
            "from": f"{YEAR}-06-01",
            "to": f"{YEAR}-06-08",
            "allotment": 4,
            "price": "99.00",
            "min_stay": 2,
        },
    )
    assert first.status_code == 200
    assert (first.json["nights"], first.json["created"]) == (7, 7)
    second = admin.put(
        url,
        {
            "from": f"{YEAR}-06-05",
            "to": f"{YEAR}-06-10",
            "allotment": 2,
            "price": "120.00",
            "closed": True,
        },
    )
    assert (second.json["created"], second.json["updated"]) == (2, 3)
    rows = client.get(f'inventory?where={{"room_type": "{room_type["_id"]}"}}&sort=date').json
    assert [r["date"] for r in rows["_items"]][0] == f"{YEAR}-06-01"
    assert len(rows["_items"]) == 9
    assert rows["_items"][3]["price"] == "99.00" and rows["_items"][3]["min_stay"] == 2
    assert rows["_items"][4]["price"] == "120.00" and rows["_items"][4]["closed"] is True
    ranged = client.get(
        f'inventory?where={{"room_type": "{room_type["_id"]}", '
        f'"date": {{"$gte": "{YEAR}-06-03", "$lt": "{YEAR}-06-05"}}}}'
    )
    assert [r["date"] for r in ranged.json["_items"]] == [f"{YEAR}-06-03", f"{YEAR}-06-04"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from": f"{YEAR}-06-05", "to": f"{YEAR}-06-01", "allotment": 1, "price": "1.00"}, "to"),
        ({"from": "2026/12/01", "to": f"{YEAR}-06-05", "allotment": 1, "price": "1.00"}, "from"),
        (
            {"from": f"{YEAR}-06-01", "to": f"{YEAR}-06-05", "allotment": -1, "price": "1.00"},
            "allotment",
        ),
        ({"from": f"{YEAR}-06-01", "to": f"{YEAR}-06-05", "allotment": 1, "price": 1}, "price"),
        (
            {"from": f"{YEAR}-06-01", "to": f"{YEAR}-06-05", "allotment": 1, "price": "1", "x": 1},
            "x",
        ),
        (
            {"from": f"{YEAR}-06-01", "to": f"{YEAR + 3}-06-05", "allotment": 1, "price": "1.00"},
            "to",
        ),
    ],
)
def test_range_put_refusals(admin, make_room_type, db, body, field):
    room_type = make_room_type()
    response = admin.put(f"room-types/{room_type['_id']}/inventory", body)
    assert response.status_code == 422
    assert field in response.json["_issues"]
    assert db.inventory.count_documents({}) == 0


def test_range_put_roles(guest, manager, make_room_type, make_hotel, client):
    mine = make_room_type()
    theirs = make_room_type(hotel=make_hotel(managers=[]))
    body = {"from": f"{YEAR}-06-01", "to": f"{YEAR}-06-02", "allotment": 1, "price": "1.00"}
    assert client.put(f"room-types/{mine['_id']}/inventory", body).status_code == 401
    assert guest.put(f"room-types/{mine['_id']}/inventory", body).status_code == 403
    assert manager.put(f"room-types/{mine['_id']}/inventory", body).status_code == 200
    assert manager.put(f"room-types/{theirs['_id']}/inventory", body).status_code == 403
    assert manager.put("room-types/6740f0c2a1b2c3d4e5f60718/inventory", body).status_code == 404


def test_allotment_cannot_drop_below_booked(admin, stock, db):
    room_type, start = stock(nights=2, allotment=3)
    db.inventory.update_many({}, {"$set": {"booked": 2}})
    url = f"room-types/{room_type['_id']}/inventory"
    response = admin.put(
        url,
        {
            "from": start.isoformat(),
            "to": start.plus(2).isoformat(),
            "allotment": 1,
            "price": "50.00",
        },
    )
    assert response.status_code == 409
    assert start.isoformat() in response.json["_error"]["message"]
    assert {r["allotment"] for r in db.inventory.find()} == {3}
    row = db.inventory.find_one()
    item = admin.get(f"inventory/{row['_id']}").json
    patch = admin.patch(f"inventory/{row['_id']}", {"allotment": 1}, etag=item["_etag"])
    assert patch.status_code == 409
    assert "already booked" in patch.json["_error"]["message"]
    assert db.inventory.find_one({"_id": row["_id"]})["allotment"] == 3
    ok = admin.patch(f"inventory/{row['_id']}", {"allotment": 2}, etag=item["_etag"])
    assert ok.status_code == 200


def test_booked_night_cannot_be_deleted(admin, stock, db):
    stock(nights=1)
    row = db.inventory.find_one()
    db.inventory.update_one({"_id": row["_id"]}, {"$set": {"booked": 1}})
    item = admin.get(f"inventory/{row['_id']}").json
    response = admin.delete(f"inventory/{row['_id']}", headers={"If-Match": item["_etag"]})
    assert response.status_code == 409
    assert db.inventory.count_documents({}) == 1


def test_stay_dates_default_start_is_in_the_future(stock, db):
    _, start = stock(nights=1)
    assert start > today()


def _rows(db):
    return [
        (
            Day.of(r["date"]).isoformat(),
            r["allotment"],
            str(r["price"]),
            r["closed"],
            r["min_stay"],
        )
        for r in db.inventory.find().sort("date", 1)
    ]


def test_range_patch_changes_only_what_it_sends(admin, manager, stock, db, client):
    """Close two nights alone, reopen one, change only a price: the other fields stay."""
    room_type, start = stock(nights=4, allotment=3, price="100.00")
    url = f"room-types/{room_type['_id']}/inventory"
    span = {"from": str(start.plus(1)), "to": str(start.plus(3))}
    closed = manager.patch(url, {**span, "closed": True})
    assert closed.status_code == 200, closed.json
    assert (closed.json["nights"], closed.json["created"], closed.json["updated"]) == (2, 0, 2)
    priced = admin.patch(url, {"from": str(start), "to": str(start.plus(2)), "price": "80.00"})
    assert priced.status_code == 200
    assert _rows(db) == [
        (str(start), 3, "80.00", False, 1),
        (str(start.plus(1)), 3, "80.00", True, 1),
        (str(start.plus(2)), 3, "100.00", True, 1),
        (str(start.plus(3)), 3, "100.00", False, 1),
    ]
    assert db.inventory.find_one({"date": start})["price_minor"] == 8000
    reopened = manager.patch(url, {"from": str(start.plus(2)), "to": str(start.plus(3)),
                                   "closed": False, "min_stay": 2})  # fmt: skip
    assert reopened.status_code == 200
    assert _rows(db)[2] == (str(start.plus(2)), 3, "100.00", False, 2)
    offers = client.get(
        f"availability?city=Paris&check_in={start.plus(2)}&check_out={start.plus(4)}"
    ).json["_items"]
    assert [o["total_price"] for o in offers] == ["200.00"]  # the search sees it at once


def test_range_patch_refusals_change_nothing(admin, guest, stock, db):
    room_type, start = stock(nights=2, allotment=3, price="100.00")
    url = f"room-types/{room_type['_id']}/inventory"
    before = _rows(db)
    nothing = admin.patch(url, {"from": str(start), "to": str(start.plus(1))})
    assert nothing.status_code == 422 and "at least one" in nothing.json["_issues"]["allotment"]
    beyond = admin.patch(url, {"from": str(start), "to": str(start.plus(4)), "closed": True})
    assert beyond.status_code == 409
    assert str(start.plus(2)) in beyond.json["_error"]["message"]  # the nights not there
    db.inventory.update_many({}, {"$set": {"booked": 2}})
    below = admin.patch(url, {"from": str(start), "to": str(start.plus(2)), "allotment": 1})
    assert (
        below.status_code == 409
        and "below the rooms already booked" in (below.json["_error"]["message"])
    )
    assert (
        guest.patch(
            url, {"from": str(start), "to": str(start.plus(1)), "closed": True}
        ).status_code
        == 403
    )
    assert [r[:4] for r in _rows(db)] == [r[:4] for r in before]
