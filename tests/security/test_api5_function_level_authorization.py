"""API5 Broken Function Level Authorization: no privilege escalation through any route."""

import pytest


@pytest.mark.parametrize("role", ["guest", "manager"])
def test_admin_functions_are_closed_to_other_roles(login, role, db, make_hotel):
    caller = login(role)
    hotel = make_hotel()
    own = f"users/{caller.user['_id']}"
    attempts = [
        caller.get("users"),
        caller.post("users", {"email": "new@example.com", "role": "admin"}),
        caller.patch(own, {"role": "admin"}, etag="x"),
        caller.delete(own, headers={"If-Match": "x"}),
        caller.post("hotels", {"name": "X", "address": {"city": "Oslo", "country": "NO"}}),
        caller.delete(f"hotels/{hotel['_id']}", headers={"If-Match": hotel["_etag"]}),
        caller.put(
            f"hotels/{hotel['_id']}",
            {"name": "Y", "address": {"city": "Oslo", "country": "NO"}},
            headers={"If-Match": hotel["_etag"]},
        ),
    ]
    assert [a.status_code for a in attempts] == [403] * len(attempts)
    assert db.users.find_one({"_id": caller.user["_id"]})["role"] == role
    assert db.hotels.count_documents({}) == 1


def test_me_is_read_only(guest, db):
    assert guest.patch("me", {"role": "admin"}, etag="x").status_code == 405
    assert guest.put("me", {"role": "admin"}).status_code == 405
    assert db.users.find_one({"_id": guest.user["_id"]})["role"] == "guest"


def test_guests_cannot_write_the_catalogue(guest, make_room_type, db):
    room_type = make_room_type()
    body = {"from": "2027-01-01", "to": "2027-01-03", "allotment": 1, "price": "1.00"}
    assert guest.put(f"room-types/{room_type['_id']}/inventory", body).status_code == 403
    assert (
        guest.post(
            "inventory",
            {"room_type": room_type["_id"], "date": "2027-01-01", "allotment": 1, "price": "1.00"},
        ).status_code
        == 403
    )
    assert db.inventory.count_documents({}) == 0
