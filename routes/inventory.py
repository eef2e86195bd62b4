"""PUT /room-types/<id>/inventory: set every night of a date range at once."""

from bson import ObjectId
from flask import Blueprint

from hooks.access import db, require_role
from routes.responses import json_body, respond
from services import catalogue
from services.errors import Refusal

bp = Blueprint("inventory_range", __name__)


@bp.put("/room-types/<room_type_id>/inventory")
def set_range(room_type_id):
    user = require_role("manager", "admin")
    if not ObjectId.is_valid(room_type_id):
        raise Refusal(404, "no such room type")
    values = catalogue.parse_range(json_body())
    result = catalogue.set_inventory_range(db().client, db(), ObjectId(room_type_id), values, user)
    return respond({"_status": "OK", **result})
