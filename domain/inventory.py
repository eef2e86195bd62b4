"""Inventory: one row per (room type, night) saying how many rooms sell, at what price."""

from domain.fields import currency, day, index, money, ref, server_owned

inventory = {
    "item_title": "inventory row",
    "description": "Rooms sellable and the nightly price for one room type on one night. "
    "A night is sellable when its row exists, is not closed and booked < allotment. "
    'A list names a room type or a night in `where` (`{"room_type": "<id>"}`, '
    '`{"date": "2026-12-01"}`, or an `$in` list of either): the collection holds a row '
    "per room type and night, too many to page through unfiltered.",
    "resource_methods": ["GET", "POST"],
    "item_methods": ["GET", "PATCH", "DELETE"],
    "public_methods": ["GET"],
    "public_item_methods": ["GET"],
    "allowed_write_roles": ["admin", "manager"],
    "allowed_item_write_roles": ["admin", "manager"],
    "bulk_enabled": False,
    "pagination_limit": 400,
    "allowed_filters": ["room_type", "date", "city"],
    "mongo_indexes": {
        "room_type_date": index("room_type", "date", unique=True),
        # Bookings, cancellations and expiries: a stay's nights under the shard-key
        # prefix (docs/scaling.md); unique, so it can become the shard key's index.
        "city_room_type_date": index("city", "room_type", "date", unique=True),
        # Availability searches: a city's nights, or all nights of a stay (near/country).
        "city_date": index("city", "date"),
        "date": index("date"),
    },
    "schema": {
        "room_type": ref("room_types", "The room type this row sells.", required=True),
        "date": day("The night: check_in <= date < check_out.", required=True),
        "allotment": {
            "type": "integer",
            "required": True,
            "min": 0,
            "description": "Rooms sellable that night (at most the room type's total_rooms).",
            "example": 8,
        },
        "price": money(
            "Price of one room for this night, in the hotel's currency.", required=True
        ),
        "price_minor": server_owned(
            {
                "type": "integer",
                "description": "The same price in whole minor units of the currency (cents "
                "for EUR), kept equal to `price` by the server: searches sum and sort it.",
                "example": 12050,
            }
        ),
        "closed": {
            "type": "boolean",
            "default": False,
            "description": "A closed night is not sold whatever its allotment.",
            "example": False,
        },
        "min_stay": {
            "type": "integer",
            "min": 1,
            "max": 30,
            "default": 1,
            "description": "Shortest stay, in nights, for arrivals on this night.",
            "example": 2,
        },
        "hotel": server_owned(ref("hotels", "The room type's hotel (copied by the server).")),
        "booked": server_owned(
            {
                "type": "integer",
                "description": "Rooms held or sold for this night (maintained by the server).",
                "example": 3,
            }
        ),
        "currency": server_owned(currency("The hotel's currency (copied by the server).")),
        "city": server_owned(
            {
                "type": "string",
                "description": "The hotel's city (copied by the server, for searches).",
                "example": "Paris",
            }
        ),
        "country": server_owned(
            {
                "type": "string",
                "description": "The hotel's country (copied by the server, for searches).",
                "example": "FR",
            }
        ),
    },
}
