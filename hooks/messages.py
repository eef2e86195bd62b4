"""Eve's 422 says "Insertion failure: 1 document(s) contain(s) error(s)"; ours names fields."""

import json


def name_invalid_fields(resource, request, payload):
    if payload.status_code != 422 or payload.mimetype != "application/json":
        return
    body = json.loads(payload.get_data(as_text=True))
    issues = body.get("_issues")
    if not isinstance(issues, dict) or not issues:
        return
    parts = [f"{field}: {_first(reason)}" for field, reason in sorted(issues.items())]
    body["_error"]["message"] = "invalid fields - " + "; ".join(parts)
    payload.set_data(json.dumps(body))


def _first(reason):
    if isinstance(reason, dict):
        field, inner = next(iter(sorted(reason.items())))
        return f"{field} {_first(inner)}"
    if isinstance(reason, list):
        return _first(reason[0]) if reason else "invalid"
    return str(reason)
