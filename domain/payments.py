"""Payments: a charge of a booking's exact total, which confirms it when it succeeds."""

from domain.fields import currency, idempotency_key, index, money, ref, server_owned
from domain.vocabulary import PAYMENT_METHOD_PATTERN, PAYMENT_STATUSES

payments = {
    "item_title": "payment",
    "description": "A payment for one booking; the amount and currency come from the booking.",
    "resource_methods": ["GET", "POST"],
    "item_methods": ["GET"],
    "allowed_roles": ["guest", "manager", "admin"],
    "allowed_item_roles": ["guest", "manager", "admin"],
    "bulk_enabled": False,
    "allowed_filters": ["booking", "_created"],
    "mongo_indexes": {
        "booking": index("booking"),
        "guest": index("guest", "_created"),
        "hotel": index("hotel", "_created"),
        # A provider's refund event names its charge, not ours.
        "provider_reference": index("provider_reference"),
        "idempotency_key": index("idempotency_key", unique=True, sparse=True),
        "created": index(("_created", -1)),  # the admin dashboard's newest payments
    },
    "schema": {
        # Payments are scoped to the payer (and the hotel's managers), like their bookings.
        "booking": ref("bookings", "The booking to pay.", embeddable=True, required=True),
        "payment_method": {
            "type": "string",
            # A Stripe PaymentMethod id (Stripe.js createPaymentMethod, or a saved
            # card) or one of Stripe's test ids; which ones the configured provider
            # takes it says itself (payments/providers.py), and the OpenAPI document
            # with it: the sandbox lists its five, Stripe takes any.
            "regex": PAYMENT_METHOD_PATTERN,
            "maxlength": 255,
            "description": "The card to charge (or, for a pay-at-the-hotel booking, to "
            "save as its guarantee), a PaymentMethod id of the provider. Omit "
            "it to confirm in the browser instead: the answer (202) carries the "
            "PaymentIntent's client_secret for Stripe.js (confirmPayment / the Payment "
            "Element), and the provider's webhook confirms the booking.",
            "example": "pm_card_visa",
        },
        "guest": server_owned(ref("users", "Who paid.")),
        "idempotency_key": idempotency_key(),
        "hotel": server_owned(ref("hotels", "The booked hotel.")),
        "provider": server_owned(
            {"type": "string", "description": "Payment provider.", "example": "sandbox"}
        ),
        "provider_reference": server_owned(
            {
                "type": "string",
                "description": "The provider's id for the charge.",
                "example": "pi_sbx_0123456789abcdef01234567",
            }
        ),
        "provider_customer": server_owned(
            {
                "type": "string",
                "description": "The provider's customer a guarantee's card is saved to.",
                "example": "cus_Q1w2E3r4T5y6U7",
            }
        ),
        "amount": server_owned(
            money(
                "Charged amount: the booking's total (0.00 for a guarantee, which saves the "
                "card and charges nothing).",
                example="360.00",
            )
        ),
        "currency": server_owned(currency()),
        "status": server_owned(
            {
                "type": "string",
                "allowed": PAYMENT_STATUSES,
                "description": "Outcome of the charge.",
                "example": "succeeded",
            }
        ),
        "failure_reason": server_owned(
            {
                "type": "string",
                "description": "Why a failed payment failed (card_declined, insufficient_funds).",
                "example": "card_declined",
            }
        ),
        "refunded_amount": server_owned(money("Refunded so far.", example="0.00")),
        "purpose": server_owned(
            {
                "type": "string",
                "allowed": ["booking", "change", "guarantee", "cancellation_fee", "no_show_fee"],
                "description": "What it pays: the booking's total (booking, also when absent), "
                "the difference a change of a confirmed booking cost (change), a card saved "
                "for a pay-at-the-hotel booking (guarantee, amount 0), or what a late "
                "cancellation or a no-show of one costs (cancellation_fee, no_show_fee).",
                "example": "booking",
            }
        ),
    },
}
