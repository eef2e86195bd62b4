"""GET /webhook-endpoints/<id>/deliveries: what was sent to an endpoint, each attempt
with its answer code and latency, and when the next try is; POST .../<event id>/replay
sends one again (webhooks/delivery.py). For the hotel's managers and admins."""

import simplejson as json
from flask import Blueprint, request

from identity.authentication import require_role
from plumbing import bodies, openapi
from plumbing.context import db
from plumbing.errors import Refusal
from plumbing.responses import respond
from webhooks import delivery, endpoints

bp = Blueprint("webhook_deliveries", __name__)
STATUSES = ["pending", "sending", "delivered", "failed", "cancelled"]
QUERY = bodies.Query(
    {
        "status": {"schema": {"type": "string", "enum": STATUSES}},
        "page": {"schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 1}},
        "max_results": {
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}
        },
    }
)


def _endpoint(endpoint_id):
    """The caller's endpoint (a manager's hotels'), else 404 as if it did not exist."""
    found = endpoints.one(db(), endpoint_id, require_role("manager", "admin"))
    if found is None:
        raise Refusal(404, f"webhook endpoint {endpoint_id} not found")
    return found


def _parse(args):
    issues = {name: "unknown parameter" for name in args if name not in QUERY.parameters}
    values = {name: QUERY.integer(args, name, issues) for name in ("page", "max_results")}
    if args.get("status") is not None:
        values["status"] = QUERY.check("status", args["status"], issues)
    if issues:
        raise Refusal(400, "invalid query: " + ", ".join(sorted(issues)), issues)
    return values


def represent(found):
    waiting = found["status"] in delivery.WAITING
    return {
        "id": found["event_id"],
        "type": found["type"],
        "status": found["status"],
        "attempt_count": found.get("attempt_count", 0),
        "last_status_code": found.get("last_status_code"),
        "next_retry": found.get("next_at") if waiting else None,
        "created": found["created"],
        "delivered_at": found.get("delivered_at"),
        "attempts": found.get("attempts", []),
        "event": json.loads(found["payload"]),
    }


@bp.get("/webhook-endpoints/<endpoint_id>/deliveries")
def deliveries(endpoint_id):
    endpoint = _endpoint(endpoint_id)
    query = _parse(request.args)
    page, size = query["page"], query["max_results"]
    found = delivery.of_endpoint(
        db(), endpoint["_id"], query.get("status"), skip=(page - 1) * size, limit=size
    )
    base = f"webhook-endpoints/{endpoint['_id']}"
    return respond(
        {
            "_items": [represent(d) for d in found],
            "_meta": {"page": page, "max_results": size},
            "_links": {
                "self": {"title": "deliveries", "href": f"{base}/deliveries"},
                "parent": {"title": "webhook endpoint", "href": base},
            },
        }
    )


@bp.post("/webhook-endpoints/<endpoint_id>/deliveries/<event_id>/replay")
def replay(endpoint_id, event_id):
    endpoint = _endpoint(endpoint_id)
    outcome = delivery.replay(db(), endpoint["_id"], event_id)
    if outcome is None:
        raise Refusal(404, f"delivery {event_id} not found")
    replayed, status = outcome
    if not replayed:
        raise Refusal(409, f"delivery {event_id} is {status}: it will be sent already")
    note = "" if endpoint.get("enabled") else " once the endpoint is enabled again"
    return respond(
        {"_status": "OK", "delivery": event_id, "message": f"sent again{note}"}, status=202
    )


_ATTEMPT = {
    "type": "object",
    "properties": {
        "at": {"type": "string", "format": "date-time"},
        "status_code": {"type": ["integer", "null"]},
        "latency_ms": {"type": "number"},
        "error": {"type": ["string", "null"]},
    },
}
_DELIVERY = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "The webhook-id header: the same on retries."},
        "type": {"type": "string"},
        "status": {"type": "string", "enum": STATUSES},
        "attempt_count": {"type": "integer"},
        "last_status_code": {"type": ["integer", "null"]},
        "next_retry": {"type": ["string", "null"], "format": "date-time"},
        "created": {"type": "string", "format": "date-time"},
        "delivered_at": {"type": ["string", "null"], "format": "date-time"},
        "attempts": {"type": "array", "items": _ATTEMPT},
        "event": {"type": "object", "description": "The body sent: type, timestamp, data."},
    },
}
_EVENT_ID = openapi.parameter("event_id", "path", {"type": "string"}, required=True)

OPENAPI = {
    "/api/v1/webhook-endpoints/{id}/deliveries": {
        "get": {
            "tags": ["webhook_endpoints"],
            "summary": "An endpoint's deliveries, newest first, with every attempt",
            "security": openapi.BEARER,
            "parameters": [openapi.ID_PARAMETER, *QUERY.openapi_parameters()],
            "responses": openapi.responses(
                200,
                400,
                401,
                403,
                404,
                429,
                503,
                ok={
                    "type": "object",
                    "properties": {
                        "_items": {"type": "array", "items": _DELIVERY},
                        "_meta": {"type": "object"},
                        "_links": openapi.LINKS,
                    },
                },
            ),
        }
    },
    "/api/v1/webhook-endpoints/{id}/deliveries/{event_id}/replay": {
        "post": {
            "tags": ["webhook_endpoints"],
            "summary": "Send a delivered or failed delivery again (the same webhook-id)",
            "security": openapi.BEARER,
            "parameters": [openapi.ID_PARAMETER, _EVENT_ID],
            "responses": openapi.responses(202, 401, 403, 404, 409, 429, 503),
        }
    },
}
