"""GET /bookings/<id>/events: the booking's status changes as Server-Sent Events.

Each event is pushed as its change commits, from MongoDB's change stream, so a change
made by any API process or the worker reaches a listener on any other. A stream opens
with the booking's current `status`, then says `confirmed`, `checked_in`, `checked_out`,
`no_show`, `expired`, `cancelled`, `refunded` and `modified`; a comment every HEARTBEAT
seconds keeps proxies from closing it. Event ids are change stream resume tokens: a
client that reconnects with Last-Event-ID (EventSource does so by itself) misses
nothing.

Each process reads one change stream for all its listeners (plumbing/changefeed.py):
a stream costs its thread and a queue, never a database cursor. A process serves at
most LIVE_STREAMS of them (503 with Retry-After beyond), a user at most
LIVE_STREAMS_PER_USER (429), and each ends after LIVE_STREAM_SECONDS, telling the
client to reconnect (`retry:`): listeners spread over the processes as they come back.
A slot is given back as the stream ends, when the client hangs up (seen within a
second), and is never taken by a HEAD.
"""

import select
import socket
import threading
import time

import simplejson as json
from flask import Blueprint, Response, current_app, request

from booking import live
from identity.authentication import require_role
from plumbing import metrics, openapi
from plumbing.changefeed import Fanout
from plumbing.context import db
from plumbing.errors import Refusal

bp = Blueprint("live", __name__)
HEARTBEAT = 15
WAKE = 1.0  # how often a quiet stream looks whether its client is still there
RECONNECT_MS = 1000
_lock = threading.Lock()


class Streams:
    """One process's live status: the fanout of its one change stream, a slot per
    stream (LIVE_STREAMS) and a count per user (LIVE_STREAMS_PER_USER)."""

    def __init__(self, app):
        self.feed = Fanout(live.watcher(app.data.driver.db), live.booking_of)
        self.slots = threading.BoundedSemaphore(max(1, app.config["LIVE_STREAMS"]))
        self.capacity = app.config["LIVE_STREAMS"]
        self.per_user = app.config["LIVE_STREAMS_PER_USER"]
        self.users = {}

    def open(self, user_id):
        """Take a slot for `user_id`, or refuse with 503 (the server) / 429 (the user)."""
        with _lock:
            if self.users.get(user_id, 0) >= self.per_user:
                raise Refusal(
                    429,
                    f"you already follow {self.per_user} live status streams "
                    "(LIVE_STREAMS_PER_USER); close one first",
                    headers={"Retry-After": "5"},
                )
            if self.capacity == 0 or not self.slots.acquire(blocking=False):
                raise Refusal(
                    503,
                    "too many live status listeners on this server; retry shortly",
                    headers={"Retry-After": "5"},
                )
            self.users[user_id] = self.users.get(user_id, 0) + 1
            metrics.LIVE_STREAMS.inc()

    def close(self, user_id):
        with _lock:
            left = self.users.get(user_id, 1) - 1
            if left:
                self.users[user_id] = left
            else:
                self.users.pop(user_id, None)
            self.slots.release()
            metrics.LIVE_STREAMS.dec()


def streams(app):
    with _lock:
        if "live_streams" not in app.extensions:
            app.extensions["live_streams"] = Streams(app)
        return app.extensions["live_streams"]


def frame(name, data, event_id, encoder):
    """One SSE event: its id (a resume token), its name, its data as one JSON line."""
    text = json.dumps(data, cls=encoder, separators=(",", ":"))
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {name}\ndata: {text}\n\n"


def client_gone(environ):
    """Whether the client closed the connection: its socket reads as ended. (A stream
    otherwise learns it only when a write fails, at the next heartbeat.)"""
    sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


@bp.route("/bookings/<booking_id>/events", methods=["GET", "HEAD"])
def booking_events(booking_id):
    user = require_role("guest", "manager", "admin")
    booking = live.visible_booking(db(), booking_id, user)
    if request.method == "HEAD":  # no body is sent, so no stream is opened
        return Response(b"", mimetype="text/event-stream", headers=STREAM_HEADERS)
    app = current_app._get_current_object()
    served = streams(app)
    served.open(user["_id"])
    released = threading.Lock()

    def release():
        if released.acquire(blocking=False):  # once, whichever way the stream ends
            subscription.close()
            served.close(user["_id"])

    subscription = None
    try:
        after = live.parse_token(request.headers.get("Last-Event-ID"))
        subscription, resumed, position = served.feed.subscribe(
            booking["_id"], after["_data"] if after else None
        )
        # Read after subscribing: a change committed since is queued, and one the read
        # already shows is not said twice (the tracker compares).
        booking = live.reread(db(), booking)
    except BaseException:
        if subscription is None:
            served.close(user["_id"])
        else:
            release()
        raise
    tracker = live.Tracker(booking, resumed)
    seconds = app.config["LIVE_STREAM_SECONDS"]
    environ = request.environ

    encoder = app.data.json_encoder_class

    # No request context in the body (stream_with_context): the generator needs none,
    # and many streams served by one thread close in any order.
    def events():
        try:
            yield f"retry: {RECONNECT_MS}\n\n"
            if not resumed:
                yield frame(*tracker.first(booking), position, encoder)
            started = beat = time.monotonic()
            last_id = position
            draining = app.extensions["draining"]  # shutting down: the client reconnects
            while time.monotonic() - started < seconds and not draining.is_set():
                item = subscription.get(live.HOLD_SECONDS if tracker.held else WAKE)
                if item is not None:
                    event_id, change = item
                    last_id = event_id
                    for name, data in tracker.events(change):
                        yield frame(name, data, event_id, encoder)
                elif tracker.held:
                    for name, data in tracker.due(time.monotonic()):
                        yield frame(name, data, last_id, encoder)
                elif client_gone(environ):
                    return
                elif time.monotonic() - beat >= HEARTBEAT:
                    beat = time.monotonic()
                    yield ": still here\n\n"
            yield ": reconnect for more\n\n"
        finally:
            release()

    response = Response(events(), mimetype="text/event-stream", headers=STREAM_HEADERS)
    response.call_on_close(release)  # also when the body is never read
    return response


OPENAPI = {
    "/api/v1/bookings/{id}/events": {
        "get": {
            "tags": ["bookings"],
            "summary": "The booking's status changes as Server-Sent Events, as they commit",
            "description": "Opens with `status` (where the booking stands), then "
            "`confirmed`, `checked_in`, `checked_out`, `no_show`, `expired`, `cancelled`, "
            "`refunded` and `modified` events, each "
            "`data` one JSON object. Ids are resume tokens: reconnect with Last-Event-ID "
            "to miss nothing. A stream ends after LIVE_STREAM_SECONDS (the client "
            "reconnects); 503 with Retry-After when the server has no free stream slot, 429 "
            "when the caller already follows LIVE_STREAMS_PER_USER streams.",
            "security": openapi.BEARER,
            "parameters": [
                openapi.ID_PARAMETER,
                openapi.header(
                    "Last-Event-ID", "the id of the last event received, to resume after it"
                ),
            ],
            "responses": {
                "200": {
                    "description": "an event stream",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                **{code: value for code, value in openapi.responses(401, 404, 429, 503).items()},
            },
        }
    },
}
