"""Reviews: owner only, confirmed and completed stays, once; ratings exact under races."""

from datetime import datetime

import pytest
from bson import ObjectId

from tests.factories import book
from tests.support import _race


@pytest.fixture
def stayed(guest, stock, db):
    """A confirmed booking whose check-out has passed (moved into the past directly)."""

    def _stayed(client=guest):
        room_type, start = stock(nights=1)
        created = book(client, room_type, start, nights=1).json
        db.bookings.update_one(
            {"_id": ObjectId(created["_id"])},
            {
                "$set": {
                    "status": "confirmed",
                    "check_in": datetime(2026, 1, 1),
                    "check_out": datetime(2026, 1, 2),
                }
            },
        )
        return created

    return _stayed


def test_owner_reviews_once_and_the_rating_follows(guest, stayed, db, client):
    booking = stayed()
    response = guest.post("reviews", {"booking": booking["_id"], "rating": 4, "comment": "ok"})
    assert response.status_code == 201, response.json
    assert response.json["hotel"] == booking["hotel"]
    hotel = client.get(f"hotels/{booking['hotel']}").json
    assert hotel["rating"]["average"] == 4 and hotel["rating"]["count"] == 1
    card = db.search_rooms.find_one({"_id": ObjectId(booking["room_type"])})
    assert card["rating"] == {"average": 4, "count": 1}  # searches sort on it
    second = guest.post("reviews", {"booking": booking["_id"], "rating": 1})
    assert second.status_code == 409
    assert "already been reviewed" in second.json["_error"]["message"]
    assert db.reviews.count_documents({}) == 1
    assert client.get("reviews").json["_meta"]["total"] == 1  # reviews are public


def test_someone_elses_booking_is_404(stayed, login, db):
    booking = stayed()
    response = login("guest").post("reviews", {"booking": booking["_id"], "rating": 5})
    assert response.status_code == 404
    assert db.reviews.count_documents({}) == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "pending_payment"}, "only a confirmed stay"),
        ({"status": "cancelled"}, "only a confirmed stay"),
        ({"check_out": datetime(2099, 1, 2)}, "from its check-out date"),
    ],
)
def test_only_completed_confirmed_stays(guest, stayed, db, changes, message):
    booking = stayed()
    db.bookings.update_one({"_id": ObjectId(booking["_id"])}, {"$set": changes})
    response = guest.post("reviews", {"booking": booking["_id"], "rating": 5})
    assert response.status_code == 409
    assert message in response.json["_error"]["message"]
    assert db.reviews.count_documents({}) == 0


@pytest.mark.parametrize("rating", [0, 6, "five", 4.5, True])
def test_rating_is_1_to_5(guest, stayed, rating):
    booking = stayed()
    response = guest.post("reviews", {"booking": booking["_id"], "rating": rating})
    assert response.status_code == 422
    assert "rating" in response.json["_issues"]


def test_concurrent_reviews_keep_an_exact_average(login, stock, db, stayed, make_room_type):
    guests = [login("guest") for _ in range(8)]
    bookings = [stayed(g) for g in guests]
    # Put every booking on one hotel so all reviews race for the same rating.
    hotel = ObjectId(bookings[0]["hotel"])
    db.bookings.update_many({}, {"$set": {"hotel": hotel}})
    ratings = [5, 4, 3, 5, 2, 4, 5, 1]
    responses = _race(
        [
            lambda g=g, b=b, r=r: g.post("reviews", {"booking": b["_id"], "rating": r})
            for g, b, r in zip(guests, bookings, ratings, strict=True)
        ]
    )
    assert [r.status_code for r in responses] == [201] * 8
    rating = db.hotels.find_one({"_id": hotel})["rating"]
    assert rating["count"] == 8 and rating["sum"] == sum(ratings)
    assert rating["average"] == round(sum(ratings) / 8, 2)
    for card in db.search_rooms.find({"hotel": hotel}):
        assert card["rating"] == {"average": rating["average"], "count": 8}


def test_a_review_changes_the_hotels_etag(guest, stayed, client):
    booking = stayed()
    before = client.get(f"hotels/{booking['hotel']}")
    assert guest.post("reviews", {"booking": booking["_id"], "rating": 5}).status_code == 201
    after = client.get(
        f"hotels/{booking['hotel']}", headers={"If-None-Match": before.headers["ETag"]}
    )
    assert after.status_code == 200 and after.json["rating"]["count"] == 1
    assert after.json["_etag"] != before.json["_etag"]


def test_a_review_refreshes_cached_search_answers(guest, stayed, client):
    booking = stayed()
    url = (
        f"availability?city=Paris&check_in={booking['check_in']}&check_out={booking['check_out']}"
    )
    assert client.get(url).json["_items"][0]["hotel"]["rating"]["count"] == 0
    assert client.get(url).headers["X-Search-Cache"] == "hit"
    hotel = f"hotels/{booking['hotel']}"
    assert "rating" not in client.get(hotel).json  # no review yet
    assert client.get(hotel).headers["X-Read-Cache"] == "hit"
    assert guest.post("reviews", {"booking": booking["_id"], "rating": 5}).status_code == 201
    assert client.get(hotel).json["rating"]["count"] == 1
    after = client.get(url)
    assert after.headers["X-Search-Cache"] == "miss"
    assert after.json["_items"][0]["hotel"]["rating"] == {"average": 5, "count": 1}
