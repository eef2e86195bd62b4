"""Hooks on hotels, room types and inventory: manager rights and consistent rows."""

from catalogue import rules
from plumbing.auth import answer_cache, current_user, db
from plumbing.values import Day
from reporting import changes
from search import cards


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


def copy_hotel_changes_to_inventory(updates, original):
    rules.propagate_hotel_fields(db(), original["_id"], updates)


def refuse_room_type_of_unmanaged_hotel(documents):
    for room_type in documents:
        rules.require_manager_of_hotel(db(), current_user(), room_type["hotel"])


def check_new_rate_plans(documents):
    for room_type in documents:
        rules.check_rate_plans(db(), room_type["hotel"], room_type.get("rate_plans"))


def check_changed_rate_plans(updates, original):
    if "rate_plans" in updates:
        rules.check_rate_plans(db(), original["hotel"], updates["rate_plans"])


def refuse_room_type_update_by_non_manager(updates, original):
    rules.refuse_room_type_change(db(), current_user(), original, updates)


def refuse_room_type_delete_by_non_manager(item):
    rules.refuse_room_type_change(db(), current_user(), item)


def delete_room_type_inventory(item):
    rules.delete_room_type_inventory(db(), item["_id"])


def fill_inventory_rows(documents):
    for row in documents:
        rules.prepare_inventory_row(db(), row, current_user())


def check_inventory_row_update(updates, original):
    rules.check_inventory_update(db(), original, updates, current_user())


def refuse_inventory_delete(item):
    rules.refuse_inventory_delete(db(), current_user(), item)


def catalogue_changed(hotel_id, *cities):
    """After a committed hotel or room type write: its cards, then its answers (the city
    it is in now and any it was in before)."""
    city = cards.refresh_hotel(db(), hotel_id)
    answer_cache().bump([*cities, *([city] if city else [])], catalogue=True)


def hotels_created(documents):
    for hotel in documents:
        catalogue_changed(hotel["_id"])


def hotel_changed(updates, original):
    catalogue_changed(original["_id"], original["address"]["city"])
    address = updates.get("address") or {}
    if {"city", "country"} & set(address) or "currency" in updates:
        # Its KPI rows carry where it is and its currency; the old city's rollup loses it.
        changes.record(db(), original["_id"], cities=[original["address"]["city"]])


def hotel_deleted(item):
    catalogue_changed(item["_id"], item["address"]["city"])
    changes.record(db(), item["_id"], cities=[item["address"]["city"]])


def room_types_created(documents):
    for hotel_id in {room_type["hotel"] for room_type in documents}:
        catalogue_changed(hotel_id)


def room_type_changed(updates, original):
    catalogue_changed(original["hotel"])


def room_type_deleted(item):
    cards.drop_room_type(db(), item["_id"])
    catalogue_changed(item["hotel"])
    changes.record(db(), item["hotel"])  # its inventory went with it


def _row_changed(row):
    """A committed inventory row write: its night's KPIs (rooms available) and answers."""
    night = Day.of(row["date"])
    changes.record(db(), row["hotel"], night, night.plus(1))


def inventory_rows_changed(documents):
    for row in documents:
        _row_changed(row)
    answer_cache().bump(row["city"] for row in documents)


def inventory_row_changed(updates, original):
    _row_changed(original)
    answer_cache().bump([original["city"]])


def inventory_row_deleted(item):
    _row_changed(item)
    answer_cache().bump([item["city"]])


def init_app(app):
    app.on_update_hotels += refuse_hotel_update_by_non_manager
    app.on_replace_hotels += refuse_hotel_replace_by_non_manager
    app.on_delete_item_hotels += refuse_hotel_delete
    app.on_update_room_types += refuse_room_type_update_by_non_manager
    app.on_replace_room_types += refuse_room_type_update_by_non_manager
    app.on_delete_item_room_types += refuse_room_type_delete_by_non_manager
    app.on_update_hotels += refuse_currency_change_with_prices
    app.on_updated_hotels += copy_hotel_changes_to_inventory
    app.on_insert_room_types += refuse_room_type_of_unmanaged_hotel
    app.on_insert_room_types += check_new_rate_plans
    app.on_update_room_types += check_changed_rate_plans
    app.on_replace_room_types += check_changed_rate_plans
    # Search cards and cached answers follow every committed catalogue write
    # (search/cards.py, search/answers.py).
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
    app.on_delete_item_room_types += delete_room_type_inventory
    app.on_insert_inventory += fill_inventory_rows
    app.on_update_inventory += check_inventory_row_update
    app.on_delete_item_inventory += refuse_inventory_delete
