"""PUT /room-types/<id>/inventory: set every night of a date range at once; PATCH: change
only the fields sent (close or open nights, change only the price) on nights that exist."""

from bson import ObjectId
from flask import Blueprint

from catalogue import rules
from identity.authentication import require_role
from plumbing import openapi
from plumbing.context import db
from plumbing.errors import Refusal
from plumbing.responses import json_body, respond

bp = Blueprint("inventory_range", __name__)


@bp.put("/room-types/<room_type_id>/inventory")
def set_range(room_type_id):
    user = require_role("manager", "admin")
    if not ObjectId.is_valid(room_type_id):
        raise Refusal(404, "no such room type")
    values = rules.parse_range(json_body())
    result = rules.set_inventory_range(db().client, db(), ObjectId(room_type_id), values, user)
    return respond({"_status": "OK", **result})


@bp.patch("/room-types/<room_type_id>/inventory")
def change_range(room_type_id):
    user = require_role("manager", "admin")
    if not ObjectId.is_valid(room_type_id):
        raise Refusal(404, "no such room type")
    values = rules.parse_range(json_body(), partial=True)
    result = rules.set_inventory_range(db().client, db(), ObjectId(room_type_id), values, user)
    return respond({"_status": "OK", **result})


OPENAPI = {
    "/api/v1/room-types/{id}/inventory": {
        "put": {
            "tags": ["inventory"],
            "summary": "Set every night in [from, to) at once",
            "security": openapi.BEARER,
            "parameters": [openapi.ID_PARAMETER],
            "requestBody": openapi.json_body(
                {
                    "type": "object",
                    "required": ["from", "to", "allotment", "price"],
                    "properties": {
                        "from": {
                            "type": "string",
                            "format": "date",
                            "examples": ["2027-02-01"],
                        },
                        "to": {
                            "type": "string",
                            "format": "date",
                            "examples": ["2027-02-15"],
                        },
                        "allotment": {"type": "integer", "minimum": 0},
                        "price": openapi.MONEY,
                        "closed": {"type": "boolean"},
                        "min_stay": {"type": "integer", "minimum": 1, "maximum": 30},
                    },
                }
            ),
            "responses": openapi.responses(
                200,
                400,
                401,
                403,
                404,
                409,
                413,
                422,
                429,
                503,
                ok={
                    "type": "object",
                    "properties": {
                        "nights": {"type": "integer"},
                        "created": {"type": "integer"},
                        "updated": {"type": "integer"},
                    },
                },
            ),
        }
    },
}


_PUT = OPENAPI["/api/v1/room-types/{id}/inventory"]["put"]
_PARTIAL = {k: v for k, v in _PUT["requestBody"]["content"]["application/json"]["schema"].items()}
_PARTIAL = {**_PARTIAL, "required": ["from", "to"], "minProperties": 3}
OPENAPI["/api/v1/room-types/{id}/inventory"]["patch"] = {
    **_PUT,
    "summary": "Change only the fields sent on every existing night in [from, to)",
    "description": "Close or reopen nights, or change only their price, allotment or minimum "
    "stay: the fields not sent stay as they are. Every night must exist already (409 "
    "naming those that do not: PUT creates them).",
    "requestBody": openapi.json_body(_PARTIAL),
}
