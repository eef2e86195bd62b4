"""Paying for a booking: charge its exact total, confirm it once, refund by its policy.

A booking is confirmed only by a succeeded payment of its total in its currency, in the
same transaction that records the payment. Webhook events are recorded by id in the
transaction that applies them, so a repeated delivery changes nothing, and each payment
leaves requires_action through a guarded update, so two racing events apply once.
"""

from decimal import Decimal

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from booking.reservations import PENDING, revive
from plumbing import logs, transactions
from plumbing.context import answer_cache
from plumbing.errors import Refusal
from plumbing.values import money, quantize, stamp, to_decimal, utcnow
from reporting import changes


class _Unavailable(Exception):
    """Raised inside a transaction to roll back a failed re-acquisition."""


def _own(user):
    """A guest's filter on their own bookings and payments, which is also the shard-key
    prefix that sends the read to their shard; an admin reads anyone's."""
    return {} if user["role"] == "admin" else {"guest": user["_id"]}


def payable_booking(db, booking_id, user, now):
    """The caller's booking if it can be paid now; 404 for someone else's, 409 otherwise."""
    booking = db.bookings.find_one({"_id": booking_id, **_own(user)})
    if booking is None:
        raise Refusal(404, "no such booking", {"booking": "not one of your bookings"})
    if booking["status"] != PENDING:
        raise Refusal(
            409,
            f"this booking is {booking['status']}; only a pending_payment booking can be paid",
        )
    if booking["hold_expires_at"] <= now:
        raise Refusal(409, "this booking's hold has expired; book again")
    return booking


DECLINES = {
    "card_declined": "the card was declined",
    "generic_decline": "the card was declined",
    "do_not_honor": "the card was declined by its bank",
    "insufficient_funds": "the card has insufficient funds",
    "lost_card": "the card was reported lost",
    "stolen_card": "the card was reported stolen",
    "expired_card": "the card has expired",
    "incorrect_cvc": "the card's security code is incorrect",
    "incorrect_number": "the card number is incorrect",
    "processing_error": "the card could not be processed; try again",
    "authentication_required": "the bank requires authentication (3-D Secure)",
    "authentication_failed": "3-D Secure authentication failed",
    "card_velocity_exceeded": "the card has been used too often; try another",
}


def decline_message(reason):
    """A decline in plain words, with the provider's code: what a guest can act on."""
    words = DECLINES.get(reason, "the payment was declined")
    return f"{words} ({reason}); the booking is still held: pay with another card"


def provider_key(payment):
    """The idempotency key sent to the provider: from the client's Idempotency-Key when
    there is one (a retry after a lost answer reaches the same charge, never a second),
    else from the new payment's id."""
    return f"innkeeper-payment-{payment.get('idempotency_key') or payment['_id']}"


def prepare(db, provider, payment, user, now):
    """Fill a new payment from its booking and charge the provider; nothing is written.
    Returns the provider's Charge (its client_secret is for the response only)."""
    booking = payable_booking(db, payment["booking"], user, now)
    payment["_id"] = payment.get("_id") or ObjectId()
    metadata = {"booking": str(booking["_id"]), "payment": str(payment["_id"])}
    if booking.get("payment") == "at_hotel":
        # Paid at the hotel: the card is saved as the booking's guarantee, nothing taken.
        amount = Decimal(0)
        charge = provider.save_card(
            payment.get("payment_method"),
            provider_key(payment),
            {**metadata, "purpose": "guarantee"},
        )
        payment.update(purpose="guarantee")
        if charge.customer:
            payment["provider_customer"] = charge.customer
        if charge.payment_method:
            payment["payment_method"] = charge.payment_method
    else:
        amount = to_decimal(booking["total_price"])
        charge = provider.charge(
            amount,
            booking["currency"],
            payment.get("payment_method"),
            provider_key(payment),
            metadata=metadata,
        )
    payment.update(
        guest=booking["guest"],
        hotel=booking["hotel"],
        amount=money(amount, booking["currency"]),
        currency=booking["currency"],
        status=charge.status,
        provider=provider.name,
        provider_reference=charge.reference,
        refunded_amount=money(0, booking["currency"]),
    )
    if charge.failure_reason:
        payment["failure_reason"] = charge.failure_reason
    return charge


def settle(db, session, payments, provider, now):
    """Inside the payment insert's transaction: a succeeded payment confirms its booking.

    If the booking stopped being payable since it was checked (it expired, was
    cancelled or paid by a racing payment), the charge is refunded in full and the
    payment recorded as such; the booking is left alone.
    """
    for payment in payments:
        if payment["status"] != "succeeded":
            continue
        paid_by, confirm = confirmation(payment, now)
        confirmed = db.bookings.update_one(
            {
                "_id": payment["booking"],
                "guest": payment["guest"],
                "status": PENDING,
                "hold_expires_at": {"$gt": now},
                **paid_by,
            },
            {"$set": confirm},
            session=session,
        )
        if confirmed.matched_count == 0:
            refund_in_full(provider, payment, "booking_no_longer_payable")
        else:
            booking = db.bookings.find_one(
                {"_id": payment["booking"], "guest": payment["guest"]},
                {"hotel": 1, "city": 1, "check_in": 1, "check_out": 1},
                session=session,
            )
            changes.record_stay(db, booking, session=session)


def confirmation(payment, now):
    """(what the booking must still be for this payment to confirm it, what confirming
    sets): a charge confirms a prepaid booking of exactly its total; a saved card a
    pay-at-the-hotel booking, which keeps it as its guarantee."""
    confirm = {"status": "confirmed", "confirmed_at": now, **stamp(now)}
    if payment.get("purpose") == "guarantee":
        confirm["guarantee"] = {
            "reference": payment["provider_reference"],
            "customer": payment.get("provider_customer"),
            "payment_method": payment.get("payment_method"),
            "saved_at": now,
        }
        return {"payment": "at_hotel"}, confirm
    exact = {"total_price": payment["amount"], "currency": payment["currency"]}
    return {**exact, "payment": {"$ne": "at_hotel"}}, confirm


def refund_in_full(provider, payment, reason):
    if payment.get("purpose") == "guarantee":  # nothing was taken: the card is let go
        payment.update(status="failed", failure_reason=reason)
        logs.event("guarantee.released", payment=str(payment["_id"]), reason=reason)
        return
    provider.refund(
        payment["provider_reference"],
        to_decimal(payment["amount"]),
        payment["currency"],
        f"refund-{payment['_id']}",
    )
    payment.update(status="refunded", refunded_amount=payment["amount"], failure_reason=reason)
    logs.event(
        "payment.refunded",
        payment=str(payment["_id"]),
        booking=str(payment.get("booking")),
        amount=str(payment["amount"]),
        currency=payment["currency"],
        reason=reason,
    )


def outcome_status(payment):
    """HTTP status for a created payment, by the contract's table."""
    if payment.get("failure_reason") == "booking_no_longer_payable":
        return 409  # a guarantee saved too late: nothing was taken, nothing to give back
    return {
        "succeeded": 201,
        "failed": 402,
        "requires_action": 202,
        "refunded": 409,
    }.get(payment.get("status"), 201)


def hotels_of_payment(db, payment_id):
    """[the hotel a payment is for], or [] for an unknown payment."""
    payment = db.payments.find_one({"_id": ObjectId(payment_id)}, {"hotel": 1})
    return [payment["hotel"]] if payment else []


def apply_event(client, db, provider, event, now=None):
    """Apply a verified webhook event exactly once; returns what happened (and logs it)."""
    outcome = _apply_event(client, db, provider, event, now)
    fields = {"provider_event": event.id, "type": event.type, "outcome": outcome}
    if outcome.startswith("duplicate"):
        logs.event("webhook.duplicate", **fields)
        return outcome
    logs.event("webhook.applied", payment=event.payment_id, **fields)
    if outcome == "confirmed":  # possibly by taking back the nights of an expired hold
        answer_cache().bump_hotels(db, hotels_of_payment(db, event.payment_id))
        logs.event("payment.succeeded", payment=event.payment_id, via="webhook")
        logs.event("booking.confirmed", payment=event.payment_id, via="webhook")
    elif outcome.startswith("failed"):
        logs.event("payment.failed", payment=event.payment_id, reason=outcome, via="webhook")
    elif outcome.startswith("refunded"):
        logs.event("payment.refunded", payment=event.payment_id, reason=outcome, via="webhook")
    return outcome


def _apply_event(client, db, provider, event, now=None):
    now = now or utcnow()
    if event.type == "ignored":
        return _record_only(client, db, event, now, f"ignored: {event.data.get('type')}")
    if event.type == "refund.updated":
        return _apply_refund(client, db, event, now)
    if event.type == "dispute.created":
        return _apply_dispute(client, db, event, now)
    if not ObjectId.is_valid(event.payment_id):
        if event.data.get("reference"):  # the provider's, for a payment we never recorded
            return _refund_unrecorded(client, db, provider, event, now)
        raise Refusal(400, "data.payment is not a payment id")
    payment_id = ObjectId(event.payment_id)

    def record(session, outcome):
        return _record_event(db, session, event, payment_id, outcome, now)

    def unit(session):
        payment = db.payments.find_one({"_id": payment_id}, session=session)
        if payment is None:
            if event.type == "payment.succeeded" and "amount" in event.data:
                return "unrecorded"  # money taken for nothing we know (a card saved is not)
            return record(session, "unknown_payment")
        if payment["status"] != "requires_action":
            return record(session, f"ignored: payment already {payment['status']}")
        guard = {"_id": payment_id, "status": "requires_action"}
        if event.type == "payment.failed":
            reason = event.data.get("failure_reason") or "authentication_failed"
            db.payments.update_one(
                guard,
                {"$set": {"status": "failed", "failure_reason": str(reason)[:100], **stamp(now)}},
                session=session,
            )
            return record(session, "failed")
        if _mismatch(event, payment):
            db.payments.update_one(
                guard,
                {"$set": {"status": "failed", "failure_reason": "amount_mismatch", **stamp(now)}},
                session=session,
            )
            return record(session, "failed: amount or currency mismatch")
        if event.data.get("payment_method"):  # the card a browser saved (confirmSetup)
            payment["payment_method"] = event.data["payment_method"]
        booking = db.bookings.find_one({"_id": payment["booking"]}, session=session)
        if _confirm_late(db, session, booking, payment, now) != "confirmed":
            return "refund"  # recorded with the refund, in its own transaction
        settled = {"status": "succeeded", **stamp(now)}
        if payment.get("payment_method"):
            settled["payment_method"] = payment["payment_method"]
        db.payments.update_one(guard, {"$set": settled}, session=session)
        return record(session, "confirmed")

    try:
        outcome = transactions.run(client, unit)
    except DuplicateKeyError:
        return "duplicate event: already processed"
    except _Unavailable:
        outcome = "refund"
    if outcome == "refund":
        return _refund_unconfirmable(client, db, provider, event, payment_id, now)
    if outcome == "unrecorded":
        return _refund_unrecorded(client, db, provider, event, now)
    return outcome


def provision(db):
    """The provider events recorded against a payment, read by the admin's payment page."""
    db.webhook_events.create_index([("payment", 1), ("received_at", -1)], name="payment")


def events_of(db, payment_id, limit=50):
    """What the provider told of a payment (its webhooks), newest first."""
    found = db.webhook_events.find({"payment": payment_id}).sort("received_at", -1)
    return list(found.limit(limit))


def _record_event(db, session, event, payment_id, outcome, now):
    """The event's id recorded with what it did, inside the transaction that did it: a
    second delivery meets the duplicate key and changes nothing."""
    db.webhook_events.insert_one(
        {
            "_id": event.id,
            "type": event.type,
            "payment": payment_id,
            "outcome": outcome,
            "received_at": now,
        },
        session=session,
    )
    return outcome


def _record_only(client, db, event, now, outcome, payment=None):
    """Record an event that changes nothing else (once: its id is the key)."""

    def unit(session):
        return _record_event(db, session, event, payment, outcome, now)

    try:
        return transactions.run(client, unit)
    except DuplicateKeyError:
        return "duplicate event: already processed"


def _refund_unrecorded(client, db, provider, event, now):
    """Money taken for a payment Innkeeper never recorded (its request died between the
    charge and the insert, and no retry came): give it back, in full, once."""
    if db.webhook_events.find_one({"_id": event.id}, {"_id": 1}):
        return "duplicate event: already processed"
    provider.refund(
        event.data["reference"],
        Decimal(event.data["amount"]),
        event.data["currency"],
        f"refund-unrecorded-{event.data['reference']}",
    )
    return _record_only(client, db, event, now, "refunded: no payment recorded for this charge")


def _apply_refund(client, db, event, now):
    """A refund seen by the provider (ours, or one made in its dashboard): the payment's
    refunded amount and status follow it. Absolute, so a repeat changes nothing."""
    payment = db.payments.find_one({"provider_reference": event.data.get("reference")})
    if payment is None:
        return _record_only(client, db, event, now, "unknown_payment")
    refunded = Decimal(event.data["refunded"])
    total = to_decimal(payment["amount"])
    if event.data.get("currency") != payment["currency"] or not 0 <= refunded <= total:
        # No event may say more went back than was taken, or less than nothing.
        logs.LOG.warning(
            "refund event outside its charge", provider_event=event.id, refunded=str(refunded)
        )
        return _record_only(
            client,
            db,
            event,
            now,
            f"ignored: refunded {refunded} {event.data.get('currency')} is outside "
            f"0..{total} {payment['currency']}",
            payment["_id"],
        )
    # Events can arrive out of order: the refunded amount only grows.
    refunded = max(refunded, to_decimal(payment["refunded_amount"]))
    status = "refunded" if refunded >= total else "partially_refunded" if refunded else None

    def unit(session):
        _record_event(db, session, event, payment["_id"], f"refunded {refunded}", now)
        if status is not None:
            db.payments.update_one(
                {"_id": payment["_id"], "guest": payment["guest"]},
                {
                    "$set": {
                        "status": status,
                        "refunded_amount": money(refunded, payment["currency"]),
                        **stamp(now),
                    }
                },
                session=session,
            )
        return f"refunded {refunded} {payment['currency']}"

    try:
        return transactions.run(client, unit)
    except DuplicateKeyError:
        return "duplicate event: already processed"


def _apply_dispute(client, db, event, now):
    """A chargeback opened on one of our charges: the booking is flagged for the admin
    (and its hotel told, through the log and the change feed); the money is the
    provider's to settle. Once per event id."""
    payment = db.payments.find_one({"provider_reference": event.data.get("reference")})
    if payment is None:
        return _record_only(client, db, event, now, "unknown_payment")
    try:
        amount = min(max(Decimal(event.data["amount"]), Decimal(0)), to_decimal(payment["amount"]))
    except ArithmeticError:
        amount = to_decimal(payment["amount"])
    dispute = {
        "status": event.data["status"],
        "reason": event.data["reason"],
        "amount": money(amount, payment["currency"]),
        "payment": payment["_id"],
        "opened_at": now,
    }

    def unit(session):
        _record_event(db, session, event, payment["_id"], "disputed", now)
        db.bookings.update_one(
            {"_id": payment["booking"], "guest": payment["guest"]},
            {"$set": {"dispute": dispute, **stamp(now)}},
            session=session,
        )
        return "disputed"

    try:
        outcome = transactions.run(client, unit)
    except DuplicateKeyError:
        return "duplicate event: already processed"
    logs.event(
        "booking.disputed",
        booking=str(payment["booking"]),
        hotel=str(payment["hotel"]),
        payment=str(payment["_id"]),
        amount=str(dispute["amount"]),
        reason=dispute["reason"],
    )
    return outcome


def _mismatch(event, payment):
    amount, currency = event.data.get("amount"), event.data.get("currency")
    if currency is not None and currency != payment["currency"]:
        return True
    if amount is not None:
        try:
            return Decimal(str(amount)) != to_decimal(payment["amount"])
        except ArithmeticError:
            return True
    return False


def _confirm_late(db, session, booking, payment, now):
    """Confirm the paid booking: still held, or re-acquire its nights after expiry."""
    exact, confirm = confirmation(payment, now)
    if booking is None:
        return "refund"
    if booking["status"] == PENDING:
        # Its nights are still counted for it, even if the sweeper has not run yet.
        held = db.bookings.update_one(
            {"_id": booking["_id"], "status": PENDING, **exact}, {"$set": confirm}, session=session
        )
        if not held.matched_count:
            return "refund"
        changes.record_stay(db, booking, session=session)
        return "confirmed"
    if booking["status"] != "expired":
        return "refund"
    _rows, missing = revive(db, session, booking)
    if missing:
        raise _Unavailable
    revived = db.bookings.update_one(
        {"_id": booking["_id"], "status": "expired", **exact}, {"$set": confirm}, session=session
    )
    if revived.matched_count == 0:
        raise _Unavailable
    changes.record_stay(db, booking, session=session)
    return "confirmed"


def _refund_unconfirmable(client, db, provider, event, payment_id, now):
    payment = db.payments.find_one({"_id": payment_id})
    refund_in_full(provider, payment, "booking_no_longer_available")

    def unit(session):
        moved = db.payments.update_one(
            {"_id": payment_id, "status": "requires_action"},
            {
                "$set": {
                    "status": payment["status"],
                    "refunded_amount": payment["refunded_amount"],
                    "failure_reason": payment["failure_reason"],
                    **stamp(now),
                }
            },
            session=session,
        )
        db.webhook_events.insert_one(
            {
                "_id": event.id,
                "type": event.type,
                "payment": payment_id,
                "outcome": "refunded: nights no longer available"
                if moved.modified_count
                else "ignored: payment already settled",
                "received_at": now,
            },
            session=session,
        )
        return "refunded: nights no longer available"

    try:
        return transactions.run(client, unit)
    except DuplicateKeyError:
        return "duplicate event: already processed"


def refund_cancellation(db, provider, booking, refund_amount, now=None):
    """After a confirmed booking is cancelled: refund by its policy through the provider."""
    return refund_booking(db, provider, booking, refund_amount, f"cancel-{booking['_id']}", now)


def refund_booking(db, provider, booking, amount, key, now=None):
    """Refund `amount` of what the booking's guest paid (its payment, and the payments of
    changes that cost more), newest payment first, each up to what is left of it.
    Each payment's update is guarded by the refunded amount it was read with."""
    now = now or utcnow()
    paid = db.payments.find(
        {
            "guest": booking["guest"],
            "booking": booking["_id"],
            "status": {"$in": ["succeeded", "partially_refunded"]},
        },
        sort=[("_created", -1)],
    )
    left = quantize(amount, booking["currency"])
    for payment in list(paid):
        total, refunded = to_decimal(payment["amount"]), to_decimal(payment["refunded_amount"])
        part = min(left, total - refunded)
        if part <= 0:
            continue
        left -= part
        provider.refund(
            payment["provider_reference"], part, payment["currency"], f"{key}-{payment['_id']}"
        )
        refunded += part
        db.payments.update_one(
            {
                "_id": payment["_id"],
                "guest": payment["guest"],
                "refunded_amount": payment["refunded_amount"],
            },
            {
                "$set": {
                    "status": "refunded" if refunded == total else "partially_refunded",
                    "refunded_amount": money(refunded, payment["currency"]),
                    **stamp(now),
                }
            },
        )
        logs.event(
            "payment.refunded",
            payment=str(payment["_id"]),
            booking=str(booking["_id"]),
            amount=str(part),
            currency=payment["currency"],
        )


def outcome_status_of(db, payment_id, user):
    """The HTTP status a just-created payment answers with (see outcome_status)."""
    payment = db.payments.find_one({"_id": payment_id, **_own(user)}, {"status": 1})
    return outcome_status(payment) if payment is not None else None


def payment_of(db, payment_id, user):
    """The caller's payment (any, for an admin); someone else's is a 404."""
    payment = (
        db.payments.find_one({"_id": ObjectId(payment_id)})
        if ObjectId.is_valid(payment_id)
        else None
    )
    if payment is None or (user["role"] != "admin" and payment["guest"] != user["_id"]):
        raise Refusal(404, "no such payment")
    return payment
