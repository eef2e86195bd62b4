"""Room types: written by the hotel's managers and admins, embeddable, validated."""

import pytest


def test_manager_creates_room_type_for_own_hotel(manager, make_hotel, db):
    hotel = make_hotel()
    response = manager.post(
        "room-types", {"hotel": hotel["_id"], "name": "Twin", "max_adults": 2, "total_rooms": 4}
    )
    assert response.status_code == 201
    assert response.json["max_children"] == 0
    assert response.json["_links"]["related"]["hotel"]["href"] == f"hotels/{hotel['_id']}"


def test_manager_cannot_add_to_another_hotel(manager, make_hotel, db):
    hotel = make_hotel(managers=[])
    response = manager.post(
        "room-types", {"hotel": hotel["_id"], "name": "Twin", "max_adults": 2, "total_rooms": 4}
    )
    assert response.status_code == 403
    assert db.room_types.count_documents({}) == 0


def test_guest_cannot_create_room_types(guest, make_hotel):
    hotel = make_hotel()
    response = guest.post(
        "room-types", {"hotel": hotel["_id"], "name": "T", "max_adults": 1, "total_rooms": 1}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"max_adults": 0}, "max_adults", "min value is 1"),
        ({"total_rooms": -1}, "total_rooms", "min value is 0"),
        ({"hotel": "6740f0c2a1b2c3d4e5f60718"}, "hotel", "must exist"),
        ({"hotel": "nope"}, "hotel", "24-character hexadecimal"),
        ({"beds": [{"type": "waterbed", "count": 1}]}, "beds", "unallowed value"),
    ],
)
def test_room_type_refusals(admin, make_hotel, db, overrides, field, message):
    hotel = make_hotel()
    body = {"hotel": hotel["_id"], "name": "T", "max_adults": 2, "total_rooms": 2}
    body.update(overrides)
    response = admin.post("room-types", body)
    assert response.status_code == 422
    assert message in str(response.json["_issues"][field])
    assert db.room_types.count_documents({}) == 0


def test_embedding_the_hotel(client, make_room_type):
    room_type = make_room_type()
    response = client.get(f'room-types/{room_type["_id"]}?embedded={{"hotel": 1}}')
    assert response.status_code == 200
    assert response.json["hotel"]["name"] == "Hotel Test"


def test_room_type_cannot_move_hotels(manager, make_room_type, make_hotel):
    room_type = make_room_type()
    other = make_hotel()
    response = manager.patch_item(f"room-types/{room_type['_id']}", {"hotel": other["_id"]})
    assert response.status_code == 422
    assert "another hotel" in response.json["_error"]["message"]
