"""POST /webhooks/payments: signed provider events, verified on the raw bytes, applied once.

With PAYMENT_PROVIDER=stripe this is the endpoint to register in Stripe's dashboard
(events payment_intent.succeeded, payment_intent.payment_failed, charge.refunded)."""

from flask import Blueprint, current_app, request

from payments import checkout
from plumbing import openapi
from plumbing.context import db
from plumbing.http import read_body
from plumbing.responses import respond

bp = Blueprint("webhooks", __name__)


def provider():
    return current_app.extensions["payment_provider"]


def handle(raw_body, signature):
    event = provider().parse_webhook(raw_body, signature)
    outcome = checkout.apply_event(db().client, db(), provider(), event)
    return {"_status": "OK", "event": event.id, "outcome": outcome}


@bp.post("/webhooks/payments")
def payment_event():
    # The signature covers the exact bytes sent: read them before any JSON parsing.
    # The header is the configured provider's (Payment-Signature, Stripe-Signature).
    return respond(handle(read_body(), request.headers.get(provider().signature_header)))


OPENAPI = {
    "/api/v1/webhooks/payments": {
        "post": {
            "tags": ["payments"],
            "summary": "Signed payment-provider events (no token)",
            "description": "The sandbox's events, signed in Payment-Signature, as below. "
            "With PAYMENT_PROVIDER=stripe: Stripe's event objects "
            "(payment_intent.succeeded, payment_intent.payment_failed, charge.refunded; "
            "other types are acknowledged and ignored), signed in Stripe-Signature.",
            "parameters": [
                openapi.header(
                    "Payment-Signature",
                    "t=<unix>,v1=<hex HMAC-SHA256(secret, '<t>.<raw body>')>",
                    required=True,
                )
            ],
            "requestBody": openapi.json_body(
                {
                    "type": "object",
                    "required": ["id", "type", "created", "data"],
                    "properties": {
                        "id": {"type": "string", "pattern": "^evt_"},
                        "type": {"enum": ["payment.succeeded", "payment.failed"]},
                        "created": {"type": "integer"},
                        "data": {
                            "type": "object",
                            "required": ["payment"],
                            "properties": {"payment": openapi.OBJECT_ID},
                        },
                    },
                }
            ),
            "responses": openapi.responses(200, 400, 413, 503, ok={"type": "object"}),
        }
    },
}
