"""Hotels: the catalogue's root; public reads, admin writes, managers patch their own."""

from domain.fields import currency, index, money, ref, server_owned
from domain.vocabulary import HOTEL_AMENITIES, HOTEL_STATUSES, MAX_FEES, MAX_VAT_PERCENT

# What a stay costs beyond its nights, declared per hotel: catalogue/charges.py prices it
# for the search, the booking and the refund alike. A booking keeps a copy (`tax_terms`),
# so a later change of the hotel's taxes never changes a booking already made.
TAXES = {
    "type": "dict",
    "description": "VAT, a city tax and fees: every offer and booking shows them and an "
    "all-in total, which is what the guest is charged.",
    "example": {
        "vat_percent": 10,
        "vat_included": True,
        "city_tax": {"per_person_per_night": "2.88", "children_exempt": True},
        "fees": [{"code": "service", "name": "Service fee", "amount": "5.00", "per": "stay"}],
    },
    "schema": {
        "vat_name": {
            "type": "string",
            "empty": False,
            "maxlength": 40,
            "description": "What guests call it: VAT (the default), Sales tax, GST...",
            "example": "VAT",
        },
        "vat_percent": {
            "type": "number",
            "min": 0,
            "max": MAX_VAT_PERCENT,
            "description": "VAT on the room price, in percent (two decimals at most).",
            "example": 10,
        },
        "vat_included": {
            "type": "boolean",
            "default": True,
            "description": "True (the default): nightly prices include VAT, shown as its "
            "part of them; false: VAT is added to the room price.",
            "example": True,
        },
        "city_tax": {
            "type": "dict",
            "description": "A tax per person per night, outside VAT and refunded in full "
            "when the stay does not happen.",
            "schema": {
                "per_person_per_night": money(
                    "The tax for one guest and one night, in the hotel's currency.",
                    example="2.88",
                    required=True,
                ),
                "children_exempt": {
                    "type": "boolean",
                    "default": True,
                    "description": "True (the default): only adults pay it.",
                    "example": True,
                },
                "max_nights": {
                    "type": "integer",
                    "min": 1,
                    "max": 365,
                    "description": "Charged for at most this many nights of a stay.",
                    "example": 10,
                },
            },
        },
        "fees": {
            "type": "list",
            "maxlength": MAX_FEES,
            "description": "Mandatory fees per room, charged as declared (outside VAT here).",
            "schema": {
                "type": "dict",
                "schema": {
                    "code": {
                        "type": "string",
                        "required": True,
                        "regex": "^[a-z][a-z0-9_]{0,31}$",
                        "description": "Short code, unique among the hotel's fees.",
                        "example": "resort",
                    },
                    "name": {
                        "type": "string",
                        "required": True,
                        "empty": False,
                        "maxlength": 100,
                        "description": "As guests read it.",
                        "example": "Resort fee",
                    },
                    "amount": money("The fee, in the hotel's currency.", required=True),
                    "per": {
                        "type": "string",
                        "allowed": ["stay", "night"],
                        "description": "Once per room and stay (the default) or per "
                        "room and night.",
                        "example": "night",
                    },
                },
            },
        },
    },
}

hotels = {
    "item_title": "hotel",
    "description": "A hotel with its address, location, policies and the managers who run it.",
    "resource_methods": ["GET", "POST"],
    "item_methods": ["GET", "PATCH", "PUT", "DELETE"],
    "public_methods": ["GET"],
    "public_item_methods": ["GET"],
    # Public catalogue reads: browsers and CDNs may keep them a minute; after that a
    # conditional GET (If-None-Match) costs a 304 without a body.
    "cache_control": "public, max-age=60",
    "cache_expires": 60,
    "allowed_write_roles": ["admin"],
    "allowed_item_write_roles": ["admin", "manager"],
    "bulk_enabled": False,
    "allowed_filters": [
        "name",
        "address.city",
        "address.country",
        "stars",
        "amenities",
        "status",
        "managers",
        "rating.average",
        "location",
    ],
    "mongo_indexes": {
        "city": index("address.city", "stars"),
        "country": index("address.country"),
        "location": index(("location", "2dsphere")),
        "managers": index("managers"),
        "rating": index(("rating.average", -1)),
        "name": index("name"),
        "stars": index("stars"),
        "amenities": index("amenities"),
        "status": index("status"),
    },
    "schema": {
        "name": {
            "type": "string",
            "required": True,
            "empty": False,
            "maxlength": 200,
            "description": "Public name of the hotel.",
            "example": "Hotel du Louvre",
        },
        "description": {
            "type": "string",
            "maxlength": 5000,
            "description": "Free text shown to guests.",
            "example": "A quiet hotel two minutes from the Louvre.",
        },
        "address": {
            "type": "dict",
            "required": True,
            "description": "Postal address.",
            "example": {"line1": "1 Rue de Rivoli", "city": "Paris", "country": "FR"},
            "schema": {
                "line1": {
                    "type": "string",
                    "maxlength": 200,
                    "description": "Street and number.",
                    "example": "1 Rue de Rivoli",
                },
                "city": {
                    "type": "string",
                    "required": True,
                    "empty": False,
                    "maxlength": 100,
                    "description": "City, as guests search for it.",
                    "example": "Paris",
                },
                "country": {
                    "type": "string",
                    "required": True,
                    "iso_country": True,
                    "description": "ISO 3166-1 alpha-2 country code.",
                    "example": "FR",
                },
                "postal_code": {
                    "type": "string",
                    "maxlength": 20,
                    "description": "Postal code.",
                    "example": "75001",
                },
            },
        },
        "location": {
            "type": "point",
            "coordinates_in_range": True,
            "description": "GeoJSON Point [longitude, latitude], used by ?near= searches.",
            "example": {"type": "Point", "coordinates": [2.3376, 48.8606]},
        },
        "stars": {
            "type": "integer",
            "min": 1,
            "max": 5,
            "description": "Official star rating, 1 to 5.",
            "example": 4,
        },
        "amenities": {
            "type": "list",
            "schema": {"type": "string", "allowed": HOTEL_AMENITIES},
            "description": "Hotel amenities from the fixed vocabulary.",
            "example": ["wifi", "breakfast"],
        },
        "currency": currency(
            "ISO 4217 currency of every price at this hotel.",
            default="EUR",
        ),
        "timezone": {
            "type": "string",
            "iana_timezone": True,
            "default": "UTC",
            "description": "IANA time zone; cancellation deadlines are computed in it.",
            "example": "Europe/Paris",
        },
        "check_in_time": {
            "type": "string",
            "clock_time": True,
            "default": "15:00",
            "description": "Local time from which guests may check in (HH:MM).",
            "example": "15:00",
        },
        "check_out_time": {
            "type": "string",
            "clock_time": True,
            "default": "11:00",
            "description": "Local time by which guests check out (HH:MM).",
            "example": "11:00",
        },
        "cancellation_policy": {
            "type": "dict",
            "default": {"free_until_hours": 48, "penalty_percent": 100},
            "description": "Free cancellation until some hours before check-in, then a penalty.",
            "example": {"free_until_hours": 48, "penalty_percent": 50},
            "schema": {
                "free_until_hours": {
                    "type": "integer",
                    "min": 0,
                    "max": 8760,
                    "required": True,
                    "description": "Hours before check-in (hotel time) until which "
                    "cancelling is free.",
                    "example": 48,
                },
                "penalty_percent": {
                    "type": "integer",
                    "min": 0,
                    "max": 100,
                    "required": True,
                    "description": "Share of the total kept when cancelling later.",
                    "example": 50,
                },
            },
        },
        "taxes": TAXES,
        "managers": {
            "type": "list",
            "schema": ref("users", "A manager of this hotel."),
            "description": "Users (role manager) who manage this hotel.",
            "example": ["6740f0c2a1b2c3d4e5f60718"],
        },
        "status": {
            "type": "string",
            "allowed": HOTEL_STATUSES,
            "default": "active",
            "description": "Only active hotels appear in availability searches.",
            "example": "active",
        },
        "rating": server_owned(
            {
                "type": "dict",
                "description": "Average of guest reviews, maintained by the server.",
                "example": {"average": 4.5, "count": 12},
                "schema": {
                    "average": {
                        "type": "number",
                        "description": "Mean review rating, 0 when unrated.",
                        "example": 4.5,
                    },
                    "count": {
                        "type": "integer",
                        "description": "Number of reviews.",
                        "example": 12,
                    },
                    "sum": {
                        "type": "integer",
                        "description": "Sum of all review ratings, so the average stays exact.",
                        "example": 54,
                    },
                },
            }
        ),
    },
}
