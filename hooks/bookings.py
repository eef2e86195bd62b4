"""Hooks on /bookings: who sees which, price and hold on create, cancel as the only change."""

from flask import current_app

import domain
from booking import reservations
from plumbing import ratelimit
from plumbing.context import current_user, db
from plumbing.errors import Refusal
from plumbing.values import utcnow

CLIENT_PATCH = domain.CLIENT_PATCHES["bookings"]


def scope_reads_to_caller(request, lookup):
    """Guests see their own bookings; managers also their hotels'; admins all. Others: 404."""
    lookup.update(reservations.visible_to(db(), current_user()) or {})


def scope_changes_to_owner(request, lookup):
    """The guest who booked cancels; so do the hotel's managers (a guest who calls the
    front desk) and admins. Anyone else: 404."""
    lookup.update(reservations.visible_to(db(), current_user()) or {})


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
    hold_minutes = current_app.config["BOOKING_HOLD_MINUTES"]
    now = utcnow()
    for booking in documents:
        reservations.prepare(db(), booking, current_user(), now, hold_minutes)


def reserve_nights(session, documents):
    reservations.reserve_nights(db(), session, documents, utcnow())


def cancel_and_release(updates, original):
    updates.update(reservations.cancel(db().client, db(), original))


def stays_changed(documents):
    reservations.created(db(), documents)


def stay_released(updates, original):
    reservations.released(db(), updates, original)


def init_app(app):
    ratelimit.guard_writes(app, "bookings|resource")
    app.on_pre_GET_bookings += scope_reads_to_caller
    app.on_pre_PATCH_bookings += scope_changes_to_owner
    app.on_pre_PATCH_bookings += refuse_changes_other_than_cancel
    app.on_pre_POST_bookings += refuse_server_fields_on_create
    app.on_insert_bookings += price_and_hold
    app.data.run_inside_insert("bookings", reserve_nights)
    app.on_update_bookings += cancel_and_release
    app.on_inserted_bookings += stays_changed
    app.on_updated_bookings += stay_released
