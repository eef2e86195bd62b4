"""Eve's settings for Innkeeper, one commented constant per line (as eve/default_settings.py)."""

from domain import build_domain

STANDARD_ERRORS = [400, 401, 403, 404, 405, 406, 409, 410, 412, 413, 415, 422, 428, 429, 500, 503]
# Operators that scan without bound or run code; a client query naming one is a 400.
MONGO_QUERY_BLACKLIST = [
    "$where",
    "$regex",
    "$text",
    "$expr",
    "$function",
    "$accumulator",
    "$jsonSchema",
]


def eve_settings(config):
    """The dict handed to Eve: its conventions under /api/v1, strict concurrency, safe
    queries. Innkeeper's own settings are merged in after these."""
    domain = build_domain()
    for resource in domain.values():
        # HEAD is a GET without the body: public wherever GET is (Eve asks a token).
        for key in ("public_methods", "public_item_methods"):
            if "GET" in resource.get(key, ()):
                resource[key] = [*resource[key], "HEAD"]
        # Indexes are created by provisioning (plumbing/provisioning.py), a step of its
        # own: Eve's creation at start-up kills a worker when an index with the same keys
        # exists under another name, and costs every app built (tests, CLI) a round trip.
        resource["mongo_indexes"] = {}
    eve = {
        "DOMAIN": domain,
        "MONGO_URI": config["MONGO_URI"],
        "MONGO_DBNAME": config["MONGO_DBNAME"],
        "MONGO_OPTIONS": {
            "connect": False,  # connect on first use, after a worker forks
            "tz_aware": False,  # stay dates are naive UTC midnights (plumbing/values.py)
            "appname": "innkeeper",
            "uuidRepresentation": "standard",
            "serverSelectionTimeoutMS": 5000,
            # How soon a server that went away is noticed back (plumbing/http.py answers
            # 503 at once while the driver knows it is down).
            "heartbeatFrequencyMS": 2000,
            "socketTimeoutMS": 30000,
        },
        "URL_PREFIX": "api",
        "API_VERSION": "v1",
        "DATE_FORMAT": "%Y-%m-%dT%H:%M:%SZ",  # the contract's ISO 8601 UTC timestamps
        "IF_MATCH": True,
        "ENFORCE_IF_MATCH": True,  # 428 without If-Match, 412 when stale
        "BANDWIDTH_SAVER": False,  # writes answer with the whole document
        "HATEOAS": True,
        "PAGINATION_DEFAULT": 25,
        "PAGINATION_LIMIT": 100,
        "VALIDATION_ERROR_STATUS": 422,
        "STANDARD_ERRORS": STANDARD_ERRORS,
        "MONGO_QUERY_BLACKLIST": MONGO_QUERY_BLACKLIST,
        "RENDERERS": ["eve.render.JSONRenderer"],  # HTML is the browsable pages' job
        "X_DOMAINS": None,  # CORS is Flask-Cors's (plumbing/http.py)
        "SCHEMA_ENDPOINT": None,  # the OpenAPI document describes every resource
        "EMBEDDING": True,
        "SORTING": True,
        "PROJECTION": True,
        "UPSERT_ON_PUT": False,
        "TRANSPARENT_SCHEMA_RULES": False,
        "ALLOW_UNKNOWN": False,
        "NORMALIZE_DOTTED_FIELDS": True,
        "SOFT_DELETE": False,
        "OPLOG": False,
    }
    eve.update({k: v for k, v in config.items() if k not in eve})
    return eve
