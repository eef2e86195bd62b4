"""A webhook receiver to try Innkeeper's webhooks with, as a hotel's system would be one:
it verifies every delivery's signature with the standardwebhooks library and prints the
event, one line each.

    .venv/bin/python docs/webhook_receiver.py 8099 var/webhook_secrets

The secrets file holds one endpoint secret (whsec_...) per line and is read again for
each delivery, so endpoints created later are verified too. A delivery no secret
verifies is answered 400 (Innkeeper tries it again later); a verified one 204.
"""

import http.server
import sys
import threading
from pathlib import Path

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def verified(body, headers, secrets_file):
    for secret in Path(secrets_file).read_text().split():
        try:
            return Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            continue
    return None


def main(port, secrets_file):
    printing = threading.Lock()

    def say(line):
        with printing:  # one line at a time, whichever thread answers
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            event = verified(body, dict(self.headers), secrets_file)
            self.send_response(204 if event else 400)
            self.end_headers()
            if event is None:
                say("refused: no secret verifies this signature")
                return
            data = event["data"]
            what = data.get("confirmation_code") or data.get("room_type") or data.get("_id")
            say(f"{self.headers['webhook-id']} {event['type']} {what} {data.get('status', '')}")

        def log_message(self, *args):
            pass

    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    except OSError:
        print(f"port {port} is taken: a receiver is listening already", file=sys.stderr)
        return 1
    print(f"listening on http://127.0.0.1:{port}/hooks", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), sys.argv[2]))
