"""Webhook endpoints: a hotel's own system (its PMS, channel manager, accounting) told of
bookings, refunds and inventory changes, signed by the Standard Webhooks scheme."""

from domain.fields import index, ref, server_owned
from domain.vocabulary import WEBHOOK_EVENTS

webhook_endpoints = {
    "item_title": "webhook endpoint",
    "url": "webhook-endpoints",
    "description": "Where a hotel's systems are sent its events. The signing `secret` is "
    "in the answer to the POST that creates the endpoint, and never again.",
    "resource_methods": ["GET", "POST"],
    "item_methods": ["GET", "PATCH", "DELETE"],
    "allowed_roles": ["manager", "admin"],
    "allowed_item_roles": ["manager", "admin"],
    "bulk_enabled": False,
    "allowed_filters": ["hotel"],
    # The secret is kept to sign with, and shown once: in the POST's answer only
    # (hooks/webhooks.py adds it there).
    "datasource": {"projection": {"secret": 0}},
    "mongo_indexes": {"hotel": index("hotel")},
    "schema": {
        "hotel": ref("hotels", "The hotel whose events are sent.", required=True),
        "url": {
            "type": "string",
            "required": True,
            "maxlength": 2048,
            # Visible ASCII only: an international host name is written in punycode.
            "regex": "^https?://[!-~]+$",
            "description": "Where events are POSTed: https in production; an address that "
            "resolves to a loopback, private or link-local network is refused unless "
            "WEBHOOK_ALLOWED_NETWORKS allows it.",
            "example": "https://pms.example.com/innkeeper/events",
        },
        "events": {
            "type": "list",
            "required": True,
            "minlength": 1,
            "maxlength": len(WEBHOOK_EVENTS),
            "schema": {"type": "string", "allowed": WEBHOOK_EVENTS},
            "description": "The event types sent to this endpoint.",
            "example": ["booking.confirmed", "booking.cancelled"],
        },
        "description": {
            "type": "string",
            "maxlength": 200,
            "description": "What this endpoint is, for the hotel's staff.",
            "example": "Front-office PMS",
        },
        "enabled": {
            "type": "boolean",
            "default": True,
            "description": "False stops deliveries. An endpoint whose deliveries failed "
            "for three days is disabled by the server (see `disabled_reason`); PATCH it "
            "back to true once its receiver works.",
            "example": True,
        },
        "secret": server_owned(
            {
                "type": "string",
                "description": "The signing secret (whsec_ and base64), for the "
                "standardwebhooks libraries: in the creating POST's answer only.",
                "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            }
        ),
        "disabled_reason": server_owned(
            {
                "type": "string",
                "nullable": True,
                "description": "Why the server disabled this endpoint, if it did.",
                "example": "deliveries failed for 3 days (last: HTTP 500)",
            }
        ),
    },
}
