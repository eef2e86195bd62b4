"""OpenAPI 3.1 for the whole API, generated from domain/ and the custom routes' specs.

The resources' schemas are the one converter's output (plumbing/jsonschema.py), so the
document cannot drift from what the API validates or what MongoDB enforces.
"""

import copy
import re

from domain import CLIENT_PATCHES, NARROW_LISTS, build_domain, policy
from plumbing import jsonschema
from plumbing.jsonschema import MONEY as MONEY  # re-exported for the routes
from plumbing.jsonschema import OBJECT_ID as OBJECT_ID
from plumbing.queries import OPERATORS

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


def _json_query(name, schema, description):
    """A query parameter that carries JSON (OpenAPI's `content`): clients and test
    generators send an object of this schema, not any string."""
    return {
        "name": name,
        "in": "query",
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


def query_parameters(resource, settings, request):
    """A list's query parameters, as strict as the query guard (plumbing/queries.py):
    `where` on the allowed fields (a value each; operators as the description says),
    `sort` on them, `projection` of the resource's fields, `embedded` of its embeddable
    references; a list that must be narrowed (domain.NARROW_LISTS) requires its fields."""
    fields = request["properties"]
    filterable = sorted(settings.get("allowed_filters") or ())
    values = {f: _value_schema(_field(fields, f)) for f in filterable}
    where = {"type": "object", "properties": values, "additionalProperties": False}
    narrow_by = NARROW_LISTS.get(resource)
    if narrow_by:
        where["anyOf"] = [{"required": [f]} for f in narrow_by]
    names = "|".join(re.escape(f) for f in filterable)
    one = f"-?({names})"
    parameters = [
        _json_query(
            "where",
            where,
            'MongoDB query as JSON on the allowed fields, e.g. {"stars": {"$gte": 4}} '
            "(operators: "
            + ", ".join(OPERATORS)
            + ")"
            + (f"; a list names {' or '.join(narrow_by)}" if narrow_by else "")
            + ".",
        ),
        query(
            "sort",
            {"type": "string", "pattern": f"^{one}(,{one}){{0,2}}$"},
            'Field name, "-" for descending ("-stars"), up to three, or [["field", 1], ...].',
        ),
        # Pages reach the first MAX_RESULTS_WINDOW results (10,000): 100 pages of 100.
        query("page", {"type": "integer", "minimum": 1, "maximum": 100}),
        query("max_results", {"type": "integer", "minimum": 1, "maximum": 100}),
    ]
    if narrow_by:
        parameters[0]["required"] = True
    return parameters + item_query_parameters(request)


def item_query_parameters(request):
    fields = sorted(f for f in request["properties"] if not f.startswith("_"))
    embeddable = sorted(
        name for name, field in request["properties"].items() if field.get("x-embeddable")
    )
    parameters = [
        _json_query(
            "projection",
            {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"enum": fields},
                "additionalProperties": {"enum": [0, 1]},
            },
            'Fields to include (1) or leave out (0), as JSON: {"name": 1}.',
        )
    ]
    if embeddable:
        parameters.append(
            _json_query(
                "embedded",
                {
                    "type": "object",
                    "propertyNames": {"enum": embeddable},
                    "additionalProperties": {"const": 1},
                },
                'References to expand, as JSON: {"hotel": 1}.',
            )
        )
    return parameters


SCALAR = {"type": ["string", "number", "boolean"]}


def _field(properties, dotted):
    """The schema of a (dotted) field: `rating.average` inside `rating`."""
    schema = {"properties": properties}
    for part in dotted.split("."):
        schema = (schema.get("properties") or {}).get(part) or jsonschema.META.get(part)
        if schema is None:
            return {}
    return schema


def _value_schema(field):
    """What `where` may compare a field with: a value of the field's type (an object
    field, or an array's items, by their own schema's type: a sub-document is refused)."""
    if "array" in _types(field):
        field = field.get("items") or {}
    kept = {k: v for k, v in field.items() if k in ("type", "format", "pattern", "enum")}
    if not kept or {"object", "array"} & _types(kept):
        return SCALAR
    return kept


# The JSON body parser refuses control characters other than tab and newline in any
# string (plumbing/jsonbody.py); a body's free text says so.
TEXT = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"


EXACT = {"date", "date-time", "objectid", "money"}  # formats that admit no free text


def _admits_control(schema):
    """Whether a string's own pattern lets a control character through (an email's
    does): its example with one inserted still matches."""
    example = (schema.get("examples") or ["a"])[0]
    if not isinstance(example, str):
        return False
    try:
        return re.search(schema["pattern"], example[:1] + "\x01" + example[1:]) is not None
    except re.error:
        return False


def _types(schema):
    """A schema's types; none for a mapping that is not a schema (`properties`)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        return set(kind)
    return {kind} if isinstance(kind, str) else set()


def closed(schema):
    """A request body schema as strict as the API: no property it does not declare, at
    any depth (an unknown field is a 422), and free text without the control characters
    the body parser refuses."""
    if isinstance(schema, dict):
        kinds = _types(schema)
        mapping = isinstance(schema.get("properties"), dict)
        if mapping and ("object" in kinds or not kinds):
            schema.setdefault("additionalProperties", False)
        exact = {"enum", "const"} & set(schema) or schema.get("format") in EXACT
        if "string" in kinds and not exact:
            if "pattern" not in schema:
                schema["pattern"] = TEXT
            elif _admits_control(schema):
                schema.setdefault("allOf", []).append({"pattern": TEXT})
        for key, value in schema.items():
            if key not in ("examples", "default", "const", "enum"):
                closed(value)
    elif isinstance(schema, list):
        for value in schema:
            closed(value)
    return schema


# Our etags are 40 hexadecimal digits (Eve's SHA-1, plumbing/values.stamp), strong only.
ETAG = {"type": "string", "pattern": '^"?[0-9a-f]{40}"?$'}
IF_MATCH = header(
    "If-Match", "The _etag you read; stale is 412, missing is 428.", required=True, schema=ETAG
)
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


def resource_paths(resource, settings, request):
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
            "parameters": query_parameters(resource, settings, request),
            "responses": _responses(200, 400, 401, 403, 429, 503, ok=listing),
            **({} if "GET" in public else {"security": BEARER}),
        }
    if "POST" in settings.get("resource_methods", []):
        parameters = [IDEMPOTENCY_KEY] if resource in policy.IDEMPOTENT else []
        codes = [201, 400, 401, 403, 404, 409, 413, 422, 429, 503]
        codes += list(policy.POST_STATUSES.get(resource, ()))
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
                "parameters": [ID_PARAMETER, *item_query_parameters(request)],
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
        closed(request)
        schemas[_title(resource)] = request
        schemas[_title(resource) + "Document"] = response
        schemas[_title(resource) + "Patch"] = closed(patch_schema(resource, request))
        paths.update(resource_paths(resource, settings, request))
    paths.update(custom_paths)
    for operations in paths.values():  # the custom routes' bodies too
        for operation in operations.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body:
                closed(body)
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
