"""JSON responses and errors for custom routes, in the same shape Eve gives."""

import simplejson as json
from flask import Response, current_app, request
from pymongo.errors import ConnectionFailure, PyMongoError, ServerSelectionTimeoutError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)

from plumbing import jsonbody, metrics
from plumbing.errors import Refusal, refused_by_validator, rules_changed
from plumbing.ratelimit import RateLimited


def json_of(response):
    """An Eve answer's JSON body as a dict to edit in place: decoded once however many
    hooks edit it (links, field messages, payment outcomes), encoded once as the answer
    leaves (write_json_edits). None for a body that is not a JSON object."""
    body = getattr(response, "_innkeeper_json", None)
    if body is None:
        if response.mimetype != "application/json" or response.direct_passthrough:
            return None
        body = json.loads(response.get_data(as_text=True))
        if not isinstance(body, dict):
            return None
        response._innkeeper_json = body
    return body


def write_json_edits(response):
    """after_request, run before any other: the edited body becomes the answer's."""
    body = response.__dict__.pop("_innkeeper_json", None)
    if body is not None:
        response.set_data(json.dumps(body))
    return response


def respond(payload, status=200, headers=None):
    body = json.dumps(payload, cls=current_app.data.json_encoder_class)
    return Response(body, status=status, headers=headers, mimetype="application/json")


def error(status, message, issues=None, headers=None):
    payload = {"_status": "ERR", "_error": {"code": status, "message": message}}
    if issues:
        payload["_issues"] = issues
    return respond(payload, status, headers)


def render_refusal(refusal):
    return error(refusal.status, refusal.message, refusal.issues, refusal.headers)


def render_http_error(exc):
    """Any HTTP error Eve did not render itself (404 outside the API, 405, 413, ...).
    An item that is not there (or not the caller's) is named: "hotel <id> not found"."""
    message = exc.description or exc.name
    if exc.code == 404 and not isinstance(exc, Refusal):
        message = _missing_item() or message
    return error(exc.code or 500, message, headers=_allow(exc))


def _missing_item():
    endpoint, args = request.endpoint or "", request.view_args or {}
    if not endpoint.endswith("|item_lookup"):
        return None
    resource = endpoint.split("|", 1)[0]
    settings = current_app.config["DOMAIN"].get(resource) or {}
    lookup = args.get(settings.get("item_lookup_field", "_id"))
    title = settings.get("item_title", resource)
    return f"{title} {lookup} not found" if lookup else None


def render_unexpected(exc):
    """Never leak a stack trace or a driver message: log it, answer a plain 500.

    Also receives Flask's InternalServerError for what failed outside the view (an
    after_request function, say): its original exception is mapped the same way, so a
    database outage there is a 503 too.
    """
    original = getattr(exc, "original_exception", None)
    if isinstance(exc, InternalServerError) and original is not None:
        exc = original
    if refused_by_validator(exc):  # any other write path: the same 503
        current_app.logger.warning("write refused by MongoDB's validator: %s", exc)
        metrics.backend_error("mongo", "validator")
        return render_refusal(rules_changed())
    if isinstance(exc, HTTPException):
        return render_http_error(exc)
    if isinstance(exc, ServerSelectionTimeoutError):
        current_app.logger.error("database unreachable: %s", exc)
        metrics.backend_error("mongo", "unreachable")
        return error(
            503, "the database is unreachable; retry shortly", headers={"Retry-After": "5"}
        )
    if isinstance(exc, PyMongoError) and exc.timeout:
        current_app.logger.warning("database deadline passed: %s", exc)
        metrics.backend_error("mongo", "deadline")
        return error(
            503, "the database did not answer in time; retry shortly", headers={"Retry-After": "2"}
        )
    if isinstance(exc, ConnectionFailure):
        current_app.logger.error("database unreachable: %s", exc)
        metrics.backend_error("mongo", "unreachable")
        return error(
            503, "the database is unreachable; retry shortly", headers={"Retry-After": "5"}
        )
    current_app.logger.exception("unhandled error", exc_info=exc)
    return error(500, "internal error; it has been logged")


def render_rate_limited(exc):
    """429 in the contract's shape: which limit, and when to retry (Retry-After too)."""
    return error(
        429,
        f"too many requests: the limit is {exc.limit}; retry in {exc.retry_after} s",
        headers={"Retry-After": str(exc.retry_after)},
    )


NOT_JSON = "send the body as JSON with Content-Type: application/json"


def render_not_json(exc):  # noqa: ARG001 - Flask's get_json() on a body that is not JSON
    """One answer for a body that is not JSON, whoever reads it: the 400 the request
    guard gives (plumbing/http.py), never an undocumented 415."""
    return error(400, NOT_JSON)


def render_too_large(exc):  # noqa: ARG001 - Werkzeug's MAX_CONTENT_LENGTH, on any route
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return error(413, f"the body exceeds {limit} bytes (MAX_BODY_BYTES)")


def _allow(exc):
    try:
        allowed = exc.valid_methods
    except AttributeError:
        return None
    return {"Allow": ", ".join(allowed)} if allowed else None


def init_app(app):
    app.register_error_handler(Refusal, render_refusal)
    app.register_error_handler(RequestEntityTooLarge, render_too_large)
    app.register_error_handler(UnsupportedMediaType, render_not_json)
    app.register_error_handler(RateLimited, render_rate_limited)
    app.register_error_handler(Exception, render_unexpected)
    # Replaces Eve's handler for 500, which would render Werkzeug's text.
    app.register_error_handler(InternalServerError, render_unexpected)
    # And Eve's for 404, which would say "The requested URL was not found" for an item,
    # and for 405, which drops the Allow header a 405 must carry (RFC 9110 15.5.6).
    app.register_error_handler(NotFound, render_http_error)
    app.register_error_handler(MethodNotAllowed, render_http_error)


def json_body():
    """The request's JSON object, or a 400 saying what is wrong with it."""
    if not request.is_json:
        raise Refusal(400, "send a JSON body with Content-Type: application/json")
    body = jsonbody.parse(request.get_data(cache=True))
    if not isinstance(body, dict):
        raise Refusal(400, "the body must be a JSON object")
    return body
