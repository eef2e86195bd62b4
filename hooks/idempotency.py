"""Idempotency-Key on POST /bookings and /payments: replay, refuse a reuse, or run once."""

from flask import Response, abort, g

from plumbing import idempotency
from plumbing.auth import current_user, db

IDEMPOTENT_RESOURCES = {"bookings", "payments"}
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag", "Last-Modified")


def claim_or_replay(resource, request):
    key = request.headers.get("Idempotency-Key")
    if resource not in IDEMPOTENT_RESOURCES or key is None:
        return
    user = current_user()
    body = request.get_json(silent=True)
    request_hash = idempotency.fingerprint(request.method, request.path, body)
    stored = idempotency.claim(db(), user["_id"], key, request_hash)
    if stored is not None:
        headers = dict(stored["headers"], **{"Idempotent-Replayed": "true"})
        abort(Response(stored["body"], status=stored["status"], headers=headers))
    g.idempotency = (user["_id"], key)


def store_response(response):
    """after_request: whatever the outcome, the claimed key records it (or is freed on 5xx)."""
    claimed = g.pop("idempotency", None)
    if claimed is not None:
        headers = {k: response.headers[k] for k in REPLAYED_HEADERS if k in response.headers}
        idempotency.complete(
            db(), *claimed, response.status_code, response.get_data(as_text=True), headers
        )
    return response


def init_app(app):
    app.on_pre_POST += claim_or_replay
    app.after_request(store_response)
