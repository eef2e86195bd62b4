"""Eve event hooks, one module per area; each module's init_app registers its own."""

from hooks import (
    bookings,
    catalogue,
    idempotency,
    links,
    messages,
    payments,
    reviews,
    users,
    webhooks,
)

AREAS = (messages, catalogue, idempotency, bookings, payments, reviews, users, webhooks, links)


def init_app(app):
    for area in AREAS:
        area.init_app(app)
