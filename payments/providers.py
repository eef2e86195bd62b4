"""Payment providers: the small interface Innkeeper needs, and the sandbox.

A provider creates a charge for an amount with an idempotency key (a retried call returns
the first result), refunds an amount of a charge, saves a card for later off-session
charges (a pay-at-the-hotel booking's guarantee) and charges a saved card, and verifies
and parses a webhook into an Event the checkout applies exactly once. The interface
knows no provider: `payments.build(config)` picks the configured one, the sandbox here
(development, tests, staging) or Stripe (payments/stripe_provider.py).
"""

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal

from plumbing import jsonbody
from plumbing.errors import Refusal

SIGNATURE_TOLERANCE_SECONDS = 300
EVENT_TYPES = ("payment.succeeded", "payment.failed")


@dataclass(frozen=True)
class Charge:
    status: str  # succeeded | failed | requires_action
    reference: str
    failure_reason: str | None = None
    # requires_action: what the client app hands to the provider's SDK (Stripe.js
    # handleNextAction) to run 3-D Secure. Never stored: it goes back in the response.
    client_secret: str | None = None
    # A saved card (save_card): the provider's customer and card, for charge_saved.
    customer: str | None = None
    payment_method: str | None = None


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    payment_id: str
    created: int
    data: dict = field(default_factory=dict)


class PaymentProvider:
    """What a provider adapter implements."""

    name = "abstract"
    signature_header = "Payment-Signature"  # the webhook's signature header

    def charge(
        self,
        amount: Decimal,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        metadata: dict | None = None,
    ):
        raise NotImplementedError

    def refund(self, reference: str, amount: Decimal, currency: str, idempotency_key: str):
        raise NotImplementedError

    def save_card(self, payment_method: str | None, idempotency_key: str, metadata: dict):
        """Save a card for off-session charges, charging nothing: a Charge whose
        reference is the setup's and whose customer and payment_method charge_saved
        takes (requires_action: 3-D Secure, or the browser still to confirm)."""
        raise NotImplementedError

    def charge_saved(
        self, amount: Decimal, currency: str, guarantee: dict, idempotency_key: str, metadata
    ):
        """Charge a saved card with the guest absent (off-session); a Charge that has
        succeeded or failed (a bank asking for the absent guest is a failure)."""
        raise NotImplementedError

    def parse_webhook(self, raw_body: bytes, signature_header: str | None, now=None) -> Event:
        raise NotImplementedError

    def payment_method_schema(self):
        """What this provider takes as `payment_method`, for the OpenAPI document."""
        return {}


SANDBOX_OUTCOMES = {
    "pm_card_visa": Charge("succeeded", ""),
    "pm_card_mastercard": Charge("succeeded", ""),
    "pm_card_chargeDeclined": Charge("failed", "", "card_declined"),
    "pm_card_chargeDeclinedInsufficientFunds": Charge("failed", "", "insufficient_funds"),
    "pm_card_authenticationRequired": Charge("requires_action", ""),
    # Stripe's 4000 0000 0000 0341: saved fine, every later charge declined.
    "pm_card_chargeCustomerFail": Charge("failed", "", "card_declined"),
}


def sign(secret, raw_body, timestamp=None):
    """The Payment-Signature header value for a body: t=<unix>,v1=<hex HMAC-SHA256>."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(secret, raw_body, header, now=None):
    """Check Payment-Signature over the raw bytes before anything is parsed.

    Several v1 values may be present (the sender signs with old and new secrets while
    rotating); one valid value is enough. Comparisons are constant-time.
    """
    if not header:
        raise Refusal(400, "missing Payment-Signature header")
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise Refusal(400, "malformed Payment-Signature header: expected t=<unix>,v1=<hex>")
    now = time.time() if now is None else now
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        raise Refusal(
            400,
            f"Payment-Signature timestamp is more than {SIGNATURE_TOLERANCE_SECONDS} s "
            "from now; replayed or delayed events are refused",
        )
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise Refusal(400, "Payment-Signature does not match the body")


def parse_event(raw_body):
    body = jsonbody.parse(raw_body)
    if not isinstance(body, dict):
        raise Refusal(400, "the webhook body must be a JSON object")
    issues = {}
    if not isinstance(body.get("id"), str) or not body["id"].startswith("evt_"):
        issues["id"] = "required, an event id starting with evt_"
    if body.get("type") not in EVENT_TYPES:
        issues["type"] = "must be one of " + ", ".join(EVENT_TYPES)
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    if not isinstance(data.get("payment"), str):
        issues["data.payment"] = "required, the payment's _id"
    if not isinstance(body.get("created"), int):
        issues["created"] = "required, a unix timestamp"
    if issues:
        raise Refusal(400, "malformed webhook event: " + ", ".join(sorted(issues)), issues)
    return Event(body["id"], body["type"], data["payment"], body["created"], data)


class SandboxProvider(PaymentProvider):
    """A card processor's test mode: the payment method decides the outcome, always."""

    name = "sandbox"

    def __init__(self, webhook_secret):
        self.webhook_secret = webhook_secret

    def charge(self, amount, currency, payment_method, idempotency_key, metadata=None):
        # Deterministic per idempotency key: a retried charge returns the same reference.
        reference = "pi_sbx_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        if payment_method is None:
            # The browser confirms (POST /sandbox/payments/<id>/complete plays its part).
            return Charge("requires_action", reference, client_secret=f"{reference}_secret")
        outcome = SANDBOX_OUTCOMES.get(payment_method)
        if outcome is None:
            raise Refusal(
                422,
                f"the sandbox takes only its test payment methods, not {payment_method!r}",
                {"payment_method": "one of " + ", ".join(SANDBOX_OUTCOMES)},
            )
        return Charge(outcome.status, reference, outcome.failure_reason)

    def payment_method_schema(self):
        return {
            "enum": list(SANDBOX_OUTCOMES),
            "description": "The sandbox's test cards, each with a fixed outcome: "
            "pm_card_visa and pm_card_mastercard succeed, pm_card_chargeDeclined and "
            "pm_card_chargeDeclinedInsufficientFunds are declined (402), "
            "pm_card_authenticationRequired asks for 3-D Secure (202), "
            "pm_card_chargeCustomerFail is declined but saves as a pay-at-the-hotel "
            "guarantee whose later charges are declined. Omit it to confirm in the "
            "browser (202 with a client_secret).",
        }

    def refund(self, reference, amount, currency, idempotency_key):
        return "re_sbx_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]

    def save_card(self, payment_method, idempotency_key, metadata):
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        reference, customer = f"seti_sbx_{digest}", f"cus_sbx_{digest}"
        if payment_method is None:
            return Charge(
                "requires_action",
                reference,
                client_secret=f"{reference}_secret",
                customer=customer,
            )
        outcome = self.charge(Decimal(0), "EUR", payment_method, idempotency_key)
        if payment_method == "pm_card_chargeCustomerFail":
            outcome = Charge("succeeded", "")
        return Charge(
            outcome.status,
            reference,
            outcome.failure_reason,
            client_secret=f"{reference}_secret" if outcome.status == "requires_action" else None,
            customer=customer,
            payment_method=payment_method,
        )

    def charge_saved(self, amount, currency, guarantee, idempotency_key, metadata):
        charge = self.charge(amount, currency, guarantee["payment_method"], idempotency_key)
        if charge.status == "requires_action":  # nobody is there to authenticate
            return Charge("failed", charge.reference, "authentication_required")
        return charge

    def parse_webhook(self, raw_body, signature_header, now=None):
        verify_signature(self.webhook_secret, raw_body, signature_header, now)
        return parse_event(raw_body)

    def event_for(self, payment_id, outcome):
        """The signed webhook the sandbox would send when 3-D Secure completes."""
        body = json.dumps(
            {
                "id": "evt_sbx_" + secrets.token_hex(12),
                "type": f"payment.{outcome}",
                "created": int(time.time()),
                "data": {"payment": str(payment_id)},
            }
        ).encode()
        return body, sign(self.webhook_secret, body)
