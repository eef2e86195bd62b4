"""Idempotency-Key on POST /bookings and /payments: replay, refuse a reuse, or run once."""

from eve.methods.get import getitem_internal
from flask import abort, current_app, g
from pymongo.errors import PyMongoError

from payments import checkout
from plumbing import idempotency
from plumbing.context import current_user, db
from plumbing.responses import respond

# The status a created document answers with, were it created now.
CREATED_STATUS = {"bookings": lambda document: 201, "payments": checkout.outcome_status}
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag", "Last-Modified")


def claim_or_replay(resource, request):
    if resource not in CREATED_STATUS:
        return
    lease = current_app.config["QUERY_TIMEOUT_MS"] / 1000 + idempotency.LEASE_MARGIN_SECONDS
    outcome, found = idempotency.claim_request(
        db(), current_user()["_id"], request, resource, lease_seconds=lease
    )
    if outcome == "recover":  # its process died after creating it: answer as it would have
        document = getitem_internal(resource, _id=found["_id"])[0]
        response = respond(
            {**document, "_status": "OK"},
            CREATED_STATUS[resource](found),
            {"ETag": f'"{found["_etag"]}"', "Idempotent-Replayed": "true"},
        )
        abort(store_response(response))


def tag_created_documents(resource, documents):
    """The created document carries its key's fingerprint, written in the same insert."""
    claimed = idempotency.claimed_record()
    if claimed is not None and resource in CREATED_STATUS:
        for document in documents:
            document["idempotency_key"] = claimed


def store_response(response):
    """after_request: whatever the outcome, the claimed key records it (or is freed on 5xx)."""
    claimed = g.pop("idempotency", None)
    if claimed is not None:
        headers = {k: response.headers[k] for k in REPLAYED_HEADERS if k in response.headers}
        try:
            idempotency.complete(
                db(), *claimed, response.status_code, response.get_data(as_text=True), headers
            )
        except PyMongoError:
            # The database went away after the work: the claim stays in flight, and a
            # retry after its lease finds what was created (plumbing/idempotency.py).
            current_app.logger.warning("idempotency key not recorded", exc_info=True)
    return response


def init_app(app):
    app.on_pre_POST += claim_or_replay
    app.on_insert += tag_created_documents
    app.after_request(store_response)
