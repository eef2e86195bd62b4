"""localstripe (PyPI: a stateful fake Stripe server no one here wrote), run on a free port,
with a real HTTP receiver for the webhooks it signs and sends.

What the tests do with it is what a client application and Stripe.js do: create a
PaymentMethod from card details, confirm a PaymentIntent by its client_secret (localstripe's
`_authenticate`, which its own Stripe.js stand-in calls for 3-D Secure), save a card with a
SetupIntent. What it lacks (decline codes beyond card_declined, idempotency replay,
charge.refunded events) stays with tests/stripe_server.py.
"""

import json
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import stripe

from plumbing.embedded import free_port, port_open

# localstripe pickles its whole store to /tmp/localstripe.pickle after every write; two
# test workers would write the same file. The store stays in memory here (nothing else
# of localstripe is changed).
_MAIN = (
    "import localstripe.resources as r\n"
    "r.Store.dump_to_disk = lambda self: None\n"
    "from localstripe import server\n"
    "server.start()\n"
)

CARDS = {
    "visa": "4242424242424242",
    "three_d_secure": "4000002760003184",
    "declined": "4000000000000341",  # attaches, then declines when charged
    "refused": "4000000000000002",  # declined at once, even to be saved
}


class Deliveries:
    """The webhook receiver: every POST's raw body and Stripe-Signature, kept in order."""

    def __init__(self):
        self.received = []
        self.arrived = threading.Condition()
        deliveries = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with deliveries.arrived:
                    deliveries.received.append((raw, self.headers.get("Stripe-Signature")))
                    deliveries.arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks"

    def wait_for(self, event_type, object_id, timeout=10):
        """The (raw body, signature) of the event of this type about this object."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for raw, signature in self.received:
                    event = json.loads(raw)
                    if event["type"] == event_type and event["data"]["object"]["id"] == object_id:
                        return raw, signature
                left = deadline - time.monotonic()
                assert left > 0, f"localstripe sent no {event_type} for {object_id}"
                self.arrived.wait(left)


class LocalStripe:
    def __init__(self, webhook_secret):
        self.webhook_secret = webhook_secret
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.deliveries = Deliveries()
        self.client = None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, "-c", _MAIN, "--port", str(self.port), "--from-scratch"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._configure()
        except BaseException:
            self.stop()  # no localstripe left running after a failed start
            raise
        return self

    def _configure(self):
        deadline = time.monotonic() + 30
        while not port_open(self.port):
            assert self.process.poll() is None, "localstripe exited at start"
            assert time.monotonic() < deadline, "localstripe did not start"
            time.sleep(0.05)
        self.client = stripe.StripeClient(
            "sk_test_localstripe", base_addresses={"api": self.url}, max_network_retries=0
        )
        # localstripe's own webhook configuration: where it sends, signed with what.
        body = urllib.parse.urlencode({"url": self.deliveries.url, "secret": self.webhook_secret})
        urllib.request.urlopen(f"{self.url}/_config/webhooks/innkeeper", body.encode(), 10)

    def stop(self):
        self.deliveries.server.shutdown()
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)

    # -- what Stripe.js does in the guest's browser -----------------------------------

    def payment_method(self, card="visa"):
        """A PaymentMethod from card details (Stripe.js createPaymentMethod)."""
        return self.client.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {
                    "number": CARDS[card],
                    "exp_month": "12",
                    "exp_year": "2031",
                    "cvc": "123",
                },
            }
        ).id

    def authenticate(self, intent_id, client_secret, success=True):
        """The guest passes (or fails) 3-D Secure: localstripe's Stripe.js calls this."""
        return self.client.raw_request(
            "post",
            f"/v1/payment_intents/{intent_id}/_authenticate",
            client_secret=client_secret,
            success="true" if success else "false",
        )

    def confirm_in_browser(self, intent_id, card="visa"):
        """stripe.confirmPayment with a client_secret: the card is attached, then the
        intent confirmed."""
        method = self.payment_method(card)
        self.client.v1.payment_intents.update(intent_id, params={"payment_method": method})
        return self.client.v1.payment_intents.confirm(intent_id)

    def intent(self, intent_id):
        return self.client.v1.payment_intents.retrieve(intent_id)

    def setup_intent(self, setup_id):
        return self.client.v1.setup_intents.retrieve(setup_id)

    def refunds(self, intent_id):
        return self.client.v1.refunds.list(params={"payment_intent": intent_id}).data
