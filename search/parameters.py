"""A search's parameters, declared once: the route validates them (routes/availability.py),
the OpenAPI document prints them, and the browsable search form offers them all."""

from domain.vocabulary import COUNTRIES, CURRENCIES, HOTEL_AMENITIES
from plumbing import bodies, openapi
from search import availability

MAX_RESULTS = 100
MAX_KM = 500
_INT = {"type": "integer"}
# Every parameter of a search, once: the parser checks each parsed value against its
# schema and the OpenAPI document prints the same schemas (plumbing/bodies.py).
QUERY = bodies.Query(
    {
        "check_in": {"schema": {"type": "string", "format": "date"}, "required": True},
        "check_out": {"schema": {"type": "string", "format": "date"}, "required": True},
        "adults": {"schema": {**_INT, "minimum": 1, "maximum": 20, "default": 1}},
        "children": {"schema": {**_INT, "minimum": 0, "maximum": 20, "default": 0}},
        "city": {
            "schema": {"type": "string", "minLength": 1, "maxLength": 100},
            "description": "as people type it: case, accents, hyphens and spaces do not "
            "matter (paris, PARIS, Zurich for Zürich)",
            "reason": "must be a non-empty city name of at most 100 characters",
        },
        "country": {
            "schema": {"type": "string", "enum": sorted(COUNTRIES)},
            "description": "ISO 3166-1 alpha-2 (any case)",
            "reason": "must be an ISO 3166-1 alpha-2 code such as FR",
        },
        "hotel": {
            "schema": openapi.OBJECT_ID,
            "reason": "must be a 24-character hexadecimal hotel id",
        },
        "near": {
            "schema": {"type": "string", "pattern": r"^-?[0-9.]+,-?[0-9.]+$"},
            "description": "<lng>,<lat>",
            "reason": "must be <longitude>,<latitude> such as 2.35,48.86",
        },
        "max_km": {
            "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_KM},
            # No schema default: a generated client would send it without near.
            "description": "with near: the radius in kilometres (10 when omitted)",
            "reason": f"must be a number of kilometres above 0 and at most {MAX_KM}",
        },
        "min_stars": {"schema": {**_INT, "minimum": 1, "maximum": 5}},
        "amenities": {
            "schema": {"type": "string", "maxLength": 500},
            "description": "comma-separated, all required",
        },
        "max_price": {
            "schema": openapi.MONEY,
            "reason": 'must be a decimal amount such as "450.00"',
        },
        "currency": {
            "schema": {"type": "string", "enum": sorted(CURRENCIES)},
            "description": "ISO 4217 (any case)",
            "reason": "must be an ISO 4217 code such as EUR",
        },
        "display_currency": {
            "schema": {"type": "string", "enum": sorted(CURRENCIES)},
            "description": "ISO 4217 (any case): totals are converted to it by the "
            "exchange-rates table to sort, filter (max_price) and show; the charge stays "
            "in the hotel's currency",
            "reason": "must be an ISO 4217 code such as USD",
        },
        "sort": {"schema": {"type": "string", "enum": list(availability.SORTS)}},
        "page": {
            "schema": {**_INT, "minimum": 1, "maximum": 10_000, "default": 1},
            "description": "pages reach the first 10,000 offers: page x max_results "
            "at most 10,000",
        },
        "max_results": {"schema": {**_INT, "minimum": 1, "maximum": MAX_RESULTS, "default": 25}},
    }
)
INTEGERS = ("adults", "children", "min_stars", "page", "max_results")

# What the browsable search form leaves out: paging is the page's own links.
NOT_IN_THE_FORM = ("page", "max_results")


def form_fields():
    """The search form's inputs, one per parameter: [{name, label, type, required, min,
    max, options, hint}], in the declared order."""
    fields = []
    for name, spec in QUERY.parameters.items():
        if name in NOT_IN_THE_FORM:
            continue
        schema = spec["schema"]
        kind = {"integer": "number", "number": "number"}.get(schema.get("type"), "text")
        if schema.get("format") == "date":
            kind = "date"
        options = schema.get("enum")
        if name == "amenities":
            options = None  # comma-separated: a text box, with the vocabulary as its hint
        fields.append(
            {
                "name": name,
                "label": name.replace("_", " "),
                "type": "select" if options else kind,
                "required": bool(spec.get("required")),
                "min": schema.get("minimum"),
                "max": schema.get("maximum"),
                "options": options,
                "hint": spec.get("description")
                or (", ".join(HOTEL_AMENITIES) if name == "amenities" else ""),
            }
        )
    return fields
