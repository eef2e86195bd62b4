"""Reviews: a guest's rating of a stay they completed."""

from domain.fields import index, ref, server_owned

reviews = {
    "item_title": "review",
    "description": "One review per confirmed, completed booking, by the booking's owner.",
    "resource_methods": ["GET", "POST"],
    "item_methods": ["GET"],
    "public_methods": ["GET"],
    "public_item_methods": ["GET"],
    "allowed_write_roles": ["guest", "manager", "admin"],
    "bulk_enabled": False,
    "allowed_filters": ["hotel", "_created"],
    "mongo_indexes": {
        "booking": index("booking", unique=True),
        "hotel": index("hotel", "_created"),
    },
    "schema": {
        "booking": ref("bookings", "The completed booking reviewed.", required=True),
        "rating": {
            "type": "integer",
            "required": True,
            "min": 1,
            "max": 5,
            "description": "1 (poor) to 5 (excellent).",
            "example": 5,
        },
        "comment": {
            "type": "string",
            "maxlength": 4000,
            "description": "Free text.",
            "example": "Lovely staff, quiet room.",
        },
        "hotel": server_owned(ref("hotels", "The reviewed hotel.")),
        "guest": server_owned(ref("users", "The reviewer.")),
    },
}
