"""Room types: what a hotel sells; written by the hotel's managers and admins."""

from domain.fields import currency, index, money, ref, server_owned
from domain.vocabulary import (
    BED_TYPES,
    EXAMPLE_PLANS,
    MAX_PLANS,
    MEALS,
    RATE_PLAN_PAYMENTS,
    ROOM_AMENITIES,
)

RATE_PLAN = {
    "code": {
        "type": "string",
        "required": True,
        "regex": "^[a-z][a-z0-9_-]{0,39}$",
        "description": "The plan's code, unique in the room type: what a booking names.",
        "example": "flexible",
    },
    "name": {
        "type": "string",
        "required": True,
        "empty": False,
        "maxlength": 80,
        "description": "Name shown to guests.",
        "example": "Flexible",
    },
    "discount_percent": {
        "type": "integer",
        "min": 0,
        "max": 90,
        "default": 0,
        "description": "Percent off each night's price (rounded half-up to the minor unit).",
        "example": 10,
    },
    "supplement_per_person": money(
        "Added per guest (adults and children) per night, in the hotel's currency: "
        "breakfast, for example.",
        example="15.00",
    ),
    "meal": {
        "type": "string",
        "allowed": list(MEALS),
        "default": "room_only",
        "description": "Meals included.",
        "example": "breakfast",
    },
    "min_stay": {
        "type": "integer",
        "min": 1,
        "max": 30,
        "default": 1,
        "description": "Fewest nights this plan sells.",
        "example": 1,
    },
    "min_days_ahead": {
        "type": "integer",
        "min": 0,
        "max": 365,
        "default": 0,
        "description": "Days between booking and arrival at least (early-booking rates).",
        "example": 0,
    },
    "payment": {
        "type": "string",
        "allowed": RATE_PLAN_PAYMENTS,
        "default": "prepay",
        "description": "prepay: the total is charged when booking. at_hotel: the guest "
        "pays at the hotel; the card is saved as a guarantee (nothing is charged) and a "
        "late cancellation or a no-show is charged what the policy keeps.",
        "example": "prepay",
    },
    "cancellation": {
        "type": "dict",
        "description": "The plan's cancellation policy; absent, the hotel's applies.",
        "example": {"refundable": True, "free_until_hours": 24, "penalty_percent": 100},
        "schema": {
            "refundable": {
                "type": "boolean",
                "default": True,
                "description": "false: nothing is refunded on cancellation "
                "(but a city tax, always refunded).",
                "example": True,
            },
            "free_until_hours": {
                "type": "integer",
                "min": 0,
                "max": 8760,
                "description": "Hours before arrival until which cancelling is free.",
                "example": 24,
            },
            "penalty_percent": {
                "type": "integer",
                "min": 0,
                "max": 100,
                "description": "Share of the total kept when cancelling later.",
                "example": 100,
            },
        },
    },
}

room_types = {
    "url": "room-types",
    "item_title": "room type",
    "description": "A kind of room a hotel sells, with its capacity and number of rooms.",
    "resource_methods": ["GET", "POST"],
    "item_methods": ["GET", "PATCH", "PUT", "DELETE"],
    "public_methods": ["GET"],
    "public_item_methods": ["GET"],
    # Public catalogue reads: browsers and CDNs may keep them a minute; after that a
    # conditional GET (If-None-Match) costs a 304 without a body.
    "cache_control": "public, max-age=60",
    "cache_expires": 60,
    "allowed_write_roles": ["admin", "manager"],
    "allowed_item_write_roles": ["admin", "manager"],
    "bulk_enabled": False,
    "allowed_filters": ["hotel"],
    "mongo_indexes": {"hotel": index("hotel")},
    "schema": {
        "hotel": ref("hotels", "The hotel selling this room type.", required=True),
        "currency": server_owned(
            currency(
                "The hotel's currency (copied by the server, and kept with the hotel's): "
                "the currency of the rate plans' supplements."
            )
        ),
        "name": {
            "type": "string",
            "required": True,
            "empty": False,
            "maxlength": 120,
            "description": "Name shown to guests.",
            "example": "Deluxe Double",
        },
        "description": {
            "type": "string",
            "maxlength": 5000,
            "description": "Free text shown to guests.",
            "example": "A bright double room facing the garden.",
        },
        "max_adults": {
            "type": "integer",
            "required": True,
            "min": 1,
            "max": 20,
            "description": "Most adults the room sleeps.",
            "example": 2,
        },
        "max_children": {
            "type": "integer",
            "min": 0,
            "max": 20,
            "default": 0,
            "description": "Most children the room sleeps, besides the adults.",
            "example": 1,
        },
        "beds": {
            "type": "list",
            "description": "Beds in the room.",
            "example": [{"type": "queen", "count": 1}],
            "schema": {
                "type": "dict",
                "schema": {
                    "type": {
                        "type": "string",
                        "allowed": BED_TYPES,
                        "required": True,
                        "description": "Bed type.",
                        "example": "queen",
                    },
                    "count": {
                        "type": "integer",
                        "min": 1,
                        "max": 10,
                        "required": True,
                        "description": "How many beds of that type.",
                        "example": 1,
                    },
                },
            },
        },
        "size_m2": {
            "type": "integer",
            "min": 1,
            "max": 2000,
            "description": "Floor area in square metres.",
            "example": 24,
        },
        "amenities": {
            "type": "list",
            "schema": {"type": "string", "allowed": ROOM_AMENITIES},
            "description": "Room amenities from the fixed vocabulary.",
            "example": ["wifi", "air_conditioning"],
        },
        "total_rooms": {
            "type": "integer",
            "required": True,
            "min": 0,
            "max": 10000,
            "description": "Rooms of this type in the hotel; no night's allotment may exceed it.",
            "example": 12,
        },
        "rate_plans": {
            "type": "list",
            "maxlength": MAX_PLANS,
            "description": "How this room type is sold: each plan has its price rule, "
            "cancellation policy and conditions; codes are unique. None declared: one "
            "'standard' plan at the night's price under the hotel's policy.",
            "example": list(EXAMPLE_PLANS),
            "schema": {"type": "dict", "schema": RATE_PLAN},
        },
    },
}
