"""The API's versions, and what each changes from the one before, declared once.

There is one implementation underneath (Eve's resources, the routes, the hooks), which
speaks version 1. A later version is version 1 plus a list of changes, each with its
request transformation (from that version's shape down to the one before) and its
response transformation (up from the one before), as Stripe's dated versions and the
Cadwyn library do; plumbing/versions.py applies them between the client and the app.
Each change also says how the OpenAPI document changes, so every version documents
itself. Nothing here knows HTTP: each function takes and returns plain JSON values (a
`response_text` change takes and returns the answer's JSON text, for a change that needs
no decoding; those run first).

Version 2's changes:
- money is an object, `{"amount": "120.00", "currency": "EUR"}`, everywhere;
- a booking's rooms are always its `rooms` list (no first room's copy at the top);
- hrefs are absolute paths (`/api/v2/hotels/<id>`), so they resolve by RFC 3986
  against the document's URL;
- errors are RFC 9457 problem details (`application/problem+json`).
"""

import copy
import re
from http import HTTPStatus

VERSIONS = (1, 2)
LATEST = 2
# Version 1 is deprecated since version 2 shipped, and is retired at its sunset
# (RFC 9745's Deprecation and RFC 8594's Sunset headers say so on every v1 answer).
DEPRECATED_AT = "2026-12-04T00:00:00Z"
SUNSET_AT = "2027-12-31T23:59:59Z"
MIGRATION_GUIDE = "/api/v2/migration"

# The fields that hold money in version 1: a decimal string in the currency of the
# nearest object that has a `currency` (the document's). Every field of type money in
# the domain (tests/plumbing/test_versions.py checks) and the search's amounts. Not an
# exchange rate's `rate`: a ratio, not an amount of money.
MONEY_FIELDS = frozenset(
    {
        "amount",
        "charged",
        "debt",
        "net",
        "penalty_kept",
        "per_person_per_night",
        "price",
        "refund_amount",
        "refunded",
        "refunded_amount",
        "room",
        "supplement_per_person",
        "total",
        "total_price",
    }
)
NOT_MONEY = {("exchange_rates", "rate")}


class Refused(Exception):
    """A request a version's shape does not allow: a 4xx problem with `issues`."""

    def __init__(self, status, detail, issues=None):
        super().__init__(detail)
        self.status, self.detail, self.issues = status, detail, issues or {}


# -- money as an object --------------------------------------------------------------


def _is_money_object(value):
    return (
        isinstance(value, dict)
        and set(value) == {"amount", "currency"}
        and isinstance(value["amount"], str)
        and isinstance(value["currency"], str)
    )


def money_up(value, _context, currency=None):
    """Version 1 -> 2: each money string becomes {"amount", "currency"} (the currency of
    the nearest enclosing object that names one). Changes `value` in place (a response
    freshly decoded) and returns it."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)):
                money_up(item, _context, currency)
        return value
    if not isinstance(value, dict):
        return value
    own = value.get("currency")
    currency = own if isinstance(own, str) and len(own) == 3 else currency
    for key, item in value.items():
        if isinstance(item, str):
            if currency and key in MONEY_FIELDS:
                value[key] = {"amount": item, "currency": currency}
        elif isinstance(item, (dict, list)):
            money_up(item, _context, currency)
    return value


def money_down(value, context, currency=None, path=""):
    """Version 2 -> 1: each {"amount", "currency"} becomes its amount. Its currency must be
    the document's when the body names one; the one currency a body's amounts were sent
    in is kept in `context["sent_currency"]` for the rules that know the hotel's."""
    if isinstance(value, list):
        return [money_down(item, context, currency, f"{path}{i}.") for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    own = value.get("currency")
    currency = own if isinstance(own, str) and not _is_money_object(own) else currency
    changed = {}
    for key, item in value.items():
        if _is_money_object(item):
            sent = item["currency"].upper()
            if currency and sent != currency.upper():
                raise Refused(
                    422,
                    f"{path}{key} is in {sent}, but this document's currency is {currency}",
                    {f"{path}{key}": f"must be in {currency}"},
                )
            earlier = context.get("sent_currency")
            if earlier and earlier != sent:
                raise Refused(
                    422,
                    f"amounts sent in two currencies ({earlier} and {sent})",
                    {f"{path}{key}": f"must be in {earlier}, as the others"},
                )
            context["sent_currency"] = sent
            changed[key] = item["amount"]
        else:
            changed[key] = money_down(item, context, currency, f"{path}{key}.")
    return changed


MONEY_OBJECT = {
    "type": "object",
    "title": "Money",
    "description": "An amount of money: a decimal string with the currency's minor-unit "
    "digits, and its ISO 4217 currency.",
    "required": ["amount", "currency"],
    "additionalProperties": False,
    "properties": {
        "amount": {"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,4})?$"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    },
    "examples": [{"amount": "120.00", "currency": "EUR"}],
}


def money_schemas(document, _context):
    """The OpenAPI side: every money field's schema is the Money object (one component,
    referenced; in requests a decimal string is still taken)."""

    def walk(node, key=None):
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if key in MONEY_FIELDS and node.get("type") == "string" and "pattern" in node:
            return {"$ref": "#/components/schemas/Money"}
        if "properties" in node and isinstance(node["properties"], dict):
            node = {**node, "properties": {k: walk(v, k) for k, v in node["properties"].items()}}
            return {k: (v if k == "properties" else walk(v)) for k, v in node.items()}
        return {k: walk(v) for k, v in node.items()}

    document = walk(document)
    document.setdefault("components", {}).setdefault("schemas", {})["Money"] = MONEY_OBJECT
    return document


# -- rooms always a list -------------------------------------------------------------

FIRST_ROOM_COPIES = ("room_type", "rate_plan", "rate_plan_terms")


def _is_booking(value):
    return isinstance(value, dict) and "confirmation_code" in value and "rooms" in value


def rooms_up(value, _context):
    """Version 1 -> 2: a booking keeps its rooms in `rooms` only (version 1 also copies
    the first room's type, plan and terms to the top). A booking is a document or a list
    item (`_items`), never deeper: only those are looked at. In place."""
    if isinstance(value, dict) and isinstance(value.get("_items"), list):
        for item in value["_items"]:
            rooms_up(item, _context)
    elif _is_booking(value):
        for field in FIRST_ROOM_COPIES:
            value.pop(field, None)
    return value


def rooms_down(body, context):
    """Version 2 -> 1: a booking (or a change of one) names its rooms in `rooms`."""
    if context["path"].rstrip("/").split("/")[-1] not in ("bookings", "change"):
        return body
    if isinstance(body, dict):
        given = [f for f in ("room_type", "rate_plan", "adults", "children") if f in body]
        if given:
            raise Refused(
                422,
                "in version 2 a booking names its rooms in rooms: "
                '[{"room_type", "rate_plan", "adults", "children"}]',
                {field: "give it inside each of rooms[] instead" for field in given},
            )
    return body


REQUEST_ROOM_FIELDS = ("room_type", "rate_plan", "adults", "children")


def _without(schema, fields):
    for field in fields:
        schema.get("properties", {}).pop(field, None)
    if "required" in schema:
        schema["required"] = [f for f in schema["required"] if f not in fields]


def rooms_schemas(document, _context):
    """The OpenAPI side: a booking's request bodies (new, and a change) take `rooms` only;
    its answers lose the first room's copies (the party's totals stay)."""
    schemas = document.get("components", {}).get("schemas", {})
    if "Bookings" in schemas:
        _without(schemas["Bookings"], REQUEST_ROOM_FIELDS)
        schemas["Bookings"]["required"] = sorted(
            {*schemas["Bookings"].get("required", ()), "rooms"}
        )
    if "BookingsDocument" in schemas:
        _without(schemas["BookingsDocument"], FIRST_ROOM_COPIES)
    change = document.get("paths", {}).get("/api/v1/bookings/{id}/change", {}).get("post", {})
    body = change.get("requestBody", {}).get("content", {}).get("application/json", {})
    if "schema" in body:
        _without(body["schema"], REQUEST_ROOM_FIELDS)
    return document


# -- hrefs as absolute paths ----------------------------------------------------------


# An href in the JSON text: the key can only be a key there (a quote inside a string is
# escaped), so the text is changed without decoding it - 0.01 ms for a page of offers.
_HREF = re.compile(rb'"href":\s*"(/"|/api/v1/|(?!/|https?:))')


def hrefs_up(text, context):
    """Version 1 -> 2, on the answer's JSON text: an href relative to the API root (Eve's
    `hotels/<id>`) becomes an absolute path under the version's root
    (`/api/v2/hotels/<id>`), one already absolute under `/api/v1/` moves under it, and
    the front door (`/`) becomes the version's own (`/api/v2/`)."""
    root = context["root"].encode()

    def absolute(found):
        if found.group(1) == b'/"':
            return b'"href":"' + root + b'/"'
        return b'"href":"' + root + b"/"

    return _HREF.sub(absolute, text)


# -- errors as problem details --------------------------------------------------------

PROBLEM = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; `issues` names each refused field.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "about:blank: the status says it all"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the request's path"},
        "issues": {"type": "object", "description": "field -> what is wrong with it"},
        "request_id": {"type": "string"},
    },
}


def problem(status, detail, instance, issues=None, request_id=None):
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error",
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if issues:
        body["issues"] = issues
    if request_id:
        body["request_id"] = request_id
    return body


def errors_up(value, context):
    """Version 1 -> 2: an error envelope (`_status`, `_error`, `_issues`) becomes problem
    details, and the answer's media type application/problem+json."""
    if context["status"] < 400 or not isinstance(value, dict) or "_error" not in value:
        return value
    error = value.get("_error") or {}
    context["content_type"] = "application/problem+json"
    return problem(
        context["status"],
        error.get("message") or "",
        context["instance"],
        value.get("_issues"),
        error.get("request_id") or context.get("request_id"),
    )


def problem_schemas(document, _context):
    """The OpenAPI side: every error answer of the API is problem+json (the probes and
    /metrics are outside the versions and answer as they always did)."""
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    info = document.setdefault("info", {})
    said = info.get("description", "").split(" Errors share one shape")[0]
    info["description"] = (
        f"{said} Errors are RFC 9457 problem details (application/problem+json), the "
        "refused fields in `issues`; money is {amount, currency}; hrefs are absolute paths."
    ).strip()
    for path, operations in document.get("paths", {}).items():
        if not path.startswith("/api/"):  # /health, /metrics: outside the versions
            continue
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for status, answer in (operation.get("responses") or {}).items():
                if status[:1] in ("4", "5") and isinstance(answer, dict):
                    answer["content"] = {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    }
    return document


# -- the list -------------------------------------------------------------------------

CHANGES = (
    {
        "version": 2,
        "name": "money is an object with its currency",
        "request": money_down,
        "response": money_up,
        "openapi": money_schemas,
    },
    {
        "version": 2,
        "name": "a booking's rooms are always its rooms list",
        "request": rooms_down,
        "response": rooms_up,
        "openapi": rooms_schemas,
    },
    {
        "version": 2,
        "name": "hrefs are absolute paths",
        "request": None,
        "response_text": hrefs_up,
        "openapi": None,
    },
    {
        "version": 2,
        "name": "errors are RFC 9457 problem details",
        "request": None,
        "response": errors_up,
        "openapi": problem_schemas,
    },
)


def changes_between(old, new):
    """The changes from version `old` up to `new`, oldest first."""
    return [c for c in CHANGES if old < c["version"] <= new]


def openapi_of(version, document):
    """Version 1's OpenAPI document made version `version`'s."""
    document = copy.deepcopy(document)
    for change in changes_between(1, version):
        if change["openapi"]:
            document = change["openapi"](document, {"version": version})
    return document
