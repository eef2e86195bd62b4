"""The rules of `/webhook-endpoints`, for every writer that goes through Eve (the API and
the admin): admins for any hotel, managers for the hotels they manage; a URL the guard
accepts; a secret made by the server and shown once."""

import base64
import secrets

from bson import ObjectId

from catalogue import rules
from plumbing.errors import Refusal
from webhooks import delivery, guard

SECRET_BYTES = 24


def new_secret():
    """A Standard Webhooks secret: whsec_ and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def visible_to(db, user):
    """The lookup that scopes reads and writes: a manager's hotels; an admin everything.
    Another hotel's endpoint is a 404, as if it did not exist."""
    if user is None or user.get("role") == "admin":
        return {}
    return {"hotel": {"$in": rules.managed_hotel_ids(db, user)}}


def one(db, endpoint_id, user):
    """The endpoint `user` may see (without its secret), or None."""
    if not ObjectId.is_valid(endpoint_id):
        return None
    lookup = {"_id": ObjectId(endpoint_id), **visible_to(db, user)}
    return db.webhook_endpoints.find_one(lookup, {"secret": 0})


def check_url(url, settings):
    try:
        guard.check_on_write(url, settings)
    except guard.Refused as refused:
        raise Refusal(422, f"url {refused}", {"url": str(refused)}) from None


def prepare(db, endpoint, user, settings):
    """A new endpoint: its hotel managed by the caller, its URL accepted, its secret."""
    if user is not None:
        rules.require_manager_of_hotel(db, user, endpoint["hotel"])
    check_url(endpoint["url"], settings)
    endpoint["events"] = sorted(set(endpoint["events"]))
    endpoint["secret"] = new_secret()
    endpoint.setdefault("enabled", True)
    endpoint["disabled_reason"] = None


def check_change(db, original, updates, user, settings):
    """A PATCH: the hotel stays; a new URL is checked; enabling clears the reason."""
    if user is not None:
        rules.require_manager_of_hotel(db, user, original["hotel"])
    if "hotel" in updates and updates["hotel"] != original["hotel"]:
        raise Refusal(
            422,
            "an endpoint stays with its hotel: create one for the other hotel",
            {"hotel": "cannot change"},
        )
    if "url" in updates:
        check_url(updates["url"], settings)
    if "events" in updates:
        updates["events"] = sorted(set(updates["events"]))
    if updates.get("enabled") is True:
        updates["disabled_reason"] = None


def changed(db, original, updates):
    """Disabling an endpoint (or deleting it) stops what it still had to be sent."""
    if updates.get("enabled") is False and original.get("enabled", True):
        delivery.cancel_pending(db, original["_id"])


def removed(db, endpoint):
    delivery.cancel_pending(db, endpoint["_id"])
