"""One schema per custom route's input: the same Cerberus rules validate the request and
describe it in the OpenAPI document, so the two cannot drift.

A route declares its body (`Body`) or its query (`Query`) once, usually from a
resource's own fields (`from_resource`: registration takes the users schema's email,
name and password), and calls `validate`; its OPENAPI block takes `openapi_schema()` or
`openapi_parameters()` of the same object. tests/plumbing/test_route_inputs.py compares the two
on every custom route.
"""

import copy

from flask import current_app

from plumbing import jsonschema
from plumbing.errors import Refusal
from plumbing.values import parse_int

# Rules that belong to a stored document, not to a request that names the field.
_STORED_ONLY = ("unique", "default", "readonly")


def from_resource(resource_schema, names, rename=None, required=(), **overrides):
    """Cerberus rules of some of a resource's fields (deep copies, stored-only rules
    dropped), under other names where `rename` says, `required` ones required."""
    rename = rename or {}
    rules = {}
    for name in names:
        field = copy.deepcopy(resource_schema[name])
        for rule in _STORED_ONLY:
            field.pop(rule, None)
        field.update(overrides.get(name, {}))
        if name in required or rename.get(name) in required:
            field["required"] = True
        rules[rename.get(name, name)] = field
    return rules


class Body:
    """A JSON object body: these fields and no others."""

    def __init__(self, schema, what, reasons=None):
        self.schema = schema
        self.what = what  # "registration", for the messages
        # A field's failure in plain words, in place of the rule's ("valid email"
        # rather than the regex); unknown fields keep theirs.
        self.reasons = reasons or {}

    def validate(self, body):
        """The typed, validated document, or a 422 naming each bad or unknown field."""
        if not isinstance(body, dict):
            raise Refusal(422, f"{self.what}: the body must be a JSON object")
        validator = current_app.validator(self.schema)
        if not validator.validate(body):
            issues = {
                field: self.reasons.get(field) or _reason(reason)
                for field, reason in validator.errors.items()
            }
            raise Refusal(422, f"{self.what} refused: " + ", ".join(sorted(issues)), issues)
        return validator.document

    def openapi_schema(self):
        out = jsonschema.object_schema(self.schema)
        out["additionalProperties"] = False
        return out


class Query:
    """Query parameters, each a JSON Schema (what OpenAPI says of it) that the route's
    parser checks the parsed value against (`check`): plain comparisons, no validator
    object, since searches parse one of these on every request."""

    def __init__(self, parameters):
        self.parameters = parameters  # name -> {"schema", "description"?, "required"?}

    def openapi_parameters(self, names=None):
        from plumbing import openapi

        return [
            openapi.query(
                name, spec["schema"], spec.get("description"), required=spec.get("required")
            )
            for name, spec in self.parameters.items()
            if names is None or name in names
        ]

    def integer(self, args, name, issues):
        """A whole-number parameter from the query string, checked by its schema; its
        default when absent, or when bad (issues[name] then says why)."""
        default = self.parameters[name]["schema"].get("default")
        raw = args.get(name)
        if raw is None:
            return default
        try:
            value = parse_int(raw)
        except ValueError:
            value = None
        checked = self.check(name, value, issues)
        return default if checked is None else checked

    def check(self, name, value, issues):
        """`value` (parsed) if it meets its schema, else None with issues[name] saying
        what the schema asks, in words."""
        schema = self.parameters[name]["schema"]
        if _meets(schema, value):
            return value
        issues[name] = self.parameters[name].get("reason") or _words(schema)
        return None


def _meets(schema, value):
    kind = schema.get("type")
    if kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        return False
    if kind == "number" and not isinstance(value, int | float):
        return False
    if kind == "string" and not isinstance(value, str):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "minimum" in schema and value < schema["minimum"]:
        return False
    if "maximum" in schema and value > schema["maximum"]:
        return False
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        return False
    if "minLength" in schema and len(value) < schema["minLength"]:
        return False
    return not ("maxLength" in schema and len(value) > schema["maxLength"])


def _words(schema):
    kind = schema.get("type")
    if "enum" in schema:
        return (
            "must be one of "
            + ", ".join(map(str, schema["enum"][:12]))
            + (", ..." if len(schema["enum"]) > 12 else "")
        )
    if kind == "integer":
        return f"must be a whole number from {schema['minimum']} to {schema['maximum']}"
    if kind == "number":
        low = (
            f"above {schema['exclusiveMinimum']}"
            if "exclusiveMinimum" in schema
            else f"at least {schema['minimum']}"
        )
        return f"must be a number {low} and at most {schema['maximum']}"
    return f"must be {schema.get('minLength', 0)} to {schema['maxLength']} characters"


def _reason(reason):
    """Cerberus' reason list as one sentence (nested dict errors kept as they are)."""
    if isinstance(reason, list) and len(reason) == 1 and isinstance(reason[0], str):
        return reason[0]
    return reason
