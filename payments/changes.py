"""The money of a booking change (booking/modify.py decides what changes and what it
costs; this side takes and gives back the difference through the provider)."""

import hashlib

from bson import ObjectId
from pymongo.errors import PyMongoError

from payments import checkout
from plumbing import logs
from plumbing.errors import Refusal
from plumbing.values import created, money, quantize


class ChangeMoney:
    """A change's charges and refunds, with the card the client sent and the record of
    its Idempotency-Key (None without one)."""

    def __init__(self, db, provider, payment_method, idempotency_key=None):
        self.db, self.provider = db, provider
        self.payment_method, self.idempotency_key = payment_method, idempotency_key

    def charge(self, booking, amount):
        return charge_difference(
            self.db, self.provider, booking, amount, self.payment_method, self.idempotency_key
        )

    def give_back(self, charge):
        give_back(self.db, self.provider, charge)

    def refund(self, booking, amount, key, now):
        checkout.refund_booking(self.db, self.provider, booking, amount, key, now)


def give_back(db, provider, charge):
    """The change failed after its difference was charged: refund it in full and keep
    the payment, refunded, so the ledger shows both movements."""
    checkout.refund_in_full(provider, charge, "booking_change_failed")
    try:
        db.payments.insert_one(charge)
    except PyMongoError:
        logs.LOG.error("refunded change charge not recorded", payment=str(charge["_id"]))


def charge_difference(db, provider, booking, amount, payment_method, idempotency_key=None):
    """Charge what a dearer change costs; 422 without a payment method, 402 when declined.
    Returns the payment document (not yet written).

    The provider's idempotency key is the client's Idempotency-Key when it sent one,
    else the booking's state with the card and the amount: a retry after a lost answer
    reaches the same charge, and a retry with another card after a decline is a new
    one (a key reused with other parameters is refused by Stripe)."""
    currency = booking["currency"]
    amount = quantize(amount, currency)
    if not payment_method:
        more = f"{money(amount, currency)} {currency}"
        raise Refusal(
            422,
            f"this change costs {more} more: send a payment_method",
            {"payment_method": f"required: the change costs {more} more"},
        )
    payment_id = ObjectId()
    attempt = hashlib.sha256(f"{payment_method}:{amount}".encode()).hexdigest()[:16]
    charge = provider.charge(
        amount,
        currency,
        payment_method,
        f"innkeeper-change-{idempotency_key}"
        if idempotency_key
        else f"innkeeper-change-{booking['_id']}-{booking['_etag']}-{attempt}",
        metadata={"booking": str(booking["_id"]), "payment": str(payment_id), "purpose": "change"},
    )
    payment = {
        "_id": payment_id,
        "booking": booking["_id"],
        "guest": booking["guest"],
        "hotel": booking["hotel"],
        "payment_method": payment_method,
        "purpose": "change",
        "amount": money(amount, currency),
        "currency": currency,
        "status": charge.status,
        "provider": provider.name,
        "provider_reference": charge.reference,
        "refunded_amount": money(0, currency),
        **({"idempotency_key": idempotency_key} if idempotency_key else {}),
        **created(),
    }
    if charge.status != "succeeded":
        if charge.status == "requires_action":
            reason = "authentication_required"
        else:
            reason = charge.failure_reason or "card_declined"
        raise Refusal(
            402,
            checkout.decline_message(reason).replace(
                "the booking is still held", "nothing changed"
            ),
            {"payment_method": reason},
        )
    return payment
