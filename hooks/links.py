"""Links that lead somewhere for the caller who receives them.

Eve links every reference (`related.guest` -> users/<id>, `related.managers`,
`related.booking`), whoever asks; most of those answer 403 or 404 to the caller. Here
each document's links are fitted to the caller before the answer leaves: a guest's own
`guest` link becomes `me`; a link the caller could not follow is left out; and a
booking carries the actions its owner can take now - `pay` and `cancel` while it is
pending payment, `cancel` once confirmed - with the method and body to send; its hotel's
managers see its `cancel` (they cancel for a guest who calls).
"""

from datetime import datetime

from booking import reservations
from catalogue.rules import managed_hotel_ids
from identity.authentication import optional_user
from plumbing.context import db
from plumbing.responses import json_of
from plumbing.values import utcnow

USERS_ONLY_FOR_ADMINS = ("guest", "managers")
PRIVATE = {"booking": ("reviews",)}  # a review's booking is its guest's business


def fit(resource, document, user, runs=frozenset()):
    """The document's _links, fitted to `user` (None: anonymous); `runs`, the hotel ids
    a manager runs (as strings)."""
    links = document.get("_links")
    if not isinstance(links, dict):
        return
    related = links.get("related") or {}
    admin = user is not None and user.get("role") == "admin"
    owner = user is not None and str(document.get("guest")) == str(user["_id"])
    for field in USERS_ONLY_FOR_ADMINS:
        if field in related and not admin:
            if field == "guest" and owner:
                related[field] = {"title": "me", "href": "me"}
            else:
                del related[field]
    for field, resources in PRIVATE.items():
        if field in related and resource in resources and not (admin or owner):
            del related[field]
    if resource == "bookings" and (owner or admin):
        links.update(actions(document))
    elif resource == "bookings" and str(document.get("hotel")) in runs:
        links.update({k: v for k, v in actions(document).items() if k == "cancel"})


TERMS_FIELDS = {"status", "total_price", "currency", "check_in", "cancellation_policy"}


def actions(booking):
    """What the booking's owner can do with it now."""
    href = f"bookings/{booking['_id']}"
    cancel = {
        "title": "cancel",
        "href": href,
        "method": "PATCH",
        "body": {"status": "cancelled"},
        "headers": {"If-Match": booking.get("_etag")},
    }
    change = {
        "title": "change",
        "href": f"{href}/change",
        "method": "POST",
        "body": {
            "check_in": "<YYYY-MM-DD>",
            "check_out": "<YYYY-MM-DD>",
            "payment_method": "<payment method id, charged when the change costs more>",
        },
        "headers": {"If-Match": booking.get("_etag")},
    }
    # Read answers carry the stored values; a write's answer (already JSON) or a
    # projection may lack them, and then the link goes without its terms.
    if set(booking) >= TERMS_FIELDS and isinstance(booking["check_in"], datetime):
        cancel["description"], cancel["costs"] = reservations.cancellation_terms(booking, utcnow())
    if booking.get("status") == "pending_payment":
        pay = {
            "title": "pay",
            "href": "payments",
            "method": "POST",
            "body": {"booking": str(booking["_id"]), "payment_method": "<payment method id>"},
        }
        return {"pay": pay, "change": change, "cancel": cancel}
    if booking.get("status") == "confirmed":
        return {"change": change, "cancel": cancel}
    return {}


def _runs(resource, user):
    if resource != "bookings" or user is None or user.get("role") != "manager":
        return frozenset()
    return frozenset(str(hotel) for hotel in managed_hotel_ids(db(), user))


def fetched_item(resource, document):
    user = optional_user()
    fit(resource, document, user, _runs(resource, user))


def fetched_resource(resource, response):
    user = optional_user()
    runs = _runs(resource, user)
    for document in response.get("_items") or ():
        fit(resource, document, user, runs)


def written(resource, request, payload):  # noqa: ARG001 - Eve's signature
    """POST and PATCH answers are built by Eve from the stored document: fit them too."""
    if payload.status_code >= 400:
        return
    body = json_of(payload)
    if body is not None and "_links" in body:
        user = optional_user()
        fit(resource, body, user, _runs(resource, user))


def init_app(app):
    app.on_fetched_item += fetched_item
    app.on_fetched_resource += fetched_resource
    app.on_post_POST += written
    app.on_post_PATCH += written
