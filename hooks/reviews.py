"""Hooks on /reviews: the booking's owner only, after a confirmed stay, once."""

from hooks.access import current_user, db
from services import reviews


def refuse_review_unless_stayed(documents):
    for review in documents:
        reviews.check_reviewable(db(), review, current_user())


def add_to_hotel_rating(session, documents):
    reviews.add_to_rating(db(), session, documents)
