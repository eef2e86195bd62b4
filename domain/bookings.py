"""Bookings: a guest's reservation of one or more rooms of one hotel for every night of a
stay, or none."""

from domain.fields import currency, day, idempotency_key, index, money, ref, server_owned
from domain.hotels import TAXES
from domain.vocabulary import BOOKING_STATUSES, MAX_ROOMS, MEALS, RATE_PLAN_PAYMENTS

NIGHTLY_PRICES = {
    "type": "list",
    "description": "The price of each night, taken from inventory at booking time.",
    "example": [{"date": "2026-12-01", "price": "120.00"}],
    "schema": {
        "type": "dict",
        "schema": {
            "date": day("The night."),
            "price": money("The night's price (the room, before city tax and fees)."),
            "net": money(
                "The night's price without VAT, when the price includes VAT: the room "
                "revenue the KPIs count."
            ),
        },
    },
}
_LINE = {
    "type": "dict",
    "schema": {
        "code": {
            "type": "string",
            "description": "vat, city_tax, or the fee's code.",
            "example": "city_tax",
        },
        "name": {"type": "string", "description": "As the guest reads it.", "example": "City tax"},
        "amount": money("The amount.", example="17.28"),
        "included": {
            "type": "boolean",
            "description": "Taxes: true when the room price already includes it (VAT).",
            "example": False,
        },
    },
}
PRICE_BREAKDOWN = {
    "type": "dict",
    "description": "room + fees + taxes not included = total, the all-in amount charged "
    "(catalogue/charges.py).",
    "example": {
        "room": "300.00",
        "taxes": [
            {"code": "vat", "name": "VAT 10 % (included)", "amount": "27.27", "included": True},
            {"code": "city_tax", "name": "City tax", "amount": "17.28", "included": False},
        ],
        "fees": [],
        "total": "317.28",
    },
    "schema": {
        "room": money("The nights under the rate plan."),
        "taxes": {"type": "list", "schema": _LINE, "description": "VAT and the city tax."},
        "fees": {"type": "list", "schema": _LINE, "description": "The hotel's fees."},
        "total": money("The all-in total."),
    },
}
RATE_PLAN_TERMS = {
    "type": "dict",
    "description": "The rate plan as it was when booked: prices and refunds follow this.",
    "example": {
        "code": "breakfast",
        "name": "Breakfast included",
        "discount_percent": 0,
        "supplement_per_person": "18.00",
        "meal": "breakfast",
    },
    "schema": {
        "code": {"type": "string", "description": "The plan's code.", "example": "breakfast"},
        "name": {"type": "string", "description": "Its name.", "example": "Breakfast included"},
        "discount_percent": {
            "type": "integer",
            "description": "Percent off each night's price.",
            "example": 0,
        },
        "supplement_per_person": {
            "type": "string",
            "description": "Added per guest per night (decimal string, booking's currency).",
            "example": "18.00",
        },
        "meal": {
            "type": "string",
            "allowed": list(MEALS),
            "description": "Meals included.",
            "example": "breakfast",
        },
        "payment": {
            "type": "string",
            "allowed": RATE_PLAN_PAYMENTS,
            "description": "prepay (charged when booking) or at_hotel (paid at the "
            "hotel, the card kept as a guarantee).",
            "example": "prepay",
        },
    },
}
CANCELLATION_POLICY = {
    "type": "dict",
    "description": "The policy when booked (the rate plan's, else the hotel's); refunds "
    "follow this snapshot.",
    "example": {"refundable": True, "free_until_hours": 48, "penalty_percent": 50},
    "schema": {
        "refundable": {
            "type": "boolean",
            "description": "false: nothing is refunded on cancellation "
            "(but a city tax, always refunded).",
            "example": True,
        },
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
RATE_PLAN_CODE = {
    "type": "string",
    "maxlength": 40,
    "description": "The room type's rate plan to book (its `rate_plans[].code`); its first "
    "plan when omitted ('standard' for a room type that declares none).",
    "example": "flexible",
}
ADULTS = {
    "type": "integer",
    "min": 1,
    "max": 20,
    "default": 1,
    "description": "Adults in the party.",
    "example": 2,
}
CHILDREN = {
    "type": "integer",
    "min": 0,
    "max": 20,
    "default": 0,
    "description": "Children in the party.",
    "example": 0,
}

# The only change a client may make to a booking (hooks/bookings.py refuses any other);
# the OpenAPI document's PATCH body for bookings says exactly this.
CLIENT_PATCH = {"status": "cancelled"}


def _top_level(field, description):
    """A room's party field at the booking's top level: the whole party, for one room."""
    field = {k: v for k, v in field.items() if k != "default"}
    return dict(field, description=description, excludes="rooms")


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
        # the admin dashboard: today's departures, and the newest bookings
        "check_out": index("check_out"),
        "created": index(("_created", -1)),
        # a manager's dashboard: the newest bookings of each of their hotels
        "hotel_created": index("hotel", "_created"),
        # reconcile recounts one night's live bookings of a room type through these
        "room_type_check_in": index("room_type", "check_in"),
        "rooms_room_type_check_in": index("rooms.room_type", "check_in"),
        "idempotency_key": index("idempotency_key", unique=True, sparse=True),
        # the worker's fee collection (payments/fees.py) finds the few still due
        "fee_status": index("fee.status", "fee.due_at", sparse=True),
    },
    "schema": {
        "room_type": ref(
            "room_types",
            "The room type to book (one room). A booking of several rooms sends `rooms` "
            "instead and stores its first room's type here.",
            required=True,
            excludes="rooms",
        ),
        "rate_plan": dict(RATE_PLAN_CODE, excludes="rooms"),
        "rooms": {
            "type": "list",
            "required": True,
            "excludes": "room_type",
            "minlength": 1,
            "maxlength": MAX_ROOMS,
            "description": "Several rooms of one hotel in one booking, each with its party "
            "and rate plan (instead of room_type, rate_plan, adults and children). Stored "
            "on every booking, with each room's prices and policy.",
            "example": [
                {"room_type": "6740f0c2a1b2c3d4e5f60718", "adults": 2},
                {"room_type": "6740f0c2a1b2c3d4e5f60719", "adults": 1, "children": 2},
            ],
            "schema": {
                "type": "dict",
                "schema": {
                    "room_type": ref("room_types", "The room's type.", required=True),
                    "rate_plan": RATE_PLAN_CODE,
                    "adults": ADULTS,
                    "children": CHILDREN,
                    "rate_plan_terms": server_owned(RATE_PLAN_TERMS),
                    "cancellation_policy": server_owned(CANCELLATION_POLICY),
                    "nightly_prices": server_owned(NIGHTLY_PRICES),
                    "price_breakdown": server_owned(PRICE_BREAKDOWN),
                    "total_price": server_owned(
                        money("The room's all-in total.", example="360.00")
                    ),
                },
            },
        },
        "check_in": day("Arrival date (the first night).", required=True),
        "check_out": day(
            "Departure date (the morning after the last night).",
            required=True,
            example="2026-12-04",
        ),
        # No defaults at the top level: Cerberus would add them to a body with `rooms`
        # and then refuse the pair; reservations.prepare fills them.
        "adults": _top_level(ADULTS, "Adults in the party (all rooms'; default 1)."),
        "children": _top_level(CHILDREN, "Children in the party (all rooms'; default 0)."),
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
            "confirmed -> cancelled | checked_in | no_show; checked_in -> checked_out. "
            "Clients may only PATCH it to cancelled; the hotel's managers check guests "
            "in and out and record no-shows (POST /bookings/<id>/check-in, /check-out, "
            "/no-show).",
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
            dict(NIGHTLY_PRICES, description="The price of each night (all rooms').")
        ),
        "rate_plan_terms": server_owned(RATE_PLAN_TERMS),
        "price_breakdown": server_owned(PRICE_BREAKDOWN),
        "total_price": server_owned(
            money(
                "The all-in total: the nightly prices with the hotel's taxes and fees "
                "(price_breakdown); what the guest is charged.",
                example="360.00",
            )
        ),
        "tax_terms": server_owned(
            dict(
                TAXES,
                description="The hotel's taxes and fees as they were when booked ({} for "
                "none): the breakdown, a change and a refund follow this copy.",
            )
        ),
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
        "cancellation_policy": server_owned(CANCELLATION_POLICY),
        "refund_amount": server_owned(money("Refunded on cancellation.", example="180.00")),
        "payment": server_owned(
            {
                "type": "string",
                "allowed": RATE_PLAN_PAYMENTS,
                "description": "How it is paid, by its rate plan: prepay (POST /payments "
                "charges the total) or at_hotel (POST /payments saves the card as a "
                "guarantee and charges nothing; the guest pays at the hotel).",
                "example": "prepay",
            }
        ),
        "guarantee": server_owned(
            {
                "type": "dict",
                "description": "The card saved for a pay-at-the-hotel booking (a Stripe "
                "SetupIntent for off-session use): what a late cancellation or a no-show "
                "is charged to.",
                "schema": {
                    "reference": {
                        "type": "string",
                        "description": "The provider's SetupIntent.",
                        "example": "seti_1PqRsT2eZvKYlo2C",
                    },
                    "customer": {
                        "type": "string",
                        "description": "The provider's customer the card is saved to.",
                        "example": "cus_Q1w2E3r4T5y6U7",
                    },
                    "payment_method": {
                        "type": "string",
                        "description": "The saved card.",
                        "example": "pm_1PqRsT2eZvKYlo2C",
                    },
                    "saved_at": {
                        "type": "datetime",
                        "description": "When the card was saved.",
                        "example": "2026-12-01T14:35:00Z",
                    },
                },
            }
        ),
        "fee": server_owned(
            {
                "type": "dict",
                "description": "What a late cancellation or a no-show of a pay-at-the-hotel "
                "booking costs under its policy, charged off-session to its guarantee.",
                "schema": {
                    "purpose": {
                        "type": "string",
                        "allowed": ["cancellation_fee", "no_show_fee"],
                        "description": "Why it is due.",
                        "example": "no_show_fee",
                    },
                    "amount": money("The fee.", example="150.00"),
                    "status": {
                        "type": "string",
                        "allowed": ["due", "charged", "failed"],
                        "description": "due until charged; failed: the card refused it, "
                        "and the booking keeps it as a debt the admin collects.",
                        "example": "charged",
                    },
                    "payment": {
                        "type": "objectid",
                        "description": "The payment that charged it (or tried to).",
                        "example": "665f1c2e8b3e4a0012345678",
                    },
                    "failure_reason": {
                        "type": "string",
                        "description": "Why the card refused it.",
                        "example": "card_declined",
                    },
                    "due_at": {
                        "type": "datetime",
                        "description": "When it became due.",
                        "example": "2026-12-02T09:00:00Z",
                    },
                },
            }
        ),
        "debt": server_owned(
            money(
                "What the guest still owes: a fee whose off-session charge failed. Shown "
                "in the admin until collected.",
                example="150.00",
            )
        ),
        "penalty_kept": server_owned(
            money(
                "The least a cancellation keeps: what cancelling kept when the stay was "
                "changed inside its penalty window (a change never dodges a penalty).",
                example="50.00",
            )
        ),
        "dispute": server_owned(
            {
                "type": "dict",
                "description": "A chargeback the guest's bank opened on a payment of this "
                "booking (Stripe charge.dispute.created): the admin answers it in the "
                "provider's dashboard.",
                "schema": {
                    "status": {
                        "type": "string",
                        "description": "The provider's dispute status.",
                        "example": "needs_response",
                    },
                    "reason": {
                        "type": "string",
                        "description": "Why the bank says the guest disputes it.",
                        "example": "fraudulent",
                    },
                    "amount": money("The disputed amount.", example="100.00"),
                    "payment": {
                        "type": "objectid",
                        "description": "The disputed payment.",
                        "example": "665f1c2e8b3e4a0012345678",
                    },
                    "opened_at": {
                        "type": "datetime",
                        "description": "When the dispute reached Innkeeper.",
                        "example": "2026-12-02T09:00:00Z",
                    },
                },
            }
        ),
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
        "last_change": server_owned(
            {
                "type": "dict",
                "description": "The money its last change moved (POST /bookings/<id>/change): "
                "what a dearer change charged, what a cheaper one refunded by its policy.",
                "schema": {
                    "charged": money("What the change charged.", example="45.00"),
                    "refunded": money("What the change refunded.", example="0.00"),
                },
            }
        ),
        "modified_at": server_owned(
            {
                "type": "datetime",
                "description": "When its stay or rooms last changed (POST /bookings/<id>/change).",
                "example": "2026-12-02T09:00:00Z",
            }
        ),
        "checked_in_at": server_owned(
            {
                "type": "datetime",
                "description": "When the front desk checked the guest in.",
                "example": "2026-12-02T15:20:00Z",
            }
        ),
        "checked_out_at": server_owned(
            {
                "type": "datetime",
                "description": "When the front desk checked the guest out.",
                "example": "2026-12-04T10:05:00Z",
            }
        ),
        "no_show_at": server_owned(
            {
                "type": "datetime",
                "description": "When the hotel recorded that the guest did not arrive.",
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
