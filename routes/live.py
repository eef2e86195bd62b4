"""GET /bookings/<id>/events: the booking's status changes as Server-Sent Events.

Each event is pushed as its change commits, from MongoDB's change stream, so a change
made by any API process or the worker reaches a listener on any other. A stream opens
with the booking's current `status`, then says `confirmed`, `expired`, `cancelled`,
`refunded` and `modified`; a comment every HEARTBEAT seconds keeps proxies from closing
it. Event ids are change stream resume tokens: a client that reconnects with
Last-Event-ID (EventSource does so by itself) misses nothing.

A stream holds a server thread, so each process serves at most LIVE_STREAMS of them
(503 with Retry-After beyond that) and ends each after LIVE_STREAM_SECONDS, telling
the client to reconnect (`retry:`): a worker is never held for long, and listeners
spread over the processes as they come back.
"""

import threading
import time

import simplejson as json
from flask import Blueprint, Response, current_app, request, stream_with_context
from pymongo.errors import PyMongoError

from booking import live
from plumbing import openapi
from plumbing.auth import db, require_role
from plumbing.errors import Refusal

bp = Blueprint("live", __name__)
HEARTBEAT = 15
RECONNECT_MS = 1000
_slots = {}
_slots_lock = threading.Lock()


def slots(app):
    """This process's stream slots (one semaphore per app)."""
    with _slots_lock:
        if app not in _slots:
            _slots[app] = threading.BoundedSemaphore(app.config["LIVE_STREAMS"])
        return _slots[app]


def frame(name, data, event_id=None):
    """One SSE event: its id (a resume token), its name, its data as one JSON line."""
    text = json.dumps(data, cls=current_app.data.json_encoder_class, separators=(",", ":"))
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {name}\ndata: {text}\n\n"


@bp.get("/bookings/<booking_id>/events")
def booking_events(booking_id):
    user = require_role("guest", "manager", "admin")
    booking = live.visible_booking(db(), booking_id, user)
    app = current_app._get_current_object()
    slot = slots(app)
    if not slot.acquire(blocking=False):
        raise Refusal(
            503,
            "too many live status listeners on this server; retry shortly",
            headers={"Retry-After": "5"},
        )
    try:
        token = live.parse_token(request.headers.get("Last-Event-ID"))
        stream, resumed = live.open_stream(db(), booking["_id"], token)
    except PyMongoError:
        slot.release()
        raise
    tracker = live.Tracker(booking, resumed)
    seconds = app.config["LIVE_STREAM_SECONDS"]

    @stream_with_context
    def events():
        try:
            yield f"retry: {RECONNECT_MS}\n\n"
            if not resumed:
                token = stream.resume_token
                yield frame(*tracker.first(booking), token["_data"] if token else None)
            started = beat = time.monotonic()
            draining = app.extensions["draining"]  # shutting down: the client reconnects
            while stream.alive and time.monotonic() - started < seconds and not draining.is_set():
                change = stream.try_next()
                if change is not None:
                    for name, data in tracker.events(change):
                        yield frame(name, data, change["_id"]["_data"])
                elif time.monotonic() - beat >= HEARTBEAT:
                    beat = time.monotonic()
                    yield ": still here\n\n"
            yield ": reconnect for more\n\n"
        finally:
            stream.close()
            slot.release()

    return Response(
        events(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


OPENAPI = {
    "/api/v1/bookings/{id}/events": {
        "get": {
            "tags": ["bookings"],
            "summary": "The booking's status changes as Server-Sent Events, as they commit",
            "description": "Opens with `status` (where the booking stands), then "
            "`confirmed`, `expired`, `cancelled`, `refunded` and `modified` events, each "
            "`data` one JSON object. Ids are resume tokens: reconnect with Last-Event-ID "
            "to miss nothing. A stream ends after LIVE_STREAM_SECONDS (the client "
            "reconnects); 503 with Retry-After when the server has no free stream slot.",
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
