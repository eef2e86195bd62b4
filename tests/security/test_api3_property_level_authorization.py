"""API3 Broken Object Property Level Authorization: mass assignment, excessive exposure."""

import pytest
from bson import ObjectId

from tests.factories import book, booked


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("total_price", "0.01"),
        ("status", "confirmed"),
        ("guest", "6740f0c2a1b2c3d4e5f60718"),
        ("hotel", "6740f0c2a1b2c3d4e5f60718"),
        ("nightly_prices", []),
        ("_id", "6740f0c2a1b2c3d4e5f60718"),
        ("refund_amount", "999.00"),
        ("hold_expires_at", "2099-01-01T00:00:00Z"),
    ],
)
def test_booking_mass_assignment(guest, stock, db, field, value):
    room_type, start = stock()
    response = book(guest, room_type, start, **{field: value})
    assert response.status_code == 422
    assert db.bookings.count_documents({}) == 0 and [b for _, b in booked(db)] == [0, 0, 0]


@pytest.mark.parametrize(
    ("field", "value"),
    [("booked", 7), ("hotel", "6740f0c2a1b2c3d4e5f60718"), ("currency", "USD"), ("city", "Nice")],
)
def test_inventory_server_fields(admin, stock, db, field, value):
    stock(nights=1)
    row = db.inventory.find_one()
    item = admin.get(f"inventory/{row['_id']}").json
    response = admin.patch(f"inventory/{row['_id']}", {field: value}, etag=item["_etag"])
    assert response.status_code == 422
    assert db.inventory.find_one()[field] == row[field]


def test_hotel_rating_cannot_be_set(manager, make_hotel, db):
    hotel = make_hotel()
    response = manager.patch_item(
        f"hotels/{hotel['_id']}", {"rating": {"average": 5, "count": 99}}
    )
    assert response.status_code == 422
    assert db.hotels.find_one({"_id": ObjectId(hotel["_id"])}).get("rating") is None


def test_role_and_hash_are_never_client_settable_or_visible(client, admin, db):
    response = client.post(
        "auth/register",
        {"email": "r@example.com", "password": "long password", "name": "R", "role": "admin"},
    )
    assert response.status_code == 422
    created = admin.post(
        "users", {"email": "s@example.com", "name": "S", "password_hash": "$argon2id$forged"}
    )
    assert created.status_code == 422
    for path in ("users", "me"):
        text = admin.get(path).text
        assert "password_hash" not in text and "token_version" not in text


def test_payment_amount_is_the_bookings(guest, stock, db):
    room_type, start = stock(price="100.00")
    booking = book(guest, room_type, start).json
    response = guest.post(
        "payments", {"booking": booking["_id"], "payment_method": "pm_card_visa", "amount": "0.01"}
    )
    assert response.status_code == 422
    assert db.payments.count_documents({}) == 0
