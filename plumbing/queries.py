"""What a client may ask of a collection: `where`, `sort` and `projection`, checked before
Eve or MongoDB sees them.

A query reaches the database only when every field is one the resource allows filtering
on (each has an index starting with it: `flask --app run domain check` enforces that),
every operator is one of OPERATORS with an operand of the right shape, stay dates are
real dates, and integers fit in 64 bits. Anything else is a 400 that names the field,
operator or value and says what is allowed - never a scan, never a driver error.
"""

import json
import re
from datetime import date

from plumbing.errors import Refusal

MAX_WHERE_LENGTH = 2048
MAX_DEPTH = 8
MAX_LIST_ITEMS = 100
INT64 = 2**63 - 1
META_FIELDS = ("_id", "_created", "_updated")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SCALAR = (str, int, float, bool, type(None))

_NEAR = '{"$geometry": {"type": "Point", "coordinates": [lng, lat]}, "$maxDistance": metres}'
# operator -> what its operand must be
OPERATORS = {
    "$eq": "a value",
    "$ne": "a value",
    "$gt": "a value",
    "$gte": "a value",
    "$lt": "a value",
    "$lte": "a value",
    "$in": f"a list of at most {MAX_LIST_ITEMS} values",
    "$nin": f"a list of at most {MAX_LIST_ITEMS} values",
    "$all": f"a list of at most {MAX_LIST_ITEMS} values",
    "$exists": "true or false",
    "$size": "a whole number of at least 0",
    "$not": "an object of operators",
    "$elemMatch": "an object",
    "$and": "a non-empty list of objects",
    "$or": "a non-empty list of objects",
    "$nor": "a non-empty list of objects",
    "$near": _NEAR,
    "$nearSphere": _NEAR,
    "$geoWithin": '{"$centerSphere": [[lng, lat], radians]}',
}
_VALUE_OPERATORS = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"}
_LIST_OPERATORS = {"$in", "$nin", "$all"}
_LOGICAL = {"$and", "$or", "$nor"}
_GEO = {"$near", "$nearSphere", "$geoWithin"}


def refuse(issue, field="where"):
    raise Refusal(400, f"invalid query: {field} - {issue}", {field: issue})


ABSENT = object()  # `?where=null` is JSON null, present: it is checked, never skipped


def parse_json_arg(args, name):
    """The JSON of a query argument, ABSENT when the argument is not given."""
    raw = args.get(name)
    if raw is None:
        return ABSENT
    if len(raw) > MAX_WHERE_LENGTH:
        refuse(f"at most {MAX_WHERE_LENGTH} characters", name)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        refuse('must be JSON, e.g. {"stars": 4}', name)


def check_where(where, filterable, day_fields):
    """`where` must be an object of allowed fields and operators (see the module doc)."""
    if not isinstance(where, dict):
        refuse('must be a JSON object in MongoDB query syntax, e.g. {"stars": 4}')
    _check_clause(where, filterable, day_fields, depth=0)


def _check_clause(clause, filterable, day_fields, depth):
    if depth > MAX_DEPTH:
        refuse(f"nested deeper than {MAX_DEPTH} levels")
    for key, value in clause.items():
        if key in _LOGICAL:
            if not isinstance(value, list) or not value or len(value) > MAX_LIST_ITEMS:
                refuse(f"{key} takes {OPERATORS[key]}")
            for part in value:
                if not isinstance(part, dict):
                    refuse(f"{key} takes {OPERATORS[key]}")
                _check_clause(part, filterable, day_fields, depth + 1)
        elif key.startswith("$"):
            refuse(f"{key} is not allowed at the top of a query; use field: {{operator: value}}")
        else:
            if key not in filterable:
                refuse(
                    f"{key} cannot be filtered on; filterable fields: "
                    + ", ".join(sorted(filterable))
                )
            _check_condition(key, value, key in day_fields, depth + 1)


def _check_condition(field, condition, is_day, depth):
    if depth > MAX_DEPTH:
        refuse(f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(condition, dict):
        _check_value(field, condition, is_day)
        return
    if not condition:
        refuse(f"{field}: an empty object matches nothing; give a value or an operator")
    if not all(isinstance(k, str) and k.startswith("$") for k in condition):
        refuse(f"{field}: compare with a value or with operators, not a sub-document")
    for operator, operand in condition.items():
        if operator not in OPERATORS or operator in _LOGICAL:
            refuse(
                f"{field}: operator {operator} is not allowed; allowed: "
                + ", ".join(o for o in OPERATORS if o not in _LOGICAL)
            )
        expected = f"{field}: {operator} takes {OPERATORS[operator]}"
        if operator in _VALUE_OPERATORS:
            _check_value(field, operand, is_day)
        elif operator in _LIST_OPERATORS:
            if not isinstance(operand, list) or len(operand) > MAX_LIST_ITEMS:
                refuse(expected)
            for item in operand:
                _check_value(field, item, is_day)
        elif operator == "$exists":
            if not isinstance(operand, bool):
                refuse(expected)
        elif operator == "$size":
            if (
                not isinstance(operand, int)
                or isinstance(operand, bool)
                or not (0 <= operand <= MAX_LIST_ITEMS)
            ):
                refuse(expected)
        elif operator == "$not":
            if not isinstance(operand, dict) or not operand:
                refuse(expected)
            _check_condition(field, operand, is_day, depth + 1)
        elif operator == "$elemMatch":
            if not isinstance(operand, dict) or not operand:
                refuse(expected)
            for key, value in operand.items():
                if key.startswith("$"):
                    _check_condition(field, {key: value}, is_day, depth + 1)
                else:
                    _check_condition(f"{field}.{key}", value, False, depth + 1)
        elif operator in _GEO:
            _check_geo(field, operator, operand, expected)


def _check_value(field, value, is_day):
    if isinstance(value, dict | list):
        refuse(f"{field}: a value must be a string, number, true, false or null")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64:
        refuse(f"{field}: {value} does not fit in a 64-bit integer")
    if isinstance(value, float) and value != value:  # NaN
        refuse(f"{field}: NaN is not a value")
    if is_day and value is not None and not _is_day(value):
        refuse(f"{field}: {value!r} is not a date; give YYYY-MM-DD, such as 2026-12-01")


def _is_day(value):
    if not isinstance(value, str) or not _DAY.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _point(value):
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(c, int | float) and not isinstance(c, bool) for c in value)
        and -180 <= value[0] <= 180
        and -90 <= value[1] <= 90
    )


def _check_geo(field, operator, operand, expected):
    if not isinstance(operand, dict):
        refuse(expected)
    if operator == "$geoWithin":
        sphere = operand.get("$centerSphere")
        ok = (
            set(operand) == {"$centerSphere"}
            and isinstance(sphere, list)
            and len(sphere) == 2
            and _point(sphere[0])
            and isinstance(sphere[1], int | float)
            and 0 < sphere[1] <= 0.1  # at most about 637 km
        )
        if not ok:
            refuse(expected + " (radius at most 0.1 radians)")
        return
    geometry = operand.get("$geometry")
    distances = {k: v for k, v in operand.items() if k != "$geometry"}
    ok = (
        isinstance(geometry, dict)
        and geometry.get("type") == "Point"
        and _point(geometry.get("coordinates"))
        and set(distances) <= {"$maxDistance", "$minDistance"}
        and all(
            isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 500_000
            for v in distances.values()
        )
    )
    if not ok:
        refuse(expected + " (distances in metres, at most 500000)")


def sort_fields(sort):
    """The field names of Eve's sort argument: "-stars,name" or [["stars", -1], ...]."""
    text = sort.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        ok = isinstance(parsed, list) and all(
            isinstance(s, list) and len(s) == 2 and isinstance(s[0], str) and s[1] in (1, -1)
            for s in parsed
        )
        if not ok or not parsed or len(parsed) > 3:
            refuse('a field name ("-stars") or [["field", 1 or -1], ...] (at most 3)', "sort")
        return [field for field, _ in parsed]
    fields = [part.strip().lstrip("-") for part in text.split(",")]
    if not all(fields) or len(fields) > 3:
        refuse('a field name ("-stars") or fields separated by commas (at most 3)', "sort")
    return fields


def check_sort(sort, sortable):
    for field in sort_fields(sort):
        if field not in sortable:
            refuse(
                f"cannot sort on {field}; sortable fields: " + ", ".join(sorted(sortable)),
                "sort",
            )


def check_projection(projection, fields):
    if not isinstance(projection, dict) or not projection:
        refuse('a JSON object of fields to include, e.g. {"name": 1}', "projection")
    for field, flag in projection.items():
        if field.split(".")[0] not in fields:
            refuse(f"{field} is not a field of this resource", "projection")
        if flag not in (0, 1):
            refuse(f"{field}: give 1 to include the field or 0 to leave it out", "projection")


def pinned(where, field):
    """Whether `where` (checked) holds `field` to one value or a short list at its top
    level or in a top-level $and: a lookup the field's index answers."""
    clauses = [where] + [c for c in where.get("$and", ()) if isinstance(c, dict)]
    for clause in clauses:
        condition = clause.get(field, _NOT_GIVEN)
        if condition is _NOT_GIVEN:
            continue
        if not isinstance(condition, dict):
            return True
        if set(condition) <= {"$eq", "$in"}:
            return True
    return False


_NOT_GIVEN = object()


def check_narrowed(where, narrow_by):
    """A list of a collection too large to page unfiltered names one of `narrow_by`:
    without it, the database would read through the whole collection for any page
    (count and skip included) - on every engine a scan, and seconds on a large one."""
    if narrow_by and not (where is not ABSENT and any(pinned(where, f) for f in narrow_by)):
        shown = " or ".join(narrow_by)
        refuse(
            f"this list is too large to page unfiltered; give {shown} as a value or "
            f'an $in list, e.g. {{"{narrow_by[0]}": "..."}}'
        )


def check_collection_query(args, settings, schema, day_fields, item=False, narrow_by=()):
    """The query string of a GET on an Eve resource (`item`: one document); a list of a
    resource with `narrow_by` fields must pin one of them (check_narrowed)."""
    filterable = set(settings.get("allowed_filters") or ()) | {"_id"}
    fields = set(schema["properties"])
    if not item:
        where = parse_json_arg(args, "where")
        if where is not ABSENT:
            check_where(where, filterable, day_fields)
        if args.get("sort") is not None:
            check_sort(args["sort"], filterable)
    projection = parse_json_arg(args, "projection")
    if projection is not ABSENT:
        check_projection(projection, fields)
    if not item:
        check_narrowed(where, narrow_by)
