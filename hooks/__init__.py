"""Every Eve event hook, registered in one place."""

from hooks import bookings, catalogue, http, idempotency, messages, payments, reviews, users


def register(app):
    app.before_request(http.guard_request)
    app.after_request(http.add_security_headers)
    http.with_database_deadline(app)

    app.on_pre_POST += messages.refuse_meta_fields
    app.on_pre_PATCH += messages.refuse_meta_fields
    app.on_pre_PUT += messages.refuse_meta_fields
    app.on_post_POST += messages.name_invalid_fields
    app.on_post_PATCH += messages.name_invalid_fields
    app.on_post_PUT += messages.name_invalid_fields

    app.on_pre_PATCH_hotels += catalogue.refuse_hotel_change_by_non_manager
    app.on_pre_PUT_hotels += catalogue.refuse_hotel_change_by_non_manager
    app.on_pre_DELETE_hotels += catalogue.refuse_hotel_change_by_non_manager
    app.on_update_hotels += catalogue.refuse_currency_change_with_prices
    app.on_updated_hotels += catalogue.copy_hotel_changes_to_inventory

    app.on_insert_room_types += catalogue.refuse_room_type_of_unmanaged_hotel
    app.on_pre_PATCH_room_types += catalogue.refuse_room_type_change_by_non_manager
    app.on_pre_PUT_room_types += catalogue.refuse_room_type_change_by_non_manager
    app.on_pre_DELETE_room_types += catalogue.refuse_room_type_change_by_non_manager
    app.on_delete_item_room_types += catalogue.refuse_room_type_delete_with_inventory

    app.on_insert_inventory += catalogue.fill_inventory_rows
    app.on_update_inventory += catalogue.check_inventory_row_update
    app.on_delete_item_inventory += catalogue.refuse_inventory_delete

    app.on_pre_POST += idempotency.claim_or_replay
    app.after_request(idempotency.store_response)

    app.on_pre_GET_bookings += bookings.scope_reads_to_caller
    app.on_pre_PATCH_bookings += bookings.scope_changes_to_owner
    app.on_pre_PATCH_bookings += bookings.refuse_changes_other_than_cancel
    app.on_pre_POST_bookings += bookings.refuse_server_fields_on_create
    app.on_insert_bookings += bookings.price_and_hold
    app.data.run_inside_insert("bookings", bookings.reserve_nights)
    app.on_update_bookings += bookings.cancel_and_release
    app.on_updated_bookings += payments.refund_cancelled_booking

    app.on_pre_GET_payments += payments.scope_reads_to_caller
    app.on_insert_payments += payments.charge_booking_total
    app.data.run_inside_insert("payments", payments.confirm_paid_bookings)
    app.on_post_POST_payments += payments.answer_with_outcome_status

    app.on_insert_reviews += reviews.refuse_review_unless_stayed
    app.data.run_inside_insert("reviews", reviews.add_to_hotel_rating)

    app.on_insert_users += users.hash_new_user_passwords
    app.on_update_users += users.hash_changed_password
