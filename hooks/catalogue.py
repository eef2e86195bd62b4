"""Hooks on hotels, room types and inventory: manager rights and consistent rows."""

from catalogue import rules
from plumbing.auth import current_user, db
from search import cards


def refuse_hotel_change_by_non_manager(request_, lookup):
    body = request_.get_json(silent=True)
    rules.refuse_hotel_change(db(), current_user(), lookup.get("_id"), request_.method, body)


def refuse_currency_change_with_prices(updates, original):
    rules.refuse_currency_change(db(), original, updates)


def copy_hotel_changes_to_inventory(updates, original):
    rules.propagate_hotel_fields(db(), original["_id"], updates)


def refuse_room_type_of_unmanaged_hotel(documents):
    for room_type in documents:
        rules.require_manager_of_hotel(db(), current_user(), room_type["hotel"])


def refuse_room_type_change_by_non_manager(request_, lookup):
    body = request_.get_json(silent=True)
    rules.refuse_room_type_change(db(), current_user(), lookup.get("_id"), body)


def delete_room_type_inventory(item):
    rules.delete_room_type_inventory(db(), item["_id"])


def fill_inventory_rows(documents):
    for row in documents:
        rules.prepare_inventory_row(db(), row, current_user())


def check_inventory_row_update(updates, original):
    rules.check_inventory_update(db(), original, updates, current_user())


def refuse_inventory_delete(item):
    rules.refuse_inventory_delete(db(), current_user(), item)


def refresh_cards_of_hotels(documents):
    for hotel in documents:
        cards.refresh_hotel(db(), hotel["_id"])


def refresh_cards_of_hotel(updates, original):
    cards.refresh_hotel(db(), original["_id"])


def refresh_cards_of_deleted_hotel(item):
    cards.refresh_hotel(db(), item["_id"])


def refresh_cards_of_room_types(documents):
    for hotel_id in {room_type["hotel"] for room_type in documents}:
        cards.refresh_hotel(db(), hotel_id)


def refresh_card_of_room_type(updates, original):
    for hotel_id in {original["hotel"], updates.get("hotel", original["hotel"])}:
        cards.refresh_hotel(db(), hotel_id)


def drop_card_of_room_type(item):
    cards.drop_room_type(db(), item["_id"])


def init_app(app):
    app.on_pre_PATCH_hotels += refuse_hotel_change_by_non_manager
    app.on_pre_PUT_hotels += refuse_hotel_change_by_non_manager
    app.on_pre_DELETE_hotels += refuse_hotel_change_by_non_manager
    app.on_pre_PATCH_room_types += refuse_room_type_change_by_non_manager
    app.on_pre_PUT_room_types += refuse_room_type_change_by_non_manager
    app.on_pre_DELETE_room_types += refuse_room_type_change_by_non_manager
    app.on_update_hotels += refuse_currency_change_with_prices
    app.on_updated_hotels += copy_hotel_changes_to_inventory
    app.on_insert_room_types += refuse_room_type_of_unmanaged_hotel
    # Search cards follow every committed catalogue write (search/cards.py).
    app.on_inserted_hotels += refresh_cards_of_hotels
    app.on_updated_hotels += refresh_cards_of_hotel
    app.on_replaced_hotels += refresh_cards_of_hotel
    app.on_deleted_item_hotels += refresh_cards_of_deleted_hotel
    app.on_inserted_room_types += refresh_cards_of_room_types
    app.on_updated_room_types += refresh_card_of_room_type
    app.on_replaced_room_types += refresh_card_of_room_type
    app.on_deleted_item_room_types += drop_card_of_room_type
    app.on_delete_item_room_types += delete_room_type_inventory
    app.on_insert_inventory += fill_inventory_rows
    app.on_update_inventory += check_inventory_row_update
    app.on_delete_item_inventory += refuse_inventory_delete
