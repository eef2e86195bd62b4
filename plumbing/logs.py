"""Structured logs: one line per request and per business event, each carrying the id of
the request (or job) that caused it.

structlog renders every record, ours and the libraries' (stdlib logging goes through the
same processors): JSON lines in production (`LOG_FORMAT=json`, one object a line, for
Loki, CloudWatch, Elasticsearch), aligned readable lines in development. A request's id
is taken from `X-Request-ID` when a trusted proxy sent it (`TRUSTED_PROXY_COUNT` > 0 and
a sane value), generated otherwise; it is bound to the request's context, so every line
the request causes - hooks, transactions, payment handling - carries it, and it is
returned in the `X-Request-ID` header and in error bodies (`_error.request_id`).

No line carries a secret: `scrub` drops the values of keys that name one (passwords,
tokens, authorization, card data, client secrets) wherever they appear.
"""

import functools
import json
import logging
import os
import re
import sys
import threading
import time
import uuid

import structlog
from flask import g, request

from plumbing import metrics

LOG = structlog.get_logger()
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")  # whole value: fullmatch
SECRET_KEYS = re.compile(
    r"pass(word)?|token|secret|authorization|cookie|card|cvc|cvv|pan$|api_key|signature",
    re.IGNORECASE,
)
# Libraries whose every-request chatter the request line replaces.
QUIET = ("werkzeug", "gunicorn.access")


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is written (a test's capture, a
    redirected stream), like logging's last-resort handler."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


@functools.lru_cache(maxsize=1024)
def _names_a_secret(key):
    return key != "event" and SECRET_KEYS.search(key) is not None


def scrub(_logger, _method, event_dict):
    """Never log a secret, however a caller named it."""
    for key in [k for k in event_dict if _names_a_secret(k)]:
        event_dict[key] = "[redacted]"
    return event_dict


def add_pid(_logger, _method, event_dict):
    """Which process wrote the line (gunicorn runs several workers)."""
    event_dict["pid"] = os.getpid()
    return event_dict


class Writer:
    """structlog's output for our own lines: one rendered line a call, written under a
    lock to the stream (sys.stderr as it is at that moment when none was given). The
    native path - no stdlib LogRecord, no caller lookup - costs a few microseconds."""

    def __init__(self, stream=None):
        self.stream, self.lock = stream, threading.Lock()

    def msg(self, message):
        out = self.stream or sys.stderr
        with self.lock:
            out.write(message + "\n")
            out.flush()

    debug = info = warning = warn = error = critical = exception = msg

    def __call__(self, *_args):  # the logger factory: one shared writer
        return self


def configure(fmt="console", level="INFO", stream=None):
    """Our lines (structlog, native and fast) and the libraries' (stdlib logging) through
    the same processors and renderer to `stream`."""
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_pid,
        scrub,
    ]
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
        shared.append(structlog.processors.format_exc_info)
    else:
        # Plain tracebacks: a rich one with locals is slow and could print a secret.
        renderer = structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.set_name("innkeeper")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "innkeeper"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    structlog.configure(
        processors=[*shared, renderer],
        logger_factory=Writer(stream),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=False,
    )
    return handler


def event(name, count=1, **fields):
    """A business event (booking.created, payment.succeeded, ...) once it has committed:
    one log line and the events counter."""
    metrics.event(name, count)
    LOG.info(name, **({"count": count} if count != 1 else {}), **fields)


def bind_job(kind):
    """A job outside any request (the sweeper, a command) gets an id of its own."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=f"{kind}-{uuid.uuid4().hex[:16]}")


def start_request(app):
    def start():
        structlog.contextvars.clear_contextvars()  # worker threads are reused
        sent = request.headers.get("X-Request-ID", "")
        trusted = app.config["TRUSTED_PROXY_COUNT"] and REQUEST_ID.fullmatch(sent)
        g.request_id = sent if trusted else uuid.uuid4().hex
        g.request_started = time.perf_counter()
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    return start


def route_of(req):
    """The matched route's template (/api/v1/bookings/<regex(...):_id>), so lines and
    metrics group by endpoint, not by id; unmatched paths share one label."""
    rule = req.url_rule
    return rule.rule if rule is not None else "<unmatched>"


def finish_request(response):
    """after_request, run last: the request id on the answer and the request's line."""
    req, ctx = request._get_current_object(), g._get_current_object()  # one lookup each
    rid = ctx.get("request_id")
    if rid is None:  # a response made before start_request ran
        return response
    status = response.status_code
    response.headers["X-Request-ID"] = rid
    if status >= 400 and response.mimetype == "application/json":
        _stamp_error(response, rid)
    started = ctx.get("request_started")
    seconds = time.perf_counter() - started if started else 0.0
    route = route_of(req)
    # Who the request proved to be; a public read does not check a token, so has none.
    environ = req.environ
    user = environ.get("innkeeper.user") or environ.get("innkeeper.authenticated")
    search_cache = response.headers.get("X-Search-Cache")
    version = environ.get("innkeeper.api_version")  # plumbing/versions.py
    metrics.observe_request(
        req.method, route, status, seconds, req.endpoint, search_cache, version
    )
    line = LOG.warning if status >= 500 else LOG.info
    line(
        "request",
        method=req.method,
        route=route,
        path=environ.get("innkeeper.path") or req.path,
        status=status,
        duration_ms=round(seconds * 1000, 1),
        user=str(user["_id"]) if isinstance(user, dict) and "_id" in user else None,
        client_ip=req.remote_addr,
        **({"search_cache": search_cache} if search_cache else {}),
        **({"api_version": version} if version else {}),
    )
    return response


def _stamp_error(response, rid):
    if response.direct_passthrough or response.is_streamed:
        return
    try:
        body = json.loads(response.get_data(as_text=True))
    except ValueError:
        return
    if isinstance(body, dict) and isinstance(body.get("_error"), dict):
        body["_error"]["request_id"] = rid
        response.set_data(json.dumps(body))


def init_app(app):
    configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    app.before_request(start_request(app))
    app.after_request(finish_request)
