"""POST /bookings/<id>/change: new dates, room type, plan, party or rooms, all or nothing."""

from bson import ObjectId
from eve.methods.common import serialize
from eve.methods.get import getitem_internal
from flask import Blueprint, current_app, request

import domain
from booking import modify
from identity.authentication import require_role
from payments import changes
from plumbing import http, idempotency, jsonschema, openapi, ratelimit
from plumbing.context import db
from plumbing.errors import Refusal
from plumbing.responses import json_body, respond
from plumbing.values import utcnow

bp = Blueprint("booking_changes", __name__)
# A change can charge a card and takes nights: it shares the booking and payment limit
# and answers 503 while Redis is down, like them (plumbing/ratelimit.py).
bp.record_once(lambda state: ratelimit.guard_writes(state.app, "booking_changes.change_booking"))


def validated(wanted):
    """The changed booking body through the bookings schema, as a POST would be: typed
    values, or a 422 naming each bad field."""
    settings = current_app.config["DOMAIN"]["bookings"]
    document = serialize(dict(wanted), resource="bookings")
    validator = current_app.validator(settings["schema"], resource="bookings")
    if not validator.validate(document):
        raise Refusal(
            422,
            "invalid change: " + ", ".join(sorted(validator.errors)),
            {field: str(reason) for field, reason in validator.errors.items()},
        )
    return validator.document


@bp.post("/bookings/<booking_id>/change")
def change_booking(booking_id):
    user = require_role("guest", "manager", "admin")
    body = json_body()
    etag = http.if_match("the booking")
    now = utcnow()
    # Like POST /bookings and /payments: a retry with the same key gets the first answer
    # (the change, and its charge, happen once); the same key with another body is a 422.
    lease = current_app.config["QUERY_TIMEOUT_MS"] / 1000 + idempotency.LEASE_MARGIN_SECONDS
    outcome, _found = idempotency.claim_request(
        db(), user["_id"], request, "payments", lease_seconds=lease
    )
    if outcome == "recover":  # its process died after charging and changing: as it is now
        document = getitem_internal("bookings", _id=ObjectId(booking_id))[0]
        return respond(
            {**document, "_status": "OK"},
            headers={"ETag": f'"{document["_etag"]}"', "Idempotent-Replayed": "true"},
        )
    original = modify.changeable(db(), booking_id, user, now)
    wanted = validated(modify.requested(original, body))
    payment_method = body.get("payment_method")
    if payment_method is not None and not isinstance(payment_method, str):
        raise Refusal(
            422, "payment_method must be a string", {"payment_method": "must be a string"}
        )
    provider = current_app.extensions["payment_provider"]
    money_of_change = changes.ChangeMoney(
        db(), provider, payment_method, idempotency.claimed_record()
    )
    fields, moved = modify.change(db().client, db(), money_of_change, original, wanted, etag, now)
    document = getitem_internal("bookings", _id=original["_id"])[0]
    document["_change"] = {
        "charged": moved["charged"],
        "refunded": moved["refunded"],
        **({"payment": moved["payment"]} if "payment" in moved else {}),
    }
    return respond({**document, "_status": "OK"}, headers={"ETag": f'"{document["_etag"]}"'})


def _room():
    """A room as a change names it: the bookings schema's room, less its server-owned
    fields (one schema for both, so the bounds cannot drift)."""
    room = jsonschema.field_schema(domain.build_domain()["bookings"]["schema"]["rooms"]["schema"])
    writable = {k: v for k, v in room["properties"].items() if not v.get("readOnly")}
    return {**room, "properties": writable}


ROOM = _room()

OPENAPI = {
    "/api/v1/bookings/{id}/change": {
        "post": {
            "tags": ["bookings"],
            "summary": "Change a pending or confirmed booking's stay or rooms, all or nothing",
            "description": "The old nights are released and the new ones taken in one "
            "transaction, or nothing changes (409 naming the night). A confirmed booking's "
            "dearer change charges the difference to payment_method (402 when declined, "
            "nothing changed); a cheaper one refunds the difference by its policy.",
            "security": openapi.BEARER,
            "parameters": [
                openapi.ID_PARAMETER,
                openapi.IF_MATCH,
                openapi.IDEMPOTENCY_KEY,
            ],
            "requestBody": openapi.json_body(
                {
                    "type": "object",
                    "minProperties": 1,
                    "properties": {
                        "check_in": {"type": "string", "format": "date"},
                        "check_out": {"type": "string", "format": "date"},
                        "room_type": openapi.OBJECT_ID,
                        "rate_plan": {"type": "string"},
                        "adults": {"type": "integer", "minimum": 1, "maximum": 20},
                        "children": {"type": "integer", "minimum": 0, "maximum": 20},
                        "rooms": {
                            "type": "array",
                            "description": "every room as it should be (a booking "
                            "of several rooms changes its rooms this way)",
                            "items": ROOM,
                        },
                        "payment_method": {
                            "type": "string",
                            "description": "charged the difference when a confirmed "
                            "booking's change costs more",
                        },
                    },
                    "additionalProperties": False,
                }
            ),
            "responses": openapi.responses(
                200,
                400,
                401,
                402,
                404,
                409,
                412,
                422,
                428,
                429,
                503,
                ok={"$ref": "#/components/schemas/BookingsDocument"},
            ),
        }
    },
}
