"""Eve's 422s say "Insertion failure: 1 document(s) contain(s) error(s)" or nothing; ours
name the fields."""

from plumbing.errors import Refusal
from plumbing.responses import json_of


def name_invalid_fields(resource, request, payload):
    if payload.status_code != 422:
        return
    body = json_of(payload)
    issues = body.get("_issues") if body is not None else None
    if not isinstance(issues, dict) or not issues:
        return
    parts = [f"{field}: {_first(reason)}" for field, reason in sorted(issues.items())]
    # Eve's PATCH and PUT answers carry no _error at all; the contract's shape has one.
    body["_error"] = {"code": 422, "message": "invalid fields - " + "; ".join(parts)}


def _first(reason):
    if isinstance(reason, dict):
        field, inner = next(iter(sorted(reason.items())))
        return f"{field} {_first(inner)}"
    if isinstance(reason, list):
        return _first(reason[0]) if reason else "invalid"
    return str(reason)


def refuse_meta_fields(resource, request, lookup=None):
    """_id, _etag, _created, _updated, _links... are the server's: a client sending one
    (choosing its own _id, say) gets a 422, on every resource and write method."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return
    meta = sorted(k for k in body if isinstance(k, str) and k.startswith("_"))
    if meta:
        raise Refusal(
            422,
            "fields starting with _ are set by the server: " + ", ".join(meta),
            dict.fromkeys(meta, "is set by the server and cannot be sent"),
        )


def init_app(app):
    app.on_pre_POST += refuse_meta_fields
    app.on_pre_PATCH += refuse_meta_fields
    app.on_pre_PUT += refuse_meta_fields
    app.on_post_POST += name_invalid_fields
    app.on_post_PATCH += name_invalid_fields
    app.on_post_PUT += name_invalid_fields
