"""Fees of pay-at-the-hotel bookings, charged to the card saved as their guarantee.

A booking under an `at_hotel` plan is confirmed by a saved card and pays nothing before
arrival. Cancelled late, or marked a no-show, it owes what its policy snapshot keeps
(booking/reservations.fee_due): the transition that cancels it or marks it records the
fee as `due` in the same transaction, and the fee is then charged off-session (`charge`), once:

- the provider's idempotency key is the booking's and the purpose's, so a retry (the
  worker's `collect_due`, after a crash or while the provider was unreachable) reaches
  the same charge, never a second;
- the booking's fee leaves `due` through a guarded update in the transaction that
  records the payment, so two collectors racing record it once;
- a declined charge (the card expired, the bank wants the absent guest) leaves the
  booking a `debt` of the fee, shown in the admin for the hotel to collect.
"""

from datetime import timedelta

from bson import ObjectId

from plumbing import logs, transactions
from plumbing.errors import Refusal
from plumbing.jobs import Job
from plumbing.values import created, money, stamp, to_decimal, utcnow

# The worker leaves a just-due fee to the request that made it due for this long.
COLLECT_AFTER = timedelta(seconds=60)


def charge(db, provider, booking, now=None):
    """Charge the booking's due fee to its guarantee; the fee as it now is, or None when
    there is nothing due or the provider could not be reached (it stays due: the worker
    tries again)."""
    now = now or utcnow()
    fee = booking.get("fee")
    if not fee or fee.get("status") != "due":
        return None
    currency, amount = booking["currency"], to_decimal(fee["amount"])
    payment_id = ObjectId()
    guarantee = booking.get("guarantee") or {}
    try:
        if not guarantee.get("payment_method"):
            outcome_status, reference, reason = "failed", "", "no_card_saved"
        else:
            outcome = provider.charge_saved(
                amount,
                currency,
                guarantee,
                f"innkeeper-{fee['purpose']}-{booking['_id']}",
                {
                    "booking": str(booking["_id"]),
                    "payment": str(payment_id),
                    "purpose": fee["purpose"],
                },
            )
            outcome_status, reference, reason = (
                outcome.status,
                outcome.reference,
                outcome.failure_reason,
            )
    except Refusal as refusal:  # 502/503: the provider failed or could not be reached
        logs.LOG.warning(
            "fee not charged yet", booking=str(booking["_id"]), reason=refusal.message
        )
        return None
    succeeded = outcome_status == "succeeded"
    payment = {
        "_id": payment_id,
        "booking": booking["_id"],
        "guest": booking["guest"],
        "hotel": booking["hotel"],
        "purpose": fee["purpose"],
        "payment_method": guarantee.get("payment_method"),
        "amount": fee["amount"],
        "currency": currency,
        "status": "succeeded" if succeeded else "failed",
        "provider": provider.name,
        "provider_reference": reference,
        "refunded_amount": money(0, currency),
        **({} if succeeded else {"failure_reason": reason or "card_declined"}),
        **created(now),
    }
    settled = {
        "fee.status": "charged" if succeeded else "failed",
        "fee.payment": payment_id,
        **stamp(now),
    }
    if not succeeded:
        settled.update({"fee.failure_reason": payment["failure_reason"], "debt": fee["amount"]})

    def unit(session):
        moved = db.bookings.update_one(
            {"_id": booking["_id"], "guest": booking["guest"], "fee.status": "due"},
            {"$set": settled},
            session=session,
        )
        if moved.matched_count:
            db.payments.insert_one(payment, session=session)
        return moved.matched_count

    if not transactions.run(db.client, unit):
        return None  # a racing collector recorded it
    logs.event(
        f"booking.{fee['purpose']}." + ("charged" if succeeded else "failed"),
        booking=str(booking["_id"]),
        hotel=str(booking["hotel"]),
        payment=str(payment_id),
        amount=str(fee["amount"]),
        currency=currency,
        reason=payment.get("failure_reason"),
    )
    return {**fee, "status": settled["fee.status"], "payment": payment_id}


def collect_due(db, provider, now=None, limit=100):
    """The worker's pass: charge every fee still due a while after it became due (its
    request died, or the provider was down); returns how many were settled."""
    now = now or utcnow()
    found = db.bookings.find(
        {"fee.status": "due", "fee.due_at": {"$lte": now - COLLECT_AFTER}}, limit=limit
    )
    return sum(charge(db, provider, booking, now) is not None for booking in list(found))


def _collect(context):
    collected = collect_due(context.db, context.services["payment_provider"])
    return f"fees: settled {collected} late-cancellation and no-show fees" if collected else None


JOBS = (Job("fee collection", every=30, run=_collect),)
