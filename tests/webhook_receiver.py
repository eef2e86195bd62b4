"""A real HTTP receiver of webhooks for the suite: a threading HTTP server on a free
loopback port that verifies every delivery's signature with the standardwebhooks
library (as a hotel's system would), keeps what it got, and answers what it is told."""

import http.server
import threading
from collections import deque

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from plumbing.embedded import free_port


class Receiver:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.secret = None  # the endpoint's, once created
        self.received = []  # (webhook-id, event) of every verified delivery, in order
        self.peers = []  # the client's (address, port) of every request: its connection
        self.unverified = 0
        self.answers = deque()  # status codes to answer next; 200 once empty
        self.hold = None  # an Event the handler waits on before answering
        self.arrived = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps a connection open between requests

            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.peers.append(self.client_address)
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                try:
                    event = Webhook(receiver.secret).verify(body, dict(self.headers))
                except WebhookVerificationError:
                    with receiver.lock:
                        receiver.unverified += 1
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with receiver.lock:
                    receiver.received.append((self.headers["webhook-id"], event))
                    status = receiver.answers.popleft() if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True

    def types(self):
        with self.lock:
            return [event["type"] for _, event in self.received]

    def start(self):
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self):
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()
