"""The one converter: the Cerberus domain as JSON Schema (2020-12, the dialect of OpenAPI 3.1).

`resource_schema` is the only code that walks the domain's field rules. Every other view
of a resource is read from its output, so a new field rule is taught once, here:

- the OpenAPI document uses it as it is (plumbing/openapi.py);
- MongoDB's `$jsonSchema` validators are `bson_schema` of it (plumbing/provisioning.py);
- the admin's and the browsable pages' forms are `form_fields` of it (pages/);
- the data layer finds the stay-date fields in it (plumbing/datalayer.py).

Types JSON has no word for are named by `format` (`objectid`, `money`, `date`,
`date-time`), and a reference names its resource in `x-resource` (an OpenAPI extension).
"""

import copy

from domain.vocabulary import COUNTRIES, CURRENCIES

OBJECT_ID_PATTERN = "^[0-9a-f]{24}$"
MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,4})?$"
OBJECT_ID = {
    "type": "string",
    "format": "objectid",
    "pattern": OBJECT_ID_PATTERN,
    "examples": ["6740f0c2a1b2c3d4e5f60718"],
}
MONEY = {
    "type": "string",
    "format": "money",
    "pattern": MONEY_PATTERN,
    "description": "Decimal string with the currency's minor-unit digits.",
}
POINT = {
    "type": "object",
    "format": "geojson-point",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"const": "Point"},
        "coordinates": {
            "type": "array",
            # (prefixItems would bound the latitude to -90..90 too; the tools that
            # read the document choke on it, so the description says it.)
            "description": "[longitude -180..180, latitude -90..90]",
            "items": {"type": "number", "minimum": -180, "maximum": 180},
            "minItems": 2,
            "maxItems": 2,
        },
    },
}
# Eve's meta fields, on every stored document; _links exists in answers only.
META = {
    "_id": dict(OBJECT_ID, readOnly=True),
    "_created": {"type": "string", "format": "date-time", "readOnly": True},
    "_updated": {"type": "string", "format": "date-time", "readOnly": True},
    "_etag": {"type": "string", "readOnly": True},
    "_links": {"type": "object", "additionalProperties": True, "readOnly": True},
}
NOT_STORED = {"_links"}
_SIMPLE_TYPES = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "day": {"type": "string", "format": "date"},
    "objectid": OBJECT_ID,
    "money": MONEY,
    "point": POINT,
}
_KEYWORDS = (
    ("min", "minimum"),
    ("max", "maximum"),
    ("maxlength", "maxLength"),
    ("minlength", "minLength"),
    ("regex", "pattern"),
)


def field_schema(rules):
    """One Cerberus field definition as a JSON Schema."""
    kind = rules.get("type")
    out = dict(_SIMPLE_TYPES.get(kind, {}))
    if kind == "dict":
        out.update(object_schema(rules.get("schema") or {}))
    elif kind == "list":
        out["type"] = "array"
        if isinstance(rules.get("schema"), dict):
            out["items"] = field_schema(rules["schema"])
    if rules.get("iso_country"):
        out["enum"] = sorted(COUNTRIES)
    if rules.get("iso_currency"):
        out["enum"] = sorted(CURRENCIES)
    if rules.get("clock_time"):
        out["pattern"] = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
    if rules.get("iana_timezone"):
        out["format"] = "iana-time-zone"
    if rules.get("above_zero"):  # a money string with a digit other than 0
        out["pattern"] = r"^(?=.*[1-9])[0-9]{1,12}(\.[0-9]{1,4})?$"
    if "forbidden" in rules:
        out["not"] = {"enum": list(rules["forbidden"])}
    if "allowed" in rules:
        out["enum"] = list(rules["allowed"])
    for rule, keyword in _KEYWORDS:
        if rule in rules:
            out[keyword] = rules[rule]
    if kind == "list":  # Cerberus' lengths of a list are JSON Schema's item counts
        for length, items in (("minLength", "minItems"), ("maxLength", "maxItems")):
            if length in out:
                out[items] = out.pop(length)
    if rules.get("empty") is False:
        out["minLength"] = max(out.get("minLength", 0), 1)
    relation = rules.get("data_relation")
    if isinstance(relation, dict) and relation.get("resource"):
        out["x-resource"] = relation["resource"]
        if relation.get("embeddable"):
            out["x-embeddable"] = True  # ?embedded={"<field>": 1} expands it
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
    properties = {
        name: field_schema(rules)
        for name, rules in schema.items()
        if not name.startswith("_")  # Eve adds _id to the schemas it holds
    }
    if meta:
        properties.update({name: dict(rules) for name, rules in META.items()})
    out = {"type": "object", "properties": properties}
    required = sorted(n for n, r in schema.items() if r.get("required") and not r.get("excludes"))
    if required:
        out["required"] = required
    # Fields required unless another stands in for them (Cerberus `required` with
    # `excludes`, as a booking's room_type or rooms): at least one of them.
    either = sorted(n for n, r in schema.items() if r.get("required") and r.get("excludes"))
    if either:
        out["anyOf"] = [{"required": [n]} for n in either]
    return out


def resource_schema(settings):
    """A resource's document as JSON Schema, meta fields included; the password, an input
    only, is writeOnly."""
    out = object_schema(settings["schema"], meta=True)
    if "password" in out["properties"]:
        out["properties"]["password"]["writeOnly"] = True
    if settings.get("description"):
        out["description"] = settings["description"]
    return out


# JSON Schema -> MongoDB $jsonSchema ---------------------------------------------------

_BSON_BY_FORMAT = {
    "objectid": "objectId",
    "money": "decimal",
    "date": "date",
    "date-time": "date",
}
_BSON_BY_TYPE = {
    "string": ["string"],
    "integer": ["int", "long"],
    "number": ["int", "long", "double", "decimal"],
    "boolean": ["bool"],
    "object": ["object"],
    "array": ["array"],
    "null": ["null"],
}
_BSON_KEYWORDS = ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems")


def bson_schema(schema):
    """A JSON Schema from `resource_schema` as MongoDB's $jsonSchema: BSON types for what
    JSON spells as strings (ids, money, dates); documentation keywords MongoDB lacks go."""
    out = {}
    types = schema.get("type")
    types = types if isinstance(types, list) else [types] if types else []
    bson_types = []
    for kind in types:
        by_format = _BSON_BY_FORMAT.get(schema.get("format")) if kind == "string" else None
        bson_types += [by_format] if by_format else _BSON_BY_TYPE[kind]
    if bson_types:
        out["bsonType"] = bson_types[0] if len(bson_types) == 1 else bson_types
    if "const" in schema:
        out["enum"] = [schema["const"]]
    if "enum" in schema:
        out["enum"] = list(schema["enum"])
    if "pattern" in schema and bson_types == ["string"]:
        out["pattern"] = schema["pattern"]
    for keyword in _BSON_KEYWORDS:
        if keyword in schema:
            out[keyword] = schema[keyword]
    if "description" in schema:
        out["description"] = schema["description"]
    if "properties" in schema:
        out["properties"] = {
            name: bson_schema(rules)
            for name, rules in schema["properties"].items()
            if name not in NOT_STORED and not rules.get("writeOnly")
        }
    if schema.get("required"):
        out["required"] = list(schema["required"])
    if schema.get("anyOf"):
        out["anyOf"] = [dict(alternative) for alternative in schema["anyOf"]]
    if "items" in schema:
        out["items"] = bson_schema(schema["items"])
    return out


# JSON Schema -> what a form needs ---------------------------------------------------


def fill_defaults(schema, document):
    """Give a document every default its JSON Schema declares for a field it lacks
    (nested objects too), as Eve does for a POST: writers that bypass Eve (the demo
    seed) then follow the domain, new fields included."""
    for name, rules in schema.get("properties", {}).items():
        if name not in document and "default" in rules:
            document[name] = copy.deepcopy(rules["default"])
        elif isinstance(document.get(name), dict) and rules.get("properties"):
            fill_defaults(rules, document[name])
    return document


def form_fields(schema, for_patch=False, only=None):
    """The fields a client may write, each as what a form needs to render it.

    `input` is one of select, multiselect, number, integer, boolean, date, reference,
    object (with `fields`), objects (a list of them, each with `fields`), point, list (a
    JSON list), password, text.
    """
    required = set(schema.get("required", ()))
    fields = []
    for name, rules in schema.get("properties", {}).items():
        if rules.get("readOnly") or name.startswith("_") or (only and name not in only):
            continue
        examples = rules.get("examples") or [None]
        field = {
            "name": name,
            "input": _input(name, rules),
            "kind": _kind(rules),
            "required": name in required and not for_patch,
            "description": rules.get("description", ""),
            "example": examples[0],
            "default": rules.get("default"),
            "options": list(rules.get("enum") or (rules.get("items") or {}).get("enum") or []),
            "minimum": rules.get("minimum"),
            "maximum": rules.get("maximum"),
            "resource": rules.get("x-resource") or (rules.get("items") or {}).get("x-resource"),
        }
        if field["input"] == "object":
            field["fields"] = form_fields(rules, for_patch)
        if field["input"] == "objects":
            field["fields"] = form_fields(rules["items"], for_patch)
            field["max_items"] = rules.get("maxItems")
        fields.append(field)
    return fields


def _kind(rules):
    kind = rules.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    return rules.get("format") or kind


def _input(name, rules):
    kind, items = _kind(rules), rules.get("items") or {}
    if rules.get("enum"):
        return "select"
    if kind == "array" and items.get("enum"):
        return "multiselect"
    if kind == "array" and _kind(items) == "object" and items.get("properties"):
        return "objects"  # a typed sub-form per item
    if kind == "geojson-point":
        return "point"
    if kind == "object":
        return "object" if rules.get("properties") else "list"
    if kind == "array":
        return "list"
    if kind in ("number", "integer", "boolean", "date", "date-time"):
        return kind
    if kind == "objectid":
        return "reference"
    return "password" if name == "password" else "text"


# JSON Schema -> where the stay dates are -----------------------------------------------


def day_fields(schema):
    """A tree of the stay-date (`format: date`) fields: {"check_in": True,
    "nightly_prices": {"date": True}}; lists are looked into, so a path names the list."""
    tree = {}
    for name, rules in schema.get("properties", {}).items():
        target = rules.get("items", rules) if _kind(rules) == "array" else rules
        if _kind(target) == "date":
            tree[name] = True
        elif target.get("properties"):
            inner = day_fields(target)
            if inner:
                tree[name] = inner
    return tree
