"""Development only (absent in production): finish a 3-D Secure payment by hand.

POST /sandbox/payments/<id>/complete {"outcome": "succeeded" | "failed"} makes the sandbox
provider sign the webhook it would send and feeds it through the real webhook handler.
"""

from flask import Blueprint

from identity.authentication import authenticate_request
from payments import checkout
from plumbing.context import db
from plumbing.errors import Refusal
from plumbing.responses import json_body, respond
from routes.webhooks import handle, provider

bp = Blueprint("sandbox", __name__)


@bp.post("/sandbox/payments/<payment_id>/complete")
def complete(payment_id):
    user = authenticate_request()
    checkout.payment_of(db(), payment_id, user)
    outcome = json_body().get("outcome")
    if outcome not in ("succeeded", "failed"):
        raise Refusal(
            422, "outcome must be succeeded or failed", {"outcome": "succeeded or failed"}
        )
    raw_body, signature = provider().event_for(payment_id, outcome)
    result = handle(raw_body, signature)
    result["webhook"] = {"headers": {"Payment-Signature": signature}, "body": raw_body.decode()}
    return respond(result)
