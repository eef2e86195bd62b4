"""Hooks on /bookings: who sees which, price and hold on create, cancel as the only change."""

from flask import current_app

from hooks.access import current_user, db
from services import reservations
from services.errors import Refusal
from services.representation import utcnow

CLIENT_PATCH = {"status": "cancelled"}


def managed_hotel_ids(user):
    return [h["_id"] for h in db().hotels.find({"managers": user["_id"]}, {"_id": 1})]


def scope_reads_to_caller(request, lookup):
    """Guests see their own bookings; managers also their hotels'; admins all. Others: 404."""
    user = current_user()
    if user["role"] == "admin":
        return
    if user["role"] == "manager":
        lookup["$or"] = [{"guest": user["_id"]}, {"hotel": {"$in": managed_hotel_ids(user)}}]
    else:
        lookup["guest"] = user["_id"]


def scope_changes_to_owner(request, lookup):
    """Only the guest who booked (or an admin) may cancel; managers read only."""
    user = current_user()
    if user["role"] != "admin":
        lookup["guest"] = user["_id"]


def refuse_server_fields_on_create(request):
    body = request.get_json(silent=True)
    if isinstance(body, dict) and "status" in body:
        raise Refusal(
            422,
            "status is set by the server: a new booking is pending_payment",
            {"status": "is set by the server and cannot be sent"},
        )


def refuse_changes_other_than_cancel(request, lookup):
    body = request.get_json(silent=True)
    if body != CLIENT_PATCH:
        others = sorted(set(body) - {"status"}) if isinstance(body, dict) else []
        issues = {field: "cannot be changed; cancel and book again" for field in others}
        if not isinstance(body, dict) or body.get("status") != "cancelled":
            issues["status"] = 'the only change a client may make is {"status": "cancelled"}'
        raise Refusal(422, 'a booking may only be PATCHed with {"status": "cancelled"}', issues)


def price_and_hold(documents):
    config = current_app.config
    now = utcnow()
    for booking in documents:
        reservations.prepare(db(), booking, current_user(), now, config["BOOKING_HOLD_MINUTES"])


def reserve_nights(session, documents):
    reservations.reserve_nights(db(), session, documents, utcnow())


def cancel_and_release(updates, original):
    updates.update(reservations.cancel(db().client, db(), original))
