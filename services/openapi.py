"""OpenAPI 3.1 for the whole API, generated from domain/ and the custom routes' specs.

Cerberus rules become JSON Schema (types, required, ranges, enums, formats for dates,
money and ObjectIds, descriptions and examples; server-owned fields readOnly), so the
document cannot drift from what the API validates.
"""

import copy

from domain import build_domain
from domain.vocabulary import COUNTRIES, CURRENCIES

OBJECT_ID = {
    "type": "string",
    "pattern": "^[0-9a-f]{24}$",
    "examples": ["6740f0c2a1b2c3d4e5f60718"],
}
MONEY = {
    "type": "string",
    "pattern": r"^\d{1,12}(\.\d{1,4})?$",
    "description": "Decimal string with the currency's minor-unit digits.",
}
ERROR = {
    "type": "object",
    "required": ["_status", "_error"],
    "properties": {
        "_status": {"const": "ERR"},
        "_error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "integer"}, "message": {"type": ["string", "null"]}},
        },
        "_issues": {"type": "object", "description": "field -> what is wrong with it"},
    },
}
LINKS = {"type": "object", "additionalProperties": True}
META_FIELDS = {
    "_id": dict(OBJECT_ID, readOnly=True),
    "_created": {"type": "string", "format": "date-time", "readOnly": True},
    "_updated": {"type": "string", "format": "date-time", "readOnly": True},
    "_etag": {"type": "string", "readOnly": True},
    "_links": dict(LINKS, readOnly=True),
}
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted: the outcome arrives by webhook",
    204: "Deleted",
    400: "Bad request (malformed JSON, query or parameter)",
    401: "Missing, invalid, expired or revoked bearer token",
    402: "Payment declined",
    403: "Your role may not do this",
    404: "Not found (or not yours)",
    405: "Method not allowed",
    409: "Conflict with the current state",
    412: "If-Match does not match the current _etag",
    413: "Body too large",
    422: "Validation failed; _issues names each field",
    428: "If-Match header required",
    429: "Rate limited; see Retry-After",
    503: "A dependency is down; see Retry-After",
}


def field_schema(rules):
    kind = rules.get("type")
    out = {}
    if kind == "string":
        out["type"] = "string"
        if rules.get("iso_country"):
            out["enum"] = sorted(COUNTRIES)
        if rules.get("iso_currency"):
            out["enum"] = sorted(CURRENCIES)
        if rules.get("clock_time"):
            out["pattern"] = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
        if rules.get("iana_timezone"):
            out["format"] = "iana-time-zone"
    elif kind == "integer":
        out["type"] = "integer"
    elif kind == "number":
        out["type"] = "number"
    elif kind == "boolean":
        out["type"] = "boolean"
    elif kind == "objectid":
        out.update(OBJECT_ID)
    elif kind == "datetime":
        out.update(type="string", format="date-time")
    elif kind == "day":
        out.update(type="string", format="date")
    elif kind == "money":
        out.update(MONEY)
    elif kind == "dict":
        out.update(object_schema(rules.get("schema") or {}))
    elif kind == "list":
        out["type"] = "array"
        if isinstance(rules.get("schema"), dict):
            out["items"] = field_schema(rules["schema"])
    elif kind == "point":
        out.update(
            type="object",
            required=["type", "coordinates"],
            properties={
                "type": {"const": "Point"},
                "coordinates": {
                    "type": "array",
                    "items": {"type": "number"},
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
        )
    if "allowed" in rules:
        out["enum"] = list(rules["allowed"])
    for rule, keyword in (
        ("min", "minimum"),
        ("max", "maximum"),
        ("maxlength", "maxLength"),
        ("minlength", "minLength"),
        ("regex", "pattern"),
    ):
        if rule in rules:
            out[keyword] = rules[rule]
    if rules.get("empty") is False:
        out["minLength"] = max(out.get("minLength", 0), 1)
    if "description" in rules:
        out["description"] = rules["description"]
    if "example" in rules:
        out["examples"] = [rules["example"]]
    if "default" in rules:
        out["default"] = rules["default"]
    if rules.get("readonly"):
        out["readOnly"] = True
    if rules.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def object_schema(schema, meta=False):
    properties = {name: field_schema(rules) for name, rules in schema.items()}
    if meta:
        properties.update(copy.deepcopy(META_FIELDS))
    out = {"type": "object", "properties": properties}
    required = sorted(n for n, r in schema.items() if r.get("required"))
    if required:
        out["required"] = required
    return out


def _without_required(schema):
    if isinstance(schema, dict):
        schema.pop("required", None)
        for value in schema.values():
            _without_required(value)
    elif isinstance(schema, list):
        for value in schema:
            _without_required(value)
    return schema


def _write_only(schema):
    """The password is accepted on input only."""
    if "password" in schema.get("properties", {}):
        schema["properties"]["password"]["writeOnly"] = True
    return schema


def _responses(*codes, ok=None):
    out = {}
    for code in codes:
        if ok is not None and code in (200, 201, 202):
            out[str(code)] = {
                "description": STATUS_TEXT[code],
                "content": {"application/json": {"schema": ok}},
            }
        elif code == 204:
            out["204"] = {"description": STATUS_TEXT[204]}
        else:
            out[str(code)] = {
                "description": STATUS_TEXT[code],
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                },
            }
    return out


QUERY_PARAMETERS = [
    {
        "name": "where",
        "in": "query",
        "schema": {"type": "string"},
        "description": 'MongoDB query as JSON, on allowed fields, e.g. {"stars": {"$gte": 4}}.',
    },
    {
        "name": "sort",
        "in": "query",
        "schema": {"type": "string"},
        "description": 'Field name, "-" for descending ("-stars"), or [["field", 1], ...].',
    },
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {
        "name": "max_results",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
    {
        "name": "projection",
        "in": "query",
        "schema": {"type": "string"},
        "description": 'Fields to include, as JSON: {"name": 1}.',
    },
    {
        "name": "embedded",
        "in": "query",
        "schema": {"type": "string"},
        "description": 'References to expand, as JSON: {"hotel": 1}.',
    },
]
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "The _etag you read; stale is 412, missing is 428.",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "schema": {"type": "string", "maxLength": 255},
    "description": "Same key and body replay the first response for 24 h.",
}
BEARER = [{"bearer": []}]


def _title(resource):
    return "".join(part.title() for part in resource.split("_"))


def resource_paths(resource, settings):
    name = _title(resource)
    ref = {"$ref": f"#/components/schemas/{name}"}
    # Responses may be projected (?projection=), so their schema requires nothing.
    document = {"$ref": f"#/components/schemas/{name}Document"}
    url = f"/api/v1/{settings.get('url', resource)}"
    public = set(settings.get("public_methods", []))
    public_item = set(settings.get("public_item_methods", []))
    listing = {
        "type": "object",
        "properties": {
            "_items": {"type": "array", "items": document},
            "_meta": {
                "type": "object",
                "properties": {
                    "page": {"type": "integer"},
                    "max_results": {"type": "integer"},
                    "total": {"type": "integer"},
                },
            },
            "_links": LINKS,
        },
    }
    paths = {url: {}, f"{url}/{{id}}": {}}
    if "GET" in settings.get("resource_methods", []):
        paths[url]["get"] = {
            "tags": [resource],
            "summary": f"List {resource}",
            "parameters": QUERY_PARAMETERS,
            "responses": _responses(200, 400, 401, 403, 429, 503, ok=listing),
            **({} if "GET" in public else {"security": BEARER}),
        }
    if "POST" in settings.get("resource_methods", []):
        parameters = [IDEMPOTENCY_KEY] if resource in ("bookings", "payments") else []
        codes = [201, 400, 401, 403, 404, 409, 413, 422, 429, 503]
        if resource == "payments":
            codes += [202, 402]
        paths[url]["post"] = {
            "tags": [resource],
            "summary": f"Create a {settings.get('item_title', resource)}",
            "parameters": parameters,
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
            "responses": _responses(*sorted(codes), ok=ref),
            "security": BEARER,
        }
    item = paths[f"{url}/{{id}}"]
    id_param = {"name": "id", "in": "path", "required": True, "schema": OBJECT_ID}
    for method in settings.get("item_methods", []):
        if method == "GET":
            item["get"] = {
                "tags": [resource],
                "summary": f"Get one {settings.get('item_title')}",
                "parameters": [id_param, QUERY_PARAMETERS[4], QUERY_PARAMETERS[5]],
                "responses": _responses(200, 400, 401, 403, 404, 429, 503, ok=ref),
                **({} if "GET" in public_item else {"security": BEARER}),
            }
        elif method in ("PATCH", "PUT"):
            item[method.lower()] = {
                "tags": [resource],
                "summary": f"{method} one {settings.get('item_title')}",
                "parameters": [id_param, IF_MATCH],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref}},
                },
                "responses": _responses(
                    200, 400, 401, 403, 404, 409, 412, 413, 422, 428, 429, 503, ok=ref
                ),
                "security": BEARER,
            }
        elif method == "DELETE":
            item["delete"] = {
                "tags": [resource],
                "summary": f"Delete one {settings.get('item_title')}",
                "parameters": [id_param, IF_MATCH],
                "responses": _responses(204, 401, 403, 404, 409, 412, 428, 429, 503),
                "security": BEARER,
            }
    return {p: ops for p, ops in paths.items() if ops}


def build(custom_paths):
    """The whole document: domain resources plus the custom routes' own path specs."""
    domain = build_domain()
    schemas = {"Error": ERROR}
    paths = {}
    for resource, settings in domain.items():
        request = _write_only(object_schema(settings["schema"], meta=True))
        response = _without_required(copy.deepcopy(request))
        if settings.get("description"):
            request["description"] = response["description"] = settings["description"]
        schemas[_title(resource)] = request
        schemas[_title(resource) + "Document"] = response
        paths.update(resource_paths(resource, settings))
    paths.update(custom_paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Innkeeper",
            "version": "1.0.0",
            "description": "Hotel booking: search offers, book every night or none, pay "
            "exactly once. Errors share one shape: "
            '{"_status": "ERR", "_error": {"code", "message"}, "_issues": {field: reason}}.',
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "POST /api/v1/auth/token",
                }
            },
        },
    }


def responses(*codes, ok=None):
    """For custom routes describing themselves."""
    return _responses(*codes, ok=ok)
