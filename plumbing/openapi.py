"""OpenAPI 3.1 for the whole API, generated from domain/ and the custom routes' specs.

The resources' schemas are the one converter's output (plumbing/jsonschema.py), so the
document cannot drift from what the API validates or what MongoDB enforces.
"""

import copy

from domain import CLIENT_PATCHES, build_domain
from plumbing import jsonschema
from plumbing.jsonschema import MONEY as MONEY  # re-exported for the routes
from plumbing.jsonschema import OBJECT_ID as OBJECT_ID

ERROR = {
    "type": "object",
    "required": ["_status", "_error"],
    "properties": {
        "_status": {"const": "ERR"},
        "_error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "integer"},
                "message": {"type": ["string", "null"]},
                "request_id": {
                    "type": "string",
                    "description": "The request's id (also its X-Request-ID header): "
                    "quote it to support, it leads to the request's log lines.",
                },
            },
        },
        "_issues": {"type": "object", "description": "field -> what is wrong with it"},
    },
}
LINKS = {"type": "object", "additionalProperties": True}
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


def _without_required(schema):
    if isinstance(schema, dict):
        schema.pop("required", None)
        for value in schema.values():
            _without_required(value)
    elif isinstance(schema, list):
        for value in schema:
            _without_required(value)
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


def parameter(name, where, schema, description=None, required=False):
    """An OpenAPI parameter (in query, header or path)."""
    described = {"name": name, "in": where, "schema": schema}
    if required:
        described["required"] = True
    if description:
        described["description"] = description
    return described


def query(name, schema, description=None, required=False):
    return parameter(name, "query", schema, description, required)


def header(name, description, required=False, schema=None):
    return parameter(name, "header", schema or {"type": "string"}, description, required)


def json_body(schema):
    """A required JSON request body of this schema."""
    return {"required": True, "content": {"application/json": {"schema": schema}}}


QUERY_PARAMETERS = [
    query(
        "where",
        {"type": "string"},
        'MongoDB query as JSON, on allowed fields, e.g. {"stars": {"$gte": 4}}.',
    ),
    query(
        "sort",
        {"type": "string"},
        'Field name, "-" for descending ("-stars"), or [["field", 1], ...].',
    ),
    query("page", {"type": "integer", "minimum": 1}),
    query("max_results", {"type": "integer", "minimum": 1, "maximum": 100}),
    query("projection", {"type": "string"}, 'Fields to include, as JSON: {"name": 1}.'),
    query("embedded", {"type": "string"}, 'References to expand, as JSON: {"hotel": 1}.'),
]

IF_MATCH = header("If-Match", "The _etag you read; stale is 412, missing is 428.", required=True)
IDEMPOTENCY_KEY = header(
    "Idempotency-Key",
    "Same key and body replay the first response for 24 h.",
    schema={"type": "string", "maxLength": 255},
)
ID_PARAMETER = parameter("id", "path", OBJECT_ID, required=True)
BEARER = [{"bearer": []}]


def _title(resource):
    return "".join(part.title() for part in resource.split("_"))


def patch_schema(resource, request):
    """A PATCH body: the writable fields, none required (Eve merges them into the
    document); a resource with one allowed change (CLIENT_PATCHES) gets exactly that."""
    only = CLIENT_PATCHES.get(resource)
    if only is not None:
        return {
            "type": "object",
            "required": sorted(only),
            "properties": {field: {"const": value} for field, value in only.items()},
            "additionalProperties": False,
        }
    writable = {
        field: rules for field, rules in request["properties"].items() if not rules.get("readOnly")
    }
    return _without_required({"type": "object", "properties": copy.deepcopy(writable)})


def resource_paths(resource, settings):
    name = _title(resource)
    ref = {"$ref": f"#/components/schemas/{name}"}
    patch = {"$ref": f"#/components/schemas/{name}Patch"}
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
            "requestBody": json_body(ref),
            "responses": _responses(*sorted(codes), ok=document),
            "security": BEARER,
        }
    item = paths[f"{url}/{{id}}"]
    for method in settings.get("item_methods", []):
        if method == "GET":
            item["get"] = {
                "tags": [resource],
                "summary": f"Get one {settings.get('item_title')}",
                "parameters": [ID_PARAMETER, QUERY_PARAMETERS[4], QUERY_PARAMETERS[5]],
                "responses": _responses(200, 400, 401, 403, 404, 429, 503, ok=document),
                **({} if "GET" in public_item else {"security": BEARER}),
            }
        elif method in ("PATCH", "PUT"):
            item[method.lower()] = {
                "tags": [resource],
                "summary": f"{method} one {settings.get('item_title')}",
                "parameters": [ID_PARAMETER, IF_MATCH],
                "requestBody": json_body(patch if method == "PATCH" else ref),
                "responses": _responses(
                    200, 400, 401, 403, 404, 409, 412, 413, 422, 428, 429, 503, ok=document
                ),
                "security": BEARER,
            }
        elif method == "DELETE":
            item["delete"] = {
                "tags": [resource],
                "summary": f"Delete one {settings.get('item_title')}",
                "parameters": [ID_PARAMETER, IF_MATCH],
                "responses": _responses(204, 401, 403, 404, 409, 412, 428, 429, 503),
                "security": BEARER,
            }
    return {p: ops for p, ops in paths.items() if ops}


def build(custom_paths, domain=None):
    """The whole document: domain resources plus the custom routes' own path specs."""
    domain = domain or build_domain()
    schemas = {"Error": ERROR}
    paths = {}
    for resource, settings in domain.items():
        request = jsonschema.resource_schema(settings)
        # "one of these fields" (a booking's room_type or rooms) is said in their
        # descriptions: code generators turn an anyOf of `required` lists into an
        # untyped body.
        request.pop("anyOf", None)
        response = _without_required(copy.deepcopy(request))
        schemas[_title(resource)] = request
        schemas[_title(resource) + "Document"] = response
        schemas[_title(resource) + "Patch"] = patch_schema(resource, request)
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
