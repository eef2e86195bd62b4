"""Hooks on hotels, room types and inventory: manager rights and consistent rows."""

from catalogue import rules
from plumbing.context import current_user, db


# The rules sit on Eve's database events, not its request events: the admin writes
# through post_internal / patch_internal / deleteitem_internal, which fire these only.
def refuse_hotel_update_by_non_manager(updates, original):
    rules.refuse_hotel_change(current_user(), original, "PATCH", updates)


def refuse_hotel_replace_by_non_manager(document, original):
    rules.refuse_hotel_change(current_user(), original, "PUT", document)


def refuse_hotel_delete(item):
    rules.refuse_hotel_change(current_user(), item, "DELETE")
    rules.refuse_deleting_a_hotel_with_live_bookings(db(), item)


def refuse_currency_change_with_prices(updates, original):
    rules.refuse_currency_change(db(), original, updates)


def check_new_hotel_taxes(documents):
    for hotel in documents:
        rules.check_taxes(hotel)


def check_changed_hotel_taxes(changes, original):
    rules.check_taxes(original, changes)


def copy_hotel_fields(session, changes, original):
    rules.copy_hotel_fields(db(), original, changes, session)


def refuse_room_type_of_unmanaged_hotel(documents):
    for room_type in documents:
        rules.require_manager_of_hotel(db(), current_user(), room_type["hotel"])


def check_new_rate_plans(documents):
    for room_type in documents:
        rules.check_rate_plans(db(), room_type["hotel"], room_type.get("rate_plans"))
        rules.fill_room_type(db(), room_type)


def room_type_keeps_its_currency(document, original):
    """A PUT replaces the room type whole: its copy of the hotel's currency stays."""
    document["currency"] = rules.hotel_currency(db(), original["hotel"])


def check_changed_rate_plans(updates, original):
    if "rate_plans" in updates:
        rules.check_rate_plans(db(), original["hotel"], updates["rate_plans"])


def refuse_room_type_update_by_non_manager(updates, original):
    rules.refuse_room_type_change(db(), current_user(), original, updates)


def refuse_room_type_delete_by_non_manager(item):
    rules.refuse_room_type_change(db(), current_user(), item)


def delete_room_type_inventory(session, room_types):
    for room_type in room_types:
        rules.delete_room_type_inventory(db(), room_type, session)


def add_room_type_cards(session, room_types):
    rules.cards_for_new_room_types(db(), room_types, session)


def room_type_cards_follow(session, changes, original):
    rules.cards_follow_hotel(db(), original["hotel"], session)


def record_inventory_rows(session, rows):
    rules.record_inventory_rows(db(), rows, session)


def record_changed_inventory_row(session, changes, original):
    rules.record_inventory_rows(db(), [original], session)


def record_deleted_hotels(session, hotels):
    rules.record_deleted_hotels(db(), hotels, session)


def fill_inventory_rows(documents):
    for row in documents:
        rules.prepare_inventory_row(db(), row, current_user())


def check_inventory_row_update(updates, original):
    rules.check_inventory_update(db(), original, updates, current_user())


def refuse_inventory_delete(item):
    rules.refuse_inventory_delete(db(), current_user(), item)


# After the commit: the catalogue area refreshes the search cards and the cached answers.
def hotels_created(documents):
    for hotel in documents:
        rules.catalogue_changed(db(), hotel["_id"])


def hotel_changed(updates, original):
    rules.catalogue_changed(db(), original["_id"], original["address"]["city"])


def hotel_deleted(item):
    rules.catalogue_changed(db(), item["_id"], item["address"]["city"])


def room_types_created(documents):
    for hotel_id in {room_type["hotel"] for room_type in documents}:
        rules.catalogue_changed(db(), hotel_id)


def room_type_changed(updates, original):
    rules.catalogue_changed(db(), original["hotel"])


def room_type_deleted(item):
    rules.room_type_gone(db(), item)


def inventory_rows_changed(documents):
    rules.inventory_changed(db(), documents)


def inventory_row_changed(updates, original):
    rules.inventory_changed(db(), [original])


def inventory_row_deleted(item):
    rules.inventory_changed(db(), [item])


def exchange_rates_changed(*_args):
    """A rate converts every display_currency answer: none cached holds any more."""
    rules.exchange_rates_changed()


def init_app(app):
    app.on_update_hotels += refuse_hotel_update_by_non_manager
    app.on_replace_hotels += refuse_hotel_replace_by_non_manager
    app.on_delete_item_hotels += refuse_hotel_delete
    app.on_update_room_types += refuse_room_type_update_by_non_manager
    app.on_replace_room_types += refuse_room_type_update_by_non_manager
    app.on_delete_item_room_types += refuse_room_type_delete_by_non_manager
    app.on_update_hotels += refuse_currency_change_with_prices
    app.on_insert_hotels += check_new_hotel_taxes
    app.on_update_hotels += check_changed_hotel_taxes
    app.on_replace_hotels += check_changed_hotel_taxes
    # What must change with a catalogue write commits in its transaction (datalayer):
    # the hotel's copies in inventory and bookings, a room type's rows, KPI records.
    app.data.run_inside_change("hotels", copy_hotel_fields)
    app.data.run_inside_remove("hotels", record_deleted_hotels)
    app.data.run_inside_remove("room_types", delete_room_type_inventory)
    app.data.run_inside_insert("room_types", add_room_type_cards)
    app.data.run_inside_change("room_types", room_type_cards_follow)
    app.data.run_inside_insert("inventory", record_inventory_rows)
    app.data.run_inside_change("inventory", record_changed_inventory_row)
    app.data.run_inside_remove("inventory", record_inventory_rows)
    app.on_insert_room_types += refuse_room_type_of_unmanaged_hotel
    app.on_insert_room_types += check_new_rate_plans
    app.on_update_room_types += check_changed_rate_plans
    app.on_replace_room_types += check_changed_rate_plans
    app.on_replace_room_types += room_type_keeps_its_currency
    # Search cards and cached answers follow every committed catalogue write
    # (catalogue/cards.py, search/answers.py).
    app.on_inserted_hotels += hotels_created
    app.on_updated_hotels += hotel_changed
    app.on_replaced_hotels += hotel_changed
    app.on_deleted_item_hotels += hotel_deleted
    app.on_inserted_room_types += room_types_created
    app.on_updated_room_types += room_type_changed
    app.on_replaced_room_types += room_type_changed
    app.on_deleted_item_room_types += room_type_deleted
    app.on_inserted_inventory += inventory_rows_changed
    app.on_updated_inventory += inventory_row_changed
    app.on_deleted_item_inventory += inventory_row_deleted
    app.on_inserted_exchange_rates += exchange_rates_changed
    app.on_updated_exchange_rates += exchange_rates_changed
    app.on_replaced_exchange_rates += exchange_rates_changed
    app.on_deleted_item_exchange_rates += exchange_rates_changed
    app.on_insert_inventory += fill_inventory_rows
    app.on_update_inventory += check_inventory_row_update
    app.on_delete_item_inventory += refuse_inventory_delete
