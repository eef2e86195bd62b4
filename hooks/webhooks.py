"""Hooks on /webhook-endpoints: managers for their hotels, admins for all; the URL guard;
the secret made here and answered once (extra_response_fields)."""

from flask import current_app, g

from plumbing.context import current_user, db
from plumbing.responses import json_of
from webhooks import endpoints


def _settings():
    return current_app.extensions["webhooks"]


def scope_to_managed_hotels(request, lookup):
    lookup.update(endpoints.visible_to(db(), current_user()))


def prepare_new_endpoints(documents):
    for endpoint in documents:
        endpoints.prepare(db(), endpoint, current_user(), _settings())
        g.webhook_secret = endpoint["secret"]


def answer_with_the_secret(request, payload):
    """The one answer that shows the secret (the resource's projection hides it)."""
    body = json_of(payload) if payload.status_code == 201 else None
    if body is not None and g.get("webhook_secret"):
        body["secret"] = g.pop("webhook_secret")


def check_endpoint_change(updates, original):
    endpoints.check_change(db(), original, updates, current_user(), _settings())


def stop_disabled_endpoint(updates, original):
    endpoints.changed(db(), original, updates)


def stop_removed_endpoint(item):
    endpoints.removed(db(), item)


def init_app(app):
    # Another hotel's endpoint is a 404 to read, change or delete, as if it did not exist.
    app.on_pre_GET_webhook_endpoints += scope_to_managed_hotels
    app.on_pre_PATCH_webhook_endpoints += scope_to_managed_hotels
    app.on_pre_DELETE_webhook_endpoints += scope_to_managed_hotels
    app.on_insert_webhook_endpoints += prepare_new_endpoints
    app.on_post_POST_webhook_endpoints += answer_with_the_secret
    app.on_update_webhook_endpoints += check_endpoint_change
    app.on_updated_webhook_endpoints += stop_disabled_endpoint
    app.on_deleted_item_webhook_endpoints += stop_removed_endpoint
