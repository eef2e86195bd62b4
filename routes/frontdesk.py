"""POST /bookings/<id>/no-show: the hotel records that a confirmed booking's guest never
came (booking/stay.py); a pay-at-the-hotel booking is charged its no-show fee."""

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
bp.record_once(lambda state: ratelimit.guard_writes(state.app, "front_desk.no_show"))


@bp.post("/bookings/<booking_id>/no-show")
def no_show(booking_id):
    user = require_role("guest", "manager", "admin")
    booking = stay.front_desk_booking(db(), booking_id, user)
    etag = http.if_match("the booking")
    changes = stay.no_show(db().client, db(), booking, etag, utcnow())
    if changes.get("fee"):
        fees.charge(db(), current_app.extensions["payment_provider"], {**booking, **changes})
    document = getitem_internal("bookings", _id=booking["_id"])[0]
    return respond({**document, "_status": "OK"}, headers={"ETag": f'"{document["_etag"]}"'})


OPENAPI = {
    "/api/v1/bookings/{id}/no-show": {
        "post": {
            "tags": ["bookings"],
            "summary": "Record that a confirmed booking's guest did not arrive",
            "description": "For the hotel's managers and admins, from the arrival day on "
            "in the hotel's time zone (409 earlier, naming the day). The booking becomes "
            "no_show and keeps its nights and what was paid; a pay-at-the-hotel booking "
            "is charged the fee its policy keeps to the card it saved (its `fee` says "
            "charged, or failed with a `debt` the admin shows). A guest gets 403 for "
            "their own booking, 404 for anyone else's.",
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
    },
}
