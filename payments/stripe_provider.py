"""Stripe, through its official SDK, behind the PaymentProvider interface.

- charge: one PaymentIntent for the booking's total in the currency's minor units (EUR
  cents, JPY yen), confirmed at once with the client's payment method, the booking and
  payment ids in its metadata, the request's idempotency key passed to Stripe (a retry
  gets the first intent back, never a second charge);
- 3-D Secure: `requires_action` comes back with the intent's `client_secret` for the
  client app (Stripe.js `handleNextAction`); the webhook confirms the booking later;
- a decline is a failed charge with Stripe's decline code (the API answers 402 and says
  it in plain words: payments/checkout.decline_message);
- refunds: `Refund` objects for a part or the whole, idempotent by key;
- a pay-at-the-hotel booking's guarantee: a Customer and a SetupIntent for off-session
  use confirmed with the card (nothing charged), and later a fee as a PaymentIntent on
  the saved card with `off_session: true` (Stripe's "save a card, charge it later");
- webhooks: `stripe.Webhook.construct_event` on the raw body with Stripe's signature
  scheme and tolerance; `payment_intent.succeeded`, `payment_intent.payment_failed`,
  `charge.refunded` and `charge.dispute.created` become Events applied once (Stripe's
  event id is the dedup key); any other type is acknowledged and ignored;
- errors: the SDK retries what Stripe says is safe to retry (connection errors, 409,
  429 and 5xx, with the idempotency key, `max_network_retries`); what is left is a 503
  (Stripe unreachable or rate limiting) or a 502 (Stripe refused or failed), never a
  500, and nothing is written, so no booking is confirmed without money.
"""

import stripe

from payments.providers import SIGNATURE_TOLERANCE_SECONDS, Charge, Event, PaymentProvider
from plumbing import jsonbody
from plumbing.errors import Refusal
from plumbing.values import minor_text, to_minor

TIMEOUT_SECONDS = 5
NETWORK_RETRIES = 2
EVENT_TYPES = {
    "payment_intent.succeeded": "payment.succeeded",
    "payment_intent.payment_failed": "payment.failed",
    "charge.refunded": "refund.updated",
    "charge.dispute.created": "dispute.created",
    # A guarantee saved after 3-D Secure or in the browser (stripe.confirmSetup).
    "setup_intent.succeeded": "payment.succeeded",
    "setup_intent.setup_failed": "payment.failed",
}


class StripeProvider(PaymentProvider):
    name = "stripe"
    signature_header = "Stripe-Signature"

    def __init__(self, secret_key, webhook_secret, api_base=None, timeout=TIMEOUT_SECONDS):
        self.webhook_secret = webhook_secret
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=NETWORK_RETRIES,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def charge(self, amount, currency, payment_method, idempotency_key, metadata=None):
        params = {
            "amount": to_minor(amount, currency),
            "currency": currency.lower(),
            "payment_method_types": ["card"],
            "metadata": metadata or {},
        }
        if payment_method is not None:  # else Stripe.js confirms it with the client_secret
            params.update(payment_method=payment_method, confirm=True)
        intent = self._create_intent(params, idempotency_key, "the payment was not taken")
        if isinstance(intent, Charge):  # declined
            return intent
        if intent.status == "succeeded":
            return Charge("succeeded", intent.id)
        if payment_method is None or intent.status in (
            "requires_action",
            "requires_confirmation",
            "processing",
        ):
            # 3-D Secure, a bank still deciding, or the browser still to confirm
            # (no payment_method): the webhook settles it.
            return Charge("requires_action", intent.id, client_secret=intent.client_secret)
        return Charge("failed", intent.id, _decline_code(_plain(intent.last_payment_error)))

    def save_card(self, payment_method, idempotency_key, metadata):
        try:
            customer = self.client.v1.customers.create(
                params={"metadata": metadata},
                options={"idempotency_key": f"{idempotency_key}-customer"},
            )
            setup = self.client.v1.setup_intents.create(
                params={
                    "customer": customer.id,
                    "usage": "off_session",
                    "payment_method_types": ["card"],
                    "metadata": metadata,
                },
                options={"idempotency_key": f"{idempotency_key}-setup"},
            )
            if payment_method is None:  # Stripe.js confirmSetup with the client_secret
                return Charge(
                    "requires_action",
                    setup.id,
                    client_secret=setup.client_secret,
                    customer=customer.id,
                )
            setup = self.client.v1.setup_intents.confirm(
                setup.id,
                params={"payment_method": payment_method},
                options={"idempotency_key": f"{idempotency_key}-confirm"},
            )
        except stripe.CardError as error:
            details = (error.json_body or {}).get("error") or {}
            return Charge("failed", "", _decline_code(details), payment_method=payment_method)
        except stripe.StripeError as error:
            raise _unavailable(error, "the card was not saved") from None
        status = {"succeeded": "succeeded", "requires_action": "requires_action"}.get(
            setup.status, "failed"
        )
        return Charge(
            status,
            setup.id,
            None if status != "failed" else _decline_code(_plain(setup.last_setup_error)),
            client_secret=setup.client_secret,
            customer=customer.id,
            payment_method=payment_method,
        )

    def charge_saved(self, amount, currency, guarantee, idempotency_key, metadata):
        params = {
            "amount": to_minor(amount, currency),
            "currency": currency.lower(),
            "customer": guarantee["customer"],
            "payment_method": guarantee["payment_method"],
            "payment_method_types": ["card"],
            "off_session": True,
            "confirm": True,
            "metadata": metadata,
        }
        intent = self._create_intent(params, idempotency_key, "the fee was not charged")
        if isinstance(intent, Charge):  # declined
            return intent
        if intent.status == "succeeded":
            return Charge("succeeded", intent.id)
        # The bank wants the guest, who is not there: Stripe's authentication_required.
        reason = _decline_code(_plain(intent.last_payment_error))
        return Charge(
            "failed",
            intent.id,
            "authentication_required" if reason == "payment_failed" else reason,
        )

    def _create_intent(self, params, idempotency_key, consequence):
        """A PaymentIntent, or the failed Charge of a card Stripe declined; a 503/502
        Refusal when Stripe could not be reached or refused the request."""
        try:
            return self.client.v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.CardError as error:
            details = (error.json_body or {}).get("error") or {}
            intent = details.get("payment_intent") or {}
            return Charge("failed", intent.get("id", ""), _decline_code(details))
        except stripe.StripeError as error:
            raise _unavailable(error, consequence) from None

    def payment_method_schema(self):
        return {
            "description": "A Stripe PaymentMethod id: one Stripe.js created "
            "(createPaymentMethod with the Card or Payment Element), or one of Stripe's "
            "test ids (pm_card_visa, ...). Omit it to confirm in the browser: the answer "
            "(202) carries the PaymentIntent's client_secret for stripe.confirmPayment.",
        }

    def refund(self, reference, amount, currency, idempotency_key):
        try:
            refund = self.client.v1.refunds.create(
                params={"payment_intent": reference, "amount": to_minor(amount, currency)},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _unavailable(error, "the refund was not made") from None
        return refund.id

    def parse_webhook(self, raw_body, signature_header, now=None):  # noqa: ARG002 - Stripe's clock
        """`stripe.Webhook.construct_event` is the SDK's signature check followed by a bare
        json.loads; the check is the SDK's own, the parsing the API's guarded one (depth,
        size, duplicate keys), and the event's shape is checked before anything reads it:
        a signed but malformed body is a 400, never a 500."""
        if not signature_header:
            raise Refusal(400, "missing Stripe-Signature header")
        try:
            stripe.WebhookSignature.verify_header(
                raw_body.decode("utf-8", "replace"),
                signature_header,
                self.webhook_secret,
                SIGNATURE_TOLERANCE_SECONDS,
            )
        except stripe.SignatureVerificationError as error:
            raise Refusal(400, f"Stripe-Signature does not verify: {error.user_message}") from None
        event = jsonbody.parse(raw_body)
        found = event.get("data", {}).get("object") if isinstance(event, dict) else None
        if not (
            isinstance(found, dict)
            and isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str)
            and isinstance(event.get("created"), int)
        ):
            raise Refusal(400, "the webhook body is not a Stripe event (id, type, data.object)")
        kind = EVENT_TYPES.get(event["type"])
        if kind is None:
            return Event(event["id"], "ignored", "", event["created"], {"type": event["type"]})
        try:
            data, payment_id = _event_data(kind, found)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise Refusal(400, f"malformed {event['type']} event: {event['id']}") from None
        return Event(event["id"], kind, payment_id, event["created"], data)


def _event_data(kind, found):
    """(Event data, our payment id) from a PaymentIntent or Charge object."""
    if found.get("object") == "setup_intent":  # a guarantee: no money, a saved card
        data = {"reference": found["id"], "payment_method": str(found["payment_method"] or "")}
        if kind == "payment.failed":
            data["failure_reason"] = _decline_code(found.get("last_setup_error"))
        return data, str((found.get("metadata") or {}).get("payment", ""))
    currency = found["currency"].upper()
    if kind == "dispute.created":
        return {
            "reference": found["payment_intent"],
            "dispute": str(found["id"]),
            "amount": minor_text(int(found["amount"]), currency),
            "currency": currency,
            "reason": str(found.get("reason") or "general")[:60],
            "status": str(found.get("status") or "needs_response")[:60],
        }, ""
    if kind == "refund.updated":
        refunded = minor_text(int(found["amount_refunded"]), currency)
        return {
            "reference": found["payment_intent"],
            "refunded": refunded,
            "currency": currency,
        }, ""
    data = {
        "reference": found["id"],
        "amount": minor_text(int(found["amount"]), currency),
        "currency": currency,
    }
    if kind == "payment.failed":
        data["failure_reason"] = _decline_code(found.get("last_payment_error"))
    return data, str((found.get("metadata") or {}).get("payment", ""))


def _plain(stripe_object):
    """A StripeObject as plain dicts and lists (None stays None)."""
    return stripe_object.to_dict() if stripe_object is not None else None


def _decline_code(error):
    """Stripe's most specific reason (insufficient_funds, expired_card, ...); a generic
    decline is card_declined, as the sandbox says it."""
    if not error:
        return "payment_failed"
    decline = error.get("decline_code")
    if decline and decline != "generic_decline":
        return decline
    return error.get("code") or decline or "payment_failed"


def _unavailable(error, consequence):
    """503 when Stripe could not be reached or asked us to slow down (after the SDK's
    retries), 502 when it answered with a refusal or a failure of its own."""
    request_id = getattr(error, "request_id", None)
    reference = f" (Stripe request {request_id})" if request_id else ""
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return Refusal(
            503,
            f"the payment provider could not be reached{reference}; {consequence}. "
            "Try again in a moment with the same Idempotency-Key.",
        )
    return Refusal(
        502,
        f"the payment provider refused the request{reference}: "
        f"{error.user_message or type(error).__name__}; {consequence}.",
    )
