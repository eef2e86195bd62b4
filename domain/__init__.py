"""The whole API, declared: DOMAIN maps each resource name to its Eve settings."""

import copy

from domain.bookings import CLIENT_PATCH as BOOKING_PATCH
from domain.bookings import bookings
from domain.exchange_rates import exchange_rates
from domain.hotels import hotels
from domain.inventory import inventory
from domain.payments import payments
from domain.reviews import reviews
from domain.room_types import room_types
from domain.users import users
from domain.webhook_endpoints import webhook_endpoints

_DOMAIN = {
    "hotels": hotels,
    "room_types": room_types,
    "inventory": inventory,
    "bookings": bookings,
    "payments": payments,
    "reviews": reviews,
    "users": users,
    "webhook_endpoints": webhook_endpoints,
    "exchange_rates": exchange_rates,
}


# PATCH bodies narrower than "any writable field": resource -> the one body allowed.
CLIENT_PATCHES = {"bookings": BOOKING_PATCH}


# Lists a client may ask for only with one of these fields pinned in `where` (a value or
# an $in list): the collection grows by a row per room type and night, so a page of it
# unfiltered costs the database a read through all of it (plumbing/queries.py). A room
# type's nights, or one night of every room type, is what a client or a manager reads.
NARROW_LISTS = {"inventory": ("room_type", "date")}


def build_domain():
    """A deep copy: Eve mutates the settings it is handed."""
    return copy.deepcopy(_DOMAIN)
