"""Bookings: a guest's reservation of one room type for every night of a stay, or none."""

from domain.fields import currency, day, idempotency_key, index, money, ref, server_owned
from domain.vocabulary import BOOKING_STATUSES

# The only change a client may make to a booking (hooks/bookings.py refuses any other);
# the OpenAPI document's PATCH body for bookings says exactly this.
CLIENT_PATCH = {"status": "cancelled"}

bookings = {
    "item_title": "booking",
    "description": "A reservation. Created pending_payment with a hold; a payment confirms it. "
    'The only change a client may make is {"status": "cancelled"}.',
    "resource_methods": ["GET", "POST"],
    "item_methods": ["GET", "PATCH"],
    "allowed_roles": ["guest", "manager", "admin"],
    "allowed_item_roles": ["guest", "manager", "admin"],
    "bulk_enabled": False,
    "allowed_filters": [
        "status",
        "hotel",
        "check_in",
        "confirmation_code",
        "guest",
        "_created",
    ],
    "mongo_indexes": {
        "guest_status": index("guest", "status"),
        "hotel_check_in": index("hotel", "check_in"),
        "confirmation_code": index("confirmation_code", unique=True),
        "status_hold": index("status", "hold_expires_at"),
        "check_in": index("check_in"),
        # reconcile recounts one night's live bookings of a room type through it
        "room_type_check_in": index("room_type", "check_in"),
        "idempotency_key": index("idempotency_key", unique=True, sparse=True),
    },
    "schema": {
        "room_type": ref("room_types", "The room type to book.", required=True),
        "check_in": day("Arrival date (the first night).", required=True),
        "check_out": day(
            "Departure date (the morning after the last night).",
            required=True,
            example="2026-12-04",
        ),
        "adults": {
            "type": "integer",
            "min": 1,
            "max": 20,
            "default": 1,
            "description": "Adults in the party.",
            "example": 2,
        },
        "children": {
            "type": "integer",
            "min": 0,
            "max": 20,
            "default": 0,
            "description": "Children in the party.",
            "example": 0,
        },
        "guest_name": {
            "type": "string",
            "maxlength": 200,
            "description": "Name the hotel should expect, if not the account holder's.",
            "example": "Ada Lovelace",
        },
        "special_requests": {
            "type": "string",
            "maxlength": 2000,
            "description": "Free text for the hotel.",
            "example": "Late arrival, around 23:00.",
        },
        "status": {
            "type": "string",
            "allowed": BOOKING_STATUSES,
            "description": "pending_payment -> confirmed | expired | cancelled; "
            "confirmed -> cancelled. Clients may only PATCH it to cancelled.",
            "example": "pending_payment",
        },
        "guest": server_owned(ref("users", "The user who booked.")),
        "idempotency_key": idempotency_key(),
        "hotel": server_owned(ref("hotels", "The room type's hotel.")),
        "city": server_owned(
            {
                "type": "string",
                "description": "The hotel's city (copied by the server, kept current while "
                "the booking is live): where its nights are, and its shard-key route.",
                "example": "Paris",
            }
        ),
        "nights": server_owned(
            {"type": "integer", "description": "Number of nights.", "example": 3}
        ),
        "nightly_prices": server_owned(
            {
                "type": "list",
                "description": "The price of each night, taken from inventory at booking time.",
                "example": [{"date": "2026-12-01", "price": "120.00"}],
                "schema": {
                    "type": "dict",
                    "schema": {
                        "date": day("The night."),
                        "price": money("The night's price."),
                    },
                },
            }
        ),
        "total_price": server_owned(money("Sum of the nightly prices.", example="360.00")),
        "currency": server_owned(currency()),
        "hold_expires_at": server_owned(
            {
                "type": "datetime",
                "description": "When an unpaid booking expires and its nights return to sale.",
                "example": "2026-12-01T14:45:00Z",
            }
        ),
        "confirmation_code": server_owned(
            {
                "type": "string",
                "description": "Short code for the guest and the front desk.",
                "example": "K7M3QX9P",
            }
        ),
        "cancellation_policy": server_owned(
            {
                "type": "dict",
                "description": "The hotel's policy when booked; refunds follow this snapshot.",
                "example": {"free_until_hours": 48, "penalty_percent": 50},
                "schema": {
                    "free_until_hours": {
                        "type": "integer",
                        "description": "Hours before check-in until which cancelling is free.",
                        "example": 48,
                    },
                    "penalty_percent": {
                        "type": "integer",
                        "description": "Share of the total kept when cancelling later.",
                        "example": 50,
                    },
                    "timezone": {
                        "type": "string",
                        "description": "The hotel's time zone.",
                        "example": "Europe/Paris",
                    },
                    "check_in_time": {
                        "type": "string",
                        "description": "The hotel's check-in time.",
                        "example": "15:00",
                    },
                },
            }
        ),
        "refund_amount": server_owned(money("Refunded on cancellation.", example="180.00")),
        "confirmed_at": server_owned(
            {
                "type": "datetime",
                "description": "When payment confirmed it.",
                "example": "2026-12-01T14:35:00Z",
            }
        ),
        "cancelled_at": server_owned(
            {
                "type": "datetime",
                "description": "When it was cancelled.",
                "example": "2026-12-02T09:00:00Z",
            }
        ),
        "expired_at": server_owned(
            {
                "type": "datetime",
                "description": "When its hold lapsed.",
                "example": "2026-12-01T14:45:00Z",
            }
        ),
    },
}
