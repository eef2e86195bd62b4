"""Hooks on hotels, room types and inventory: manager rights and consistent rows."""

from bson import ObjectId
from flask import abort

from hooks.access import current_user, db
from services import catalogue
from services.errors import Refusal


def _hotel(hotel_id):
    return (
        db().hotels.find_one({"_id": ObjectId(hotel_id)}) if ObjectId.is_valid(hotel_id) else None
    )


def refuse_hotel_change_by_non_manager(request_, lookup):
    """Managers may PATCH hotels they manage, never PUT/DELETE them or edit the manager list."""
    user = current_user()
    if user is None or user.get("role") == "admin":
        return
    if request_.method != "PATCH":
        abort(403, description="only an admin may replace or delete a hotel")
    hotel = _hotel(lookup.get("_id"))
    if hotel is not None and not catalogue.manages(user, hotel):
        abort(403, description="you may only change hotels whose managers list holds you")
    body = request_.get_json(silent=True) or {}
    if isinstance(body, dict) and "managers" in body:
        raise Refusal(
            403, "only an admin may change a hotel's managers", {"managers": "admin only"}
        )


def copy_hotel_changes_to_inventory(updates, original):
    catalogue.propagate_hotel_fields(db(), original["_id"], updates)


def refuse_currency_change_with_prices(updates, original):
    changed = "currency" in updates and updates["currency"] != original.get("currency", "EUR")
    if changed and db().inventory.find_one({"hotel": original["_id"]}, {"_id": 1}):
        raise Refusal(
            409,
            "the currency cannot change while the hotel has inventory priced in "
            f"{original.get('currency', 'EUR')}",
            {"currency": "hotel has priced inventory"},
        )


def refuse_room_type_of_unmanaged_hotel(documents):
    for room_type in documents:
        catalogue.require_manager(
            current_user(), db().hotels.find_one({"_id": room_type["hotel"]})
        )


def refuse_room_type_change_by_non_manager(request_, lookup):
    user = current_user()
    if user is None or not ObjectId.is_valid(lookup.get("_id")):
        return
    room_type = db().room_types.find_one({"_id": ObjectId(lookup["_id"])})
    if room_type is None:
        return
    catalogue.require_manager(user, db().hotels.find_one({"_id": room_type["hotel"]}))
    body = request_.get_json(silent=True) or {}
    if (
        isinstance(body, dict)
        and "hotel" in body
        and str(body["hotel"]) != str(room_type["hotel"])
    ):
        raise Refusal(422, "a room type cannot move to another hotel", {"hotel": "cannot change"})


def refuse_room_type_delete_with_inventory(item):
    if db().inventory.find_one({"room_type": item["_id"], "booked": {"$gt": 0}}, {"_id": 1}):
        raise Refusal(409, "this room type has booked nights; close its inventory instead")
    db().inventory.delete_many({"room_type": item["_id"]})


def fill_inventory_rows(documents):
    for row in documents:
        catalogue.prepare_inventory_row(db(), row, current_user())


def check_inventory_row_update(updates, original):
    catalogue.check_inventory_update(db(), original, updates, current_user())


def refuse_inventory_delete(item):
    room_type, hotel = catalogue.room_type_and_hotel(db(), item["room_type"])
    catalogue.require_manager(current_user(), hotel)
    if item.get("booked", 0) > 0:
        raise Refusal(409, "this night has booked rooms; close it instead of deleting it")
