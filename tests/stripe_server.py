"""A local HTTP server that speaks the part of Stripe's REST API the adapter uses.

Stripe's servers cannot be reached from these machines, so the official SDK is pointed
here (STRIPE_API_BASE). What it implements follows Stripe's API reference:

- `POST /v1/payment_intents` (form-encoded, `metadata[key]=value`, `payment_method_types[]`)
  with `confirm=true`: Stripe's test payment methods decide the outcome -
  `pm_card_visa` / `pm_card_mastercard` succeed, `pm_card_chargeDeclined` and
  `pm_card_chargeDeclinedInsufficientFunds` answer a 402 `card_error` carrying the
  intent, `pm_card_authenticationRequired` leaves it `requires_action` with a
  `client_secret` and `next_action`;
- `GET /v1/payment_intents/<id>`; `POST /v1/refunds` (`payment_intent`, `amount`),
  refusing more than is left;
- `Idempotency-Key`: the same key and parameters replay the first answer
  (`Idempotent-Replayed: true`), other parameters are a 400 `idempotency_error`;
- `Authorization: Bearer sk_test_...` required; error objects `{"error": {type, code,
  decline_code, message, ...}}` with `Request-Id` headers;
- fault injection for tests: `fail_next(n, status)` answers n requests with a 500, a
  429 or a dropped connection (`status=None`).

Test helpers sign events with Stripe's scheme (`Stripe-Signature: t=..,v1=HMAC-SHA256`)
for `complete_action` (3-D Secure done or failed) and `refunded_event`.
"""

import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

API_KEY = "sk_test_innkeeper_local"
DECLINES = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
}
SUCCEEDS = {"pm_card_visa", "pm_card_mastercard"}
NEEDS_ACTION = {"pm_card_authenticationRequired"}


def form_to_dict(pairs):
    """Stripe's form encoding (a[b]=c, a[]=d) back to nested dicts and lists."""
    result = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = result
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt = parts[i + 1] if not last else None
            if last:
                if part == "" or isinstance(node, list):
                    node.append(value)
                else:
                    node[part] = value
            else:
                container = [] if nxt == "" else {}
                if isinstance(node, list):
                    node.append(container)
                    node = container
                else:
                    node = node.setdefault(part, container)
    return result


def sign(secret, payload, timestamp=None):
    """Stripe's webhook signature header for a payload."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class FakeStripe:
    def __init__(self, webhook_secret):
        self.webhook_secret = webhook_secret
        self.intents, self.refunds, self.keys, self.requests = {}, {}, {}, []
        self.failures = []  # statuses (or None: drop) for the next requests
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(  # shutdown() waits up to one poll
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, count, status=500):
        with self.lock:
            self.failures.extend([status] * count)

    # -- the API -----------------------------------------------------------------------

    def create_intent(self, params):
        method = params.get("payment_method")
        amount, currency = int(params["amount"]), params["currency"]
        intent = {
            "id": "pi_" + secrets.token_hex(12),
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": currency,
            "metadata": params.get("metadata", {}),
            "payment_method": method,
            "payment_method_types": params.get("payment_method_types", ["card"]),
            "client_secret": None,
            "status": "requires_payment_method",
            "next_action": None,
            "last_payment_error": None,
            "latest_charge": None,
            "amount_refunded": 0,
            "livemode": False,
            "created": int(time.time()),
        }
        intent["client_secret"] = f"{intent['id']}_secret_{secrets.token_hex(8)}"
        self.intents[intent["id"]] = intent
        if method in SUCCEEDS:
            self._succeed(intent)
            return 200, intent
        if method in NEEDS_ACTION:
            intent["status"] = "requires_action"
            intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
            return 200, intent
        if method in DECLINES:
            code, decline, message = DECLINES[method]
            intent["last_payment_error"] = {
                "type": "card_error",
                "code": code,
                "decline_code": decline,
                "message": message,
            }
            error = {
                "type": "card_error",
                "code": code,
                "decline_code": decline,
                "message": message,
                "payment_intent": intent,
            }
            return 402, {"error": error}
        error = {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "param": "payment_method",
            "message": f"No such PaymentMethod: '{method}'",
        }
        return 400, {"error": error}

    def _succeed(self, intent):
        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            latest_charge="ch_" + secrets.token_hex(12),
            next_action=None,
        )

    def create_refund(self, params):
        intent = self.intents.get(params.get("payment_intent"))
        if intent is None or intent["status"] != "succeeded":
            error = {
                "type": "invalid_request_error",
                "code": "charge_not_refundable" if intent else "resource_missing",
                "message": "This PaymentIntent has no successful charge to refund.",
            }
            return 400, {"error": error}
        left = intent["amount"] - intent["amount_refunded"]
        amount = int(params.get("amount", left))
        if amount > left or amount <= 0:
            error = {
                "type": "invalid_request_error",
                "code": "amount_too_large",
                "message": f"Refund amount ({amount}) is greater than unrefunded amount ({left}).",
            }
            return 400, {"error": error}
        intent["amount_refunded"] += amount
        refund = {
            "id": "re_" + secrets.token_hex(12),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": intent["latest_charge"],
            "status": "succeeded",
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        return 200, refund

    def _route(self, method, path, params):
        if method == "POST" and path == "/v1/payment_intents":
            return self.create_intent(params)
        if method == "POST" and path == "/v1/refunds":
            return self.create_refund(params)
        if method == "GET" and path.startswith("/v1/payment_intents/"):
            intent = self.intents.get(path.rsplit("/", 1)[1])
            if intent:
                return 200, intent
        error = {"type": "invalid_request_error", "message": f"Unrecognized request URL ({path})"}
        return 404, {"error": error}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status, body, headers=()):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Request-Id", "req_" + secrets.token_hex(7))
                for key, value in headers:
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            def _serve(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                params = form_to_dict(parse_qsl(raw, keep_blank_values=True))
                key = self.headers.get("Idempotency-Key")
                with fake.lock:
                    fake.requests.append((method, self.path, params, key))
                    failure = fake.failures.pop(0) if fake.failures else False
                if failure is None:  # the connection drops without an answer
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if failure:
                    kind = "rate_limit_error" if failure == 429 else "api_error"
                    error = {"type": kind, "message": "Simulated failure."}
                    return self._answer(failure, {"error": error})
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    error = {"type": "invalid_request_error", "message": "Invalid API Key."}
                    return self._answer(401, {"error": error})
                with fake.lock:
                    if key and method == "POST":
                        stored = fake.keys.get(key)
                        if stored is not None:
                            if stored[0] != (self.path, params):
                                error = {
                                    "type": "idempotency_error",
                                    "message": "Keys for idempotent requests can only be used "
                                    "with the same parameters they were first used with.",
                                }
                                return self._answer(400, {"error": error})
                            return self._answer(*stored[1], [("Idempotent-Replayed", "true")])
                    status, body = fake._route(method, self.path.split("?")[0], params)
                    if key and method == "POST" and status < 500:
                        fake.keys[key] = (
                            (self.path, params),
                            (status, json.loads(json.dumps(body))),
                        )
                return self._answer(status, body)

            def do_POST(self):  # noqa: N802 - http.server's name
                self._serve("POST")

            def do_GET(self):  # noqa: N802
                self._serve("GET")

        return Handler

    # -- events ------------------------------------------------------------------------

    def event(self, kind, data_object):
        """(raw body, Stripe-Signature) of an event as Stripe would deliver it."""
        body = {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": "2025-10-29",
            "created": int(time.time()),
            "data": {"object": data_object},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }
        raw = json.dumps(body).encode()
        return raw, sign(self.webhook_secret, raw)

    def complete_action(self, intent_id, succeed=True):
        """The guest finished (or failed) 3-D Secure: the intent moves on, and this is the
        webhook Stripe sends about it."""
        with self.lock:
            intent = self.intents[intent_id]
            if succeed:
                self._succeed(intent)
            else:
                intent.update(
                    status="requires_payment_method",
                    next_action=None,
                    last_payment_error={
                        "type": "card_error",
                        "code": "payment_intent_authentication_failure",
                        "decline_code": "authentication_failed",
                        "message": "The provided PaymentMethod has failed authentication.",
                    },
                )
            snapshot = json.loads(json.dumps(intent))
        kind = "payment_intent.succeeded" if succeed else "payment_intent.payment_failed"
        return self.event(kind, snapshot)

    def refunded_event(self, intent_id, amount=None):
        """A refund made in Stripe's dashboard (amount in minor units; default the rest),
        and the charge.refunded event that follows."""
        with self.lock:
            intent = self.intents[intent_id]
            params = {"payment_intent": intent_id}
            if amount is not None:
                params["amount"] = str(amount)
            status, body = self.create_refund(params)
            assert status == 200, body
            charge = {
                "id": intent["latest_charge"],
                "object": "charge",
                "amount": intent["amount"],
                "amount_refunded": intent["amount_refunded"],
                "currency": intent["currency"],
                "payment_intent": intent_id,
                "refunded": intent["amount_refunded"] == intent["amount"],
                "metadata": {},
            }
        return self.event("charge.refunded", charge)
