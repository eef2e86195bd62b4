"""The front desk: POST /bookings/<id>/check-in, /check-out and /no-show (booking/stay.py)
for the hotel's managers and admins; a no-show of a pay-at-the-hotel booking is charged
its fee."""

from eve.methods.get import getitem_internal
from flask import Blueprint, current_app

from booking import stay
from identity.authentication import require_role
from payments import fees
from plumbing import http, openapi, ratelimit
from plumbing.context import db
from plumbing.responses import respond
from plumbing.values import utcnow

bp = Blueprint("front_desk", __name__)
# It can charge a card: the booking and payment limit, and 503 while Redis is down.
bp.record_once(
    lambda state: ratelimit.guard_writes(
        state.app, "front_desk.no_show", "front_desk.check_in", "front_desk.check_out"
    )
)


def _answer(booking_id):
    document = getitem_internal("bookings", _id=booking_id)[0]
    return respond({**document, "_status": "OK"}, headers={"ETag": f'"{document["_etag"]}"'})


def _step(booking_id, write):
    """One front-desk step by the booking's hotel staff, with the etag they read; a
    no-show's fee is charged once it committed (fees.charge does nothing without one)."""
    user = require_role("guest", "manager", "admin")
    booking = stay.front_desk_booking(db(), booking_id, user)
    changes = write(db().client, db(), booking, http.if_match("the booking"), utcnow())
    fees.charge(db(), current_app.extensions["payment_provider"], {**booking, **changes})
    return _answer(booking["_id"])


@bp.post("/bookings/<booking_id>/check-in")
def check_in(booking_id):
    return _step(booking_id, stay.check_in)


@bp.post("/bookings/<booking_id>/check-out")
def check_out(booking_id):
    return _step(booking_id, stay.check_out)


@bp.post("/bookings/<booking_id>/no-show")
def no_show(booking_id):
    return _step(booking_id, stay.no_show)


def _operation(summary, description):
    return {
        "post": {
            "tags": ["bookings"],
            "summary": summary,
            "description": description + " For the hotel's managers and admins; a guest "
            "gets 403 for their own booking, 404 for anyone else's.",
            "security": openapi.BEARER,
            "parameters": [openapi.ID_PARAMETER, openapi.IF_MATCH],
            "responses": openapi.responses(
                200,
                401,
                403,
                404,
                409,
                412,
                428,
                429,
                503,
                ok={"$ref": "#/components/schemas/BookingsDocument"},
            ),
        }
    }


OPENAPI = {
    "/api/v1/bookings/{id}/check-in": _operation(
        "Check a confirmed booking's guest in",
        "From the arrival day on in the hotel's time zone (409 earlier, naming the day); "
        "the booking becomes checked_in.",
    ),
    "/api/v1/bookings/{id}/check-out": _operation(
        "Check a checked-in guest out",
        "The booking becomes checked_out (409 unless it is checked_in).",
    ),
    "/api/v1/bookings/{id}/no-show": _operation(
        "Record that a confirmed booking's guest did not arrive",
        "From the arrival day on in the hotel's time zone (409 earlier, naming the day). "
        "The booking becomes no_show and keeps its nights and what was paid; a "
        "pay-at-the-hotel booking is charged the fee its policy keeps to the card it saved "
        "(its `fee` says charged, or failed with a `debt` the admin shows).",
    ),
}
