"""Reviews: only the guest of a confirmed, completed stay, once; ratings kept exact."""

from catalogue import cards
from plumbing.context import answer_cache
from plumbing.errors import Refusal
from plumbing.values import Day, stamp, today


def check_reviewable(db, review, user):
    booking = db.bookings.find_one({"_id": review["booking"], "guest": user["_id"]})
    if booking is None:
        raise Refusal(404, "no such booking", {"booking": "not one of your bookings"})
    if booking["status"] != "confirmed":
        raise Refusal(
            409, f"only a confirmed stay can be reviewed; this booking is {booking['status']}"
        )
    check_out = Day.of(booking["check_out"])
    if check_out > today():
        raise Refusal(409, f"a stay can be reviewed from its check-out date, {check_out}")
    if db.reviews.find_one({"booking": booking["_id"]}, {"_id": 1}):
        raise Refusal(409, "this booking has already been reviewed")
    review.update(hotel=booking["hotel"], guest=user["_id"])


def ratings_changed(db, reviews):
    """After reviews commit: the hotels' ratings show in searches and on the hotel."""
    answer_cache().bump_hotels(db, [review["hotel"] for review in reviews], catalogue=True)


def add_to_rating(db, session, reviews):
    """Inside the review insert's transaction: concurrent reviews of one hotel conflict on
    the hotel document and are retried, so count and average never lose a review."""
    for review in reviews:
        hotel = db.hotels.find_one({"_id": review["hotel"]}, {"rating": 1}, session=session)
        rating = (hotel or {}).get("rating") or {}
        count = rating.get("count", 0)
        total = rating.get("sum", rating.get("average", 0) * count)
        count, total = count + 1, total + review["rating"]
        rating = {"average": round(total / count, 2), "count": count, "sum": total}
        db.hotels.update_one(
            {"_id": review["hotel"]}, {"$set": {"rating": rating, **stamp()}}, session=session
        )
        cards.set_rating(db, review["hotel"], rating, session=session)
