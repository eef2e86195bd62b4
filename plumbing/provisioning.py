"""The domain, enforced by MongoDB itself: validators, indexes and views derived from domain/.

- `json_schema(resource)` is the resource's $jsonSchema validator, made by the one
  converter (plumbing/jsonschema.py): BSON types including decimal, date and objectId,
  required fields, ranges, enums, patterns, so a script writing straight to MongoDB
  cannot store a document the API would refuse.
- `provision` is the start-up step (indexes, validators, views).
- `ensure_indexes` creates the domain's indexes and never fails start-up because an index
  on the same keys exists under another name (an analyst's `city_1`, say): it reports it,
  and `apply` reconciles it.
- `VIEWS` are the analysts' read-only KPI views; `plan` compares all of this with the live
  database (`flask --app run domain diff`) and `apply` carries it out (`domain apply`).
"""

import hashlib
import json
from datetime import UTC, datetime

from bson import Decimal128
from pymongo.errors import OperationFailure

from domain import build_domain
from domain.policy import VIEWS
from plumbing import idempotency, jsonschema


def collection_name(resource, settings=None):
    settings = settings or build_domain()[resource]
    return (settings.get("datasource") or {}).get("source", resource)


def json_schema(resource, settings=None):
    """The resource's $jsonSchema validator, from the one converter's JSON Schema."""
    settings = settings or build_domain()[resource]
    return {"$jsonSchema": jsonschema.bson_schema(jsonschema.resource_schema(settings))}


def provision(db, log=print):
    """Make the database match the domain as far as is safe unattended: missing indexes,
    validators where a collection has none, the views, the idempotency keys' TTL. The
    areas' own collections (the KPIs, bookings_flat, the search cards) are provisioned
    by their areas after this (cli.provision).

    Idempotent. A step of its own - `make run` start-up, the worker and
    `flask --app run provision` run it - not a side effect of building an app.
    """
    conflicts = ensure_indexes(db, log=log)
    ensure_validators(db, log=log)
    ensure_views(db)
    idempotency.ensure_indexes(db)
    mark_provisioned(db)
    return conflicts


MARKER = "provisioning"  # one document: the domain the database was last provisioned for


def fingerprint():
    """A digest of the domain as the database enforces it (validators and indexes): two
    builds with the same domain agree; a changed field, rule or index changes it."""
    domain = build_domain()
    shape = {
        resource: [json_schema(resource, settings), settings.get("mongo_indexes") or {}]
        for resource, settings in sorted(domain.items())
    }
    text = json.dumps(shape, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def mark_provisioned(db):
    db[MARKER].replace_one(
        {"_id": "domain"},
        {"_id": "domain", "fingerprint": fingerprint(), "at": datetime.now(UTC)},
        upsert=True,
    )


def provisioned_for(db):
    """The fingerprint of the domain the database was last provisioned for, or None."""
    marker = db[MARKER].find_one({"_id": "domain"}, {"fingerprint": 1})
    return marker and marker.get("fingerprint")


def index_spec(spec):
    keys, options = spec if isinstance(spec, tuple) else (spec, {})
    return [tuple(k) for k in keys], dict(options)


def key_of(index_info):
    return tuple((k, v) for k, v in index_info["key"])


def ensure_indexes(db, log=print):
    """Create the domain's missing indexes; report (never fail on) same-key conflicts."""
    conflicts = []
    for resource, settings in build_domain().items():
        collection = db[collection_name(resource, settings)]
        existing = {key_of(info): name for name, info in collection.index_information().items()}
        for name, spec in (settings.get("mongo_indexes") or {}).items():
            keys, options = index_spec(spec)
            other = existing.get(tuple(keys))
            if other is not None and other != name:
                conflicts.append((resource, name, other))
                log(
                    f"index {collection.name}.{other} has the keys of domain index {name!r}; "
                    "it is used as it is (`flask --app run domain apply` renames it)"
                )
                continue
            if other == name:
                continue
            try:
                collection.create_index(keys, name=name, **options)
            except OperationFailure as error:
                conflicts.append((resource, name, str(error)))
                log(f"index {collection.name}.{name} could not be created: {error}")
    return conflicts


# The analysts' views. Money stays Decimal128 and dates stay dates, so sums are exact.


def live_views(db):
    return {
        c["name"]: (c["options"].get("viewOn"), c["options"].get("pipeline"))
        for c in db.list_collections(filter={"type": "view"})
    }


def ensure_views(db):
    """Create or update the KPI views (idempotent; run at start-up and by domain apply)."""
    live = live_views(db)
    for name, (source, pipeline) in VIEWS.items():
        wanted = decimal_literals(pipeline)
        if name not in live:
            db.command("create", name, viewOn=source, pipeline=wanted)
        elif live[name] != (source, wanted):
            db.command("collMod", name, viewOn=source, pipeline=wanted)


def decimal_literals(node):
    """{"$numberDecimal": "0"} -> Decimal128 (kept as extended JSON so the module is data)."""
    if isinstance(node, dict):
        if set(node) == {"$numberDecimal"}:
            return Decimal128(node["$numberDecimal"])
        return {k: decimal_literals(v) for k, v in node.items()}
    if isinstance(node, list):
        return [decimal_literals(v) for v in node]
    return node


def live_validator(db, name):
    info = next(db.list_collections(filter={"name": name}), None)
    return (info or {}).get("options", {}).get("validator")


def ensure_validators(db, log=print):
    """At start-up: set validators where a collection has none yet and all documents comply."""
    for resource, settings in build_domain().items():
        name = collection_name(resource, settings)
        validator = json_schema(resource, settings)
        live = live_validator(db, name)
        if live == validator:
            continue
        if live is not None:
            log(
                f"{name}: its validator differs from the domain; see `flask --app run domain diff`"
            )
            continue
        if name in db.list_collection_names() and db[name].find_one({"$nor": [validator]}):
            log(f"{name}: has documents the domain refuses; see `flask --app run domain diff`")
            continue
        if name not in db.list_collection_names():
            db.create_collection(name, validator=validator)
        else:
            db.command(
                "collMod",
                name,
                validator=validator,
                validationLevel="strict",
                validationAction="error",
            )
