"""Hooks on /payments: charge the booking's total, confirm it in the same transaction."""

import json

from bson import ObjectId
from flask import current_app

from hooks.access import current_user, db
from hooks.bookings import managed_hotel_ids
from services import checkout
from services.representation import utcnow


def provider():
    return current_app.extensions["payment_provider"]


def scope_reads_to_caller(request, lookup):
    """Guests see their own payments, managers their hotels', admins all; others 404."""
    user = current_user()
    if user["role"] == "manager":
        lookup["$or"] = [{"guest": user["_id"]}, {"hotel": {"$in": managed_hotel_ids(user)}}]
    elif user["role"] != "admin":
        lookup["guest"] = user["_id"]


def charge_booking_total(documents):
    for payment in documents:
        checkout.prepare(db(), provider(), payment, current_user(), utcnow())


def confirm_paid_bookings(session, documents):
    checkout.settle(db(), session, documents, provider(), utcnow())


def answer_with_outcome_status(request, payload):
    """201 succeeded, 402 declined, 202 requires_action, 409 paid too late (refunded)."""
    if payload.status_code != 201:
        return
    payment = db().payments.find_one({"_id": _created_id(payload)}, {"status": 1})
    if payment is not None:
        payload.status_code = checkout.outcome_status(payment)


def _created_id(payload):
    body = json.loads(payload.get_data(as_text=True))
    return ObjectId(body["_id"])


def refund_cancelled_booking(updates, original):
    if original.get("status") == "confirmed" and "refund_amount" in updates:
        refund = updates["refund_amount"].to_decimal()
        checkout.refund_cancellation(db(), provider(), original, refund)
