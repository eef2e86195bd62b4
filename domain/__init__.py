"""The whole API, declared: DOMAIN maps each resource name to its Eve settings."""

import copy

from domain.bookings import CLIENT_PATCH as BOOKING_PATCH
from domain.bookings import bookings
from domain.hotels import hotels
from domain.inventory import inventory
from domain.payments import payments
from domain.reviews import reviews
from domain.room_types import room_types
from domain.users import users

_DOMAIN = {
    "hotels": hotels,
    "room_types": room_types,
    "inventory": inventory,
    "bookings": bookings,
    "payments": payments,
    "reviews": reviews,
    "users": users,
}


# PATCH bodies narrower than "any writable field": resource -> the one body allowed.
CLIENT_PATCHES = {"bookings": BOOKING_PATCH}


def build_domain():
    """A deep copy: Eve mutates the settings it is handed."""
    return copy.deepcopy(_DOMAIN)
