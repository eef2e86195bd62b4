"""API1 Broken Object Level Authorization: another user's objects are unreachable (404)."""

import pytest
from bson import ObjectId

from tests.factories import book


@pytest.fixture
def victim(login, stock):
    """A guest with a booking and a payment; the attacker is another guest."""
    owner = login("guest")
    room_type, start = stock(nights=2)
    booking = book(owner, room_type, start).json
    payment = owner.post(
        "payments", {"booking": booking["_id"], "payment_method": "pm_card_authenticationRequired"}
    ).json
    return owner, booking, payment


def test_guessing_ids_of_bookings_and_payments(victim, guest, db):
    _, booking, payment = victim
    assert guest.get(f"bookings/{booking['_id']}").status_code == 404
    assert guest.get(f"payments/{payment['_id']}").status_code == 404
    cancel = guest.patch(
        f"bookings/{booking['_id']}", {"status": "cancelled"}, etag=booking["_etag"]
    )
    assert cancel.status_code == 404
    assert db.bookings.find_one({"_id": ObjectId(booking["_id"])})["status"] == "pending_payment"


def test_lists_and_where_filters_never_show_others(victim, guest):
    owner, booking, payment = victim
    owner_id = str(owner.user["_id"])
    for resource in ("bookings", "payments"):
        for query in (
            "",
            f'?where={{"guest": "{owner_id}"}}',
            f'?where={{"_id": "{booking["_id"]}"}}',
        ):
            listing = guest.get(resource + query)
            # Either the filter is refused or it finds nothing: never the owner's data.
            assert listing.status_code in (200, 400), (resource, query)
            if listing.status_code == 200:
                assert listing.json["_meta"]["total"] == 0, (resource, query)
            assert booking["confirmation_code"] not in listing.text


def test_paying_or_reviewing_someone_elses_booking(victim, guest, db):
    _, booking, _ = victim
    assert (
        guest.post(
            "payments", {"booking": booking["_id"], "payment_method": "pm_card_visa"}
        ).status_code
        == 404
    )
    assert guest.post("reviews", {"booking": booking["_id"], "rating": 1}).status_code == 404
    assert db.bookings.find_one({"_id": ObjectId(booking["_id"])})["status"] == "pending_payment"


def test_embedding_cannot_reach_private_documents(victim, client, db):
    owner, booking, _ = victim
    db.bookings.update_one({}, {"$set": {"status": "confirmed"}})
    review = {
        "booking": ObjectId(booking["_id"]),
        "hotel": ObjectId(booking["hotel"]),
        "guest": owner.user["_id"],
        "rating": 5,
    }
    db.reviews.insert_one(review)
    for embedded in ('{"booking": 1}', '{"guest": 1}'):
        response = client.get(f"reviews?embedded={embedded}")
        assert owner.user["email"] not in response.text
        assert booking["confirmation_code"] not in response.text


def test_sandbox_helper_and_users_are_scoped(victim, guest):
    _, _, payment = victim
    response = guest.post(f"sandbox/payments/{payment['_id']}/complete", {"outcome": "succeeded"})
    assert response.status_code == 404
    assert guest.get(f"users/{victim[0].user['_id']}").status_code == 403


def test_managers_reach_only_their_hotels(login, make_hotel, make_room_type, db):
    other_hotel = make_hotel(managers=[])
    outsider = login("manager")
    room_type = make_room_type(hotel=other_hotel)
    body = {"from": "2027-01-01", "to": "2027-01-02", "allotment": 1, "price": "1.00"}
    assert outsider.put(f"room-types/{room_type['_id']}/inventory", body).status_code == 403
    assert outsider.patch_item(f"room-types/{room_type['_id']}", {"name": "x"}).status_code == 403
    assert db.inventory.count_documents({}) == 0
