"""Hooks on /reviews: the booking's owner only, after a confirmed stay, once."""

from plumbing.context import current_user, db
from reviews import ratings


def refuse_review_unless_stayed(documents):
    for review in documents:
        ratings.check_reviewable(db(), review, current_user())


def add_to_hotel_rating(session, documents):
    ratings.add_to_rating(db(), session, documents)


def ratings_changed(documents):
    ratings.ratings_changed(db(), documents)


def init_app(app):
    app.on_insert_reviews += refuse_review_unless_stayed
    app.data.run_inside_insert("reviews", add_to_hotel_rating)
    app.on_inserted_reviews += ratings_changed
