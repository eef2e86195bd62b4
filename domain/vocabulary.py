"""Closed vocabularies the domain draws on: ISO codes, IANA zones, amenities, roles, states."""

from zoneinfo import available_timezones

import pycountry

COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries)
CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies)
TIMEZONES = frozenset(available_timezones())

HOTEL_AMENITIES = [
    "wifi",
    "parking",
    "pool",
    "spa",
    "gym",
    "restaurant",
    "bar",
    "room_service",
    "airport_shuttle",
    "pet_friendly",
    "wheelchair_accessible",
    "air_conditioning",
    "breakfast",
    "ev_charging",
    "beach_access",
    "family_rooms",
    "non_smoking",
    "24h_front_desk",
]

ROOM_AMENITIES = [
    "wifi",
    "air_conditioning",
    "tv",
    "minibar",
    "safe",
    "kettle",
    "coffee_machine",
    "bathtub",
    "balcony",
    "sea_view",
    "city_view",
    "kitchenette",
    "desk",
    "hairdryer",
    "soundproofing",
]

BED_TYPES = ["single", "double", "queen", "king", "twin", "sofa_bed", "bunk"]

ROLES = ["guest", "manager", "admin"]

HOTEL_STATUSES = ["active", "inactive"]

BOOKING_STATUSES = [
    "pending_payment",
    "confirmed",
    "checked_in",
    "checked_out",
    "no_show",
    "expired",
    "cancelled",
]
# Statuses whose nights stay taken (inventory `booked` counts them; reconcile recounts
# them), and those that sold them (the KPIs' rooms sold and revenue): a no-show's room
# was held for the guest and its booking keeps what was paid.
NIGHTS_TAKEN = ("pending_payment", "confirmed", "checked_in", "checked_out", "no_show")
SOLD = ("confirmed", "checked_in", "checked_out", "no_show")
# How a rate plan is paid. prepay: the total is charged when booking. at_hotel: the guest
# pays at the hotel; the card is saved as a guarantee (a Stripe SetupIntent) and only a
# late cancellation or a no-show is charged to it, what the booking's policy keeps.
RATE_PLAN_PAYMENTS = ["prepay", "at_hotel"]

PAYMENT_STATUSES = [
    "requires_action",
    "succeeded",
    "failed",
    "refunded",
    "partially_refunded",
]

# A provider's PaymentMethod id: Stripe's are pm_ and letters, digits and underscores
# (pm_1Q0PsI2eZvKYlo2C..., and the test ids such as pm_card_visa).
PAYMENT_METHOD_PATTERN = "^pm_[A-Za-z0-9_]{1,250}$"

# The sandbox's test cards, each with a fixed outcome (payments/providers.py).
PAYMENT_METHODS = [
    "pm_card_visa",
    "pm_card_mastercard",
    "pm_card_chargeDeclined",
    "pm_card_chargeDeclinedInsufficientFunds",
    "pm_card_authenticationRequired",
    "pm_card_chargeCustomerFail",
]

MAX_PLANS = 10
# What most hotels sell (the domain's example, the demo's plans, the benchmark's):
# the night's price, 15 % off without refunds, and breakfast per guest per night.
EXAMPLE_PLANS = (
    {"code": "flexible", "name": "Flexible"},
    {
        "code": "non-refundable",
        "name": "Non-refundable",
        "discount_percent": 15,
        "cancellation": {"refundable": False},
    },
    {
        "code": "breakfast",
        "name": "Breakfast included",
        "supplement_per_person": "18.00",
        "meal": "breakfast",
    },
)
MEALS = ("room_only", "breakfast", "half_board", "full_board")
# The most rooms one booking may hold, and the longest stay.
MAX_ROOMS = 8
MAX_NIGHTS = 30

# What a hotel's own systems can be told of (webhooks/): a booking's life, a refund, and
# a room type's nights (allotment, price, closed, rooms booked) changing.
WEBHOOK_EVENTS = [
    "booking.created",
    "booking.confirmed",
    "booking.modified",
    "booking.cancelled",
    "booking.expired",
    "booking.checked_in",
    "booking.checked_out",
    "booking.no_show",
    "payment.refunded",
    "inventory.changed",
]

# A hotel's taxes and fees (domain/hotels.py TAXES): the highest VAT rate any country
# charges on lodging is below 30 %; a hotel declares a handful of fees at most.
MAX_VAT_PERCENT = 30
MAX_FEES = 5
