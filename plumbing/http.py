"""Every request: bounded queries and bodies, a database deadline; every response: headers."""

import contextlib
import json
import socket

import pymongo
from flask import current_app, g, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

import domain
from plumbing import jsonbody, metrics, queries, responses
from plumbing.errors import Refusal
from plumbing.probes import database_known_down

MAX_RESULTS_WINDOW = 10_000
CORS_EXPOSED_HEADERS = [
    "ETag",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Idempotent-Replayed",
]
WRITE_METHODS = {"POST", "PUT", "PATCH"}
API_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def wants_html():
    """Whether the client (a browser) prefers an HTML page to JSON."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "text/html"
        and request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]
    )


def refuse_unsafe_queries():
    """Paging must be sane; on Eve's resources, where/sort/projection too (queries.py)."""
    args = request.args
    issues = {}
    for name in ("page", "max_results"):
        raw = args.get(name)
        if raw is not None and (not raw.isascii() or not raw.isdigit() or int(raw) < 1):
            issues[name] = "must be a whole number of at least 1"
    if "page" not in issues and "max_results" not in issues:
        page = int(args.get("page", 1))
        per_page = min(int(args.get("max_results", 25)), 100)
        if page * per_page > MAX_RESULTS_WINDOW:
            issues["page"] = (
                f"pages reach at most the first {MAX_RESULTS_WINDOW} results; narrow the "
                "query with where instead"
            )
    if issues:
        raise Refusal(400, "invalid query: " + ", ".join(sorted(issues)), issues)
    resource, _, kind = (request.endpoint or "").partition("|")
    settings = current_app.config["DOMAIN"].get(resource) if kind else None
    if settings is not None:
        schema = current_app.data.json_schema(resource)
        queries.check_collection_query(
            args,
            settings,
            schema,
            current_app.data.day_paths(resource),
            kind != "resource",
            domain.NARROW_LISTS.get(resource, ()),
        )


def read_body():
    """The request's raw body, cached; 413 past MAX_CONTENT_LENGTH, chunked bodies too.

    Werkzeug stops reading a body without Content-Length at the limit and hands back
    what it read; one more read tells a body that fits from one that was cut.
    """
    raw = request.get_data(cache=True)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and len(raw) >= limit:
        request.stream.read(1)  # raises RequestEntityTooLarge when more was sent
    return raw


def refuse_unreadable_bodies():
    """Writes to the API carry one JSON object, read strictly (plumbing/jsonbody.py).

    The size limit is Werkzeug's MAX_CONTENT_LENGTH (init_app): it holds for chunked
    bodies and every route, the webhooks and the admin included.
    """
    if (
        request.method not in WRITE_METHODS
        or request.blueprint in ("webhooks",)  # signed raw bytes: checked there
        or not request.path.startswith(current_app.api_prefix)
    ):
        return  # the admin's HTML forms post form data; the API takes JSON only
    raw = read_body()
    if not raw:
        return
    if not request.is_json:
        raise Refusal(400, responses.NOT_JSON)
    body = jsonbody.parse(raw)
    if not isinstance(body, dict):
        raise Refusal(400, "the body must be a JSON object")


def refuse_when_database_down():
    """MongoDB down: a 503 with Retry-After at once, not after the request's deadline."""
    if request.blueprint == "health":
        return
    if database_known_down(current_app.data.driver.db.client):
        metrics.backend_error("mongo", "unreachable")
        raise Refusal(
            503, "the database is unreachable; retry shortly", headers={"Retry-After": "5"}
        )


def refuse_weak_if_match():
    """If-Match compares strong ETags only (RFC 9110): a weak one never matches."""
    if request.headers.get("If-Match", "").lstrip().startswith("W/"):
        raise Refusal(
            412,
            "If-Match takes the strong ETag: send the _etag you read, without W/",
            {"If-Match": "a weak ETag never matches"},
        )


def if_match(what="the resource"):
    """The etag a custom write route's client read (428 without one), unquoted; a weak
    one was refused already (refuse_weak_if_match)."""
    etag = request.headers.get("If-Match")
    if not etag:
        raise Refusal(428, f"send If-Match with {what}'s _etag: this change needs it")
    return etag.strip('"')


def guard_request():
    refuse_when_database_down()
    refuse_weak_if_match()
    refuse_unreadable_bodies()
    if request.method in ("GET", "HEAD") and request.path.startswith(current_app.api_prefix):
        refuse_unsafe_queries()


def add_security_headers(response):
    # setdefault: an HTML page (the docs) keeps the looser CSP it set itself.
    for name, value in API_SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.headers.get("Authorization"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def close_after_unread_bodies(response):
    """A refused body (413) is not read: the answer says Connection: close, and the
    socket's read side is shut, so the server does not wait for the rest of a body it
    will never use. (Werkzeug's server reads what is left of a body before it closes a
    connection - blocking until the client sends it all or hangs up, 10-40 s seen, a
    thread held all along; gunicorn closes on the header.)"""
    if response.status_code == 413:
        response.headers["Connection"] = "close"
        sock = request.environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RD)
    return response


class DatabaseDeadline:
    """WSGI middleware (Flask's supported way to wrap an app: `app.wsgi_app = ...`): every
    request's MongoDB work, its hooks and teardown included, shares one deadline, which
    pymongo sends as maxTimeMS and enforces client-side. A streamed body (live status)
    is iterated after the call returns, so a stream is not cut by it."""

    def __init__(self, wsgi_app, seconds):
        self.wsgi_app = wsgi_app
        self.seconds = seconds

    def __call__(self, environ, start_response):
        with pymongo.timeout(self.seconds):
            return self.wsgi_app(environ, start_response)


def with_database_deadline(app):
    app.wsgi_app = DatabaseDeadline(app.wsgi_app, app.config["QUERY_TIMEOUT_MS"] / 1000)


def answer_outages(response):
    """after_request, run first: an answer Eve built from a database failure it caught
    (noted by plumbing/datalayer.py) becomes a 503, before anything records it."""
    outage = g.pop("database_outage", None)
    if outage is None or response.status_code >= 500:
        return response
    current_app.logger.error("database failure during validation: %s", outage)
    metrics.backend_error("mongo", "unreachable")
    body = {
        "_status": "ERR",
        "_error": {"code": 503, "message": "the database is unreachable; retry shortly"},
    }
    response.set_data(json.dumps(body))
    response.status_code = 503
    response.mimetype = "application/json"
    response.headers["Retry-After"] = "5"
    return response


def answer_conditional_gets(response):
    """Every JSON GET answer gets an ETag (Eve gives items one, not lists or custom
    routes); a client that sends it back in If-None-Match gets a 304 without a body."""
    if (
        request.method in ("GET", "HEAD")
        and response.status_code == 200
        and response.mimetype == "application/json"
        and not response.direct_passthrough
    ):
        if "ETag" not in response.headers:
            response.add_etag()
        response.make_conditional(request)
    return response


def init_app(app):
    """Request guards, response headers, the database deadline, proxies and CORS."""
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"]
    app.before_request(guard_request)
    app.after_request(add_security_headers)
    app.after_request(close_after_unread_bodies)
    app.after_request(answer_conditional_gets)
    with_database_deadline(app)
    if app.config["TRUSTED_PROXY_COUNT"]:
        # The client address is the one the trusted proxies appended, never one a
        # client wrote itself further left in X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXY_COUNT"])
    if app.config["CORS_ORIGINS"]:
        CORS(
            app,
            resources={f"{app.api_prefix}/*": {"origins": app.config["CORS_ORIGINS"]}},
            allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
            expose_headers=CORS_EXPOSED_HEADERS,
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            max_age=600,
        )
