"""Hooks on /payments: charge the booking's total, confirm it in the same transaction."""

from bson import ObjectId
from flask import current_app, g

from booking import reservations
from payments import checkout, fees
from plumbing import logs, ratelimit
from plumbing.context import current_user, db
from plumbing.responses import json_of
from plumbing.values import utcnow


def provider():
    return current_app.extensions["payment_provider"]


def scope_reads_to_caller(request, lookup):
    """Guests see their own payments, managers their hotels', admins all; others 404."""
    lookup.update(reservations.visible_to(db(), current_user()) or {})


def charge_booking_total(documents):
    for payment in documents:
        charge = checkout.prepare(db(), provider(), payment, current_user(), utcnow())
        if charge.client_secret:  # for the response only, never stored
            g.setdefault("client_secrets", {})[str(payment["_id"])] = charge.client_secret


def confirm_paid_bookings(session, documents):
    checkout.settle(db(), session, documents, provider(), utcnow())


def answer_with_outcome_status(request, payload):
    """201 succeeded, 402 declined (with the reason in plain words), 202 requires_action
    (with what the client app needs to run 3-D Secure), 409 paid too late (refunded)."""
    if payload.status_code != 201:
        return
    body = json_of(payload)
    created = ObjectId(body["_id"])
    payload.status_code = checkout.outcome_status_of(db(), created, current_user()) or 201
    status = body.get("status")
    fields = {"payment": body["_id"], "booking": body.get("booking")}
    if status in ("succeeded", "failed", "requires_action"):  # refunds log themselves
        logs.event(
            f"payment.{status}",
            amount=body.get("amount"),
            currency=body.get("currency"),
            reason=body.get("failure_reason"),
            **fields,
        )
    if status == "succeeded" and payload.status_code == 201:
        logs.event("booking.confirmed", **fields)
    if body.get("status") == "failed":
        body["_error"] = {
            "code": 402,
            "message": checkout.decline_message(body.get("failure_reason")),
        }
    secret = g.get("client_secrets", {}).get(body["_id"])
    if secret and body.get("purpose") == "guarantee":
        body["next_action"] = {
            "type": "confirm_setup" if body.get("payment_method") is None else "use_stripe_sdk",
            "client_secret": secret,
            "description": "pass client_secret to Stripe.js confirmSetup with the Payment "
            "Element (handleNextAction for 3-D Secure); nothing is charged, and the "
            "booking is confirmed by the provider's webhook once the card is saved",
        }
    elif secret and body.get("payment_method") is None:
        body["next_action"] = {
            "type": "confirm_in_browser",
            "client_secret": secret,
            "description": "pass client_secret to Stripe.js confirmPayment with the "
            "Payment Element (or confirmCardPayment with a Card Element); the booking is "
            "confirmed by the provider's webhook when the payment succeeds",
        }
    elif secret:
        body["next_action"] = {
            "type": "use_stripe_sdk",
            "client_secret": secret,
            "description": "pass client_secret to Stripe.js handleNextAction; the "
            "booking is confirmed by Stripe's webhook when the guest succeeds",
        }


def refund_cancelled_booking(updates, original):
    """A cancelled prepaid booking is refunded by its policy; a pay-at-the-hotel one
    cancelled late is charged the fee its policy keeps (payments/fees.py)."""
    if original.get("status") == "confirmed" and "refund_amount" in updates:
        refund = updates["refund_amount"].to_decimal()
        checkout.refund_cancellation(db(), provider(), original, refund)
    if updates.get("fee"):
        fees.charge(db(), provider(), {**original, **updates})


def init_app(app):
    ratelimit.guard_writes(app, "payments|resource")
    app.on_pre_GET_payments += scope_reads_to_caller
    app.on_insert_payments += charge_booking_total
    app.data.run_inside_insert("payments", confirm_paid_bookings)
    app.on_post_POST_payments += answer_with_outcome_status
    app.on_updated_bookings += refund_cancelled_booking
