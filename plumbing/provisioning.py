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
import importlib
import json
import pkgutil
from datetime import UTC, datetime

from bson import Decimal128
from pymongo.errors import OperationFailure

from domain import build_domain
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


def _index_spec(spec):
    keys, options = spec if isinstance(spec, tuple) else (spec, {})
    return [tuple(k) for k in keys], dict(options)


def _key_of(index_info):
    return tuple((k, v) for k, v in index_info["key"])


def ensure_indexes(db, log=print):
    """Create the domain's missing indexes; report (never fail on) same-key conflicts."""
    conflicts = []
    for resource, settings in build_domain().items():
        collection = db[collection_name(resource, settings)]
        existing = {_key_of(info): name for name, info in collection.index_information().items()}
        for name, spec in (settings.get("mongo_indexes") or {}).items():
            keys, options = _index_spec(spec)
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

USERS_PUBLIC = [{"$project": {"email": 1, "name": 1, "role": 1, "_created": 1}}]

VIEWS = {"users_public": ("users", USERS_PUBLIC)}


def _live_views(db):
    return {
        c["name"]: (c["options"].get("viewOn"), c["options"].get("pipeline"))
        for c in db.list_collections(filter={"type": "view"})
    }


def ensure_views(db):
    """Create or update the KPI views (idempotent; run at start-up and by domain apply)."""
    live = _live_views(db)
    for name, (source, pipeline) in VIEWS.items():
        wanted = _decimal_literals(pipeline)
        if name not in live:
            db.command("create", name, viewOn=source, pipeline=wanted)
        elif live[name] != (source, wanted):
            db.command("collMod", name, viewOn=source, pipeline=wanted)


def _decimal_literals(node):
    """{"$numberDecimal": "0"} -> Decimal128 (kept as extended JSON so the module is data)."""
    if isinstance(node, dict):
        if set(node) == {"$numberDecimal"}:
            return Decimal128(node["$numberDecimal"])
        return {k: _decimal_literals(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_decimal_literals(v) for v in node]
    return node


def _live_validator(db, name):
    info = next(db.list_collections(filter={"name": name}), None)
    return (info or {}).get("options", {}).get("validator")


def plan(db, examples=3):
    """What `apply` would change, without changing anything."""
    domain = build_domain()
    changes = []
    for resource, settings in domain.items():
        name = collection_name(resource, settings)
        collection = db[name]
        live_indexes = collection.index_information() if name in db.list_collection_names() else {}
        by_keys = {_key_of(info): n for n, info in live_indexes.items()}
        wanted_names = set()
        for index_name, spec in (settings.get("mongo_indexes") or {}).items():
            keys, options = _index_spec(spec)
            wanted_names.add(index_name)
            other = by_keys.get(tuple(keys))
            if other is None:
                changes.append(
                    {
                        "collection": name,
                        "kind": "create index",
                        "name": index_name,
                        "keys": keys,
                        "options": options,
                    }
                )
            elif other != index_name:
                changes.append(
                    {
                        "collection": name,
                        "kind": "rename index",
                        "name": index_name,
                        "from": other,
                        "keys": keys,
                        "options": options,
                    }
                )
        for live_name, info in live_indexes.items():
            if (
                live_name != "_id_"
                and live_name not in wanted_names
                and not any(c.get("from") == live_name for c in changes)
            ):
                changes.append(
                    {
                        "collection": name,
                        "kind": "extra index",
                        "name": live_name,
                        "keys": list(info["key"]),
                    }
                )
        validator = json_schema(resource, settings)
        if _live_validator(db, name) != validator:
            violating = {"$nor": [validator]}
            count = collection.count_documents(violating)
            sample = [
                str(d["_id"]) for d in collection.find(violating, {"_id": 1}).limit(examples)
            ]
            changes.append(
                {
                    "collection": name,
                    "kind": "set validator",
                    "violations": count,
                    "examples": sample,
                    "validator": validator,
                }
            )
    live_views = _live_views(db)
    for view, (source, pipeline) in VIEWS.items():
        if live_views.get(view) != (source, _decimal_literals(pipeline)):
            changes.append({"collection": view, "kind": "view", "on": source})
    return changes


def migrations():
    """Migration functions in domain/migrations/: migrate(db) -> documents changed."""
    import domain.migrations as package

    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"domain.migrations.{info.name}")
        if hasattr(module, "migrate"):
            found[info.name] = module
    return found


def apply(db, set_defaults=None, run_migrations=(), log=print):
    """Carry out the plan. Refuses while existing documents would violate a new
    validator: defaults and migrations the admin named run first, and when documents
    still violate, nothing else is changed."""
    set_defaults = set_defaults or {}
    available = migrations()
    for name in run_migrations:
        if name not in available:
            raise ValueError(f"no migration domain/migrations/{name}.py with a migrate(db)")
        log(f"migration {name}: {available[name].migrate(db)} documents changed")
    changes = plan(db)
    for change in changes if set_defaults else []:
        if change["kind"] != "set validator" or not change["violations"]:
            continue
        collection = db[change["collection"]]
        for field, value in set_defaults.items():
            resource_field = field.split(".", 1)
            if len(resource_field) == 2 and resource_field[0] == change["collection"]:
                field = resource_field[1]
            elif len(resource_field) == 2:
                continue
            result = collection.update_many({field: {"$exists": False}}, {"$set": {field: value}})
            log(
                f"{change['collection']}: set {field}={value!r} on {result.modified_count} "
                "documents that lacked it"
            )
    if set_defaults:
        changes = plan(db)  # the defaults changed documents: count the violations again
    blocked = [c for c in changes if c["kind"] == "set validator" and c["violations"]]
    if blocked:
        details = "; ".join(
            f"{c['collection']}: {c['violations']} documents (e.g. {', '.join(c['examples'])})"
            for c in blocked
        )
        raise RefusedMigration(
            "existing documents would violate the new schema: "
            + details
            + ". Give a default (--set-default collection.field=value) or a migration "
            "(domain/migrations/<name>.py, --migration <name>), then apply again."
        )
    for change in changes:
        collection = db[change["collection"]]
        if change["kind"] == "create index":
            collection.create_index(change["keys"], name=change["name"], **change["options"])
            log(f"created index {change['collection']}.{change['name']}")
        elif change["kind"] == "rename index":
            collection.drop_index(change["from"])
            collection.create_index(change["keys"], name=change["name"], **change["options"])
            log(f"renamed index {change['collection']}.{change['from']} to {change['name']}")
        elif change["kind"] == "set validator":
            if change["collection"] not in db.list_collection_names():
                db.create_collection(change["collection"])
            db.command(
                "collMod",
                change["collection"],
                validator=change["validator"],
                validationLevel="strict",
                validationAction="error",
            )
            log(f"set the validator of {change['collection']}")
        elif change["kind"] == "extra index":
            log(
                f"left alone: index {change['collection']}.{change['name']} is not in the "
                "domain (drop it by hand if nobody needs it)"
            )
    ensure_views(db)
    mark_provisioned(db)
    return changes


class RefusedMigration(Exception):
    """apply would leave documents that violate the schema; nothing was changed."""


def check_domain(domain=None):
    """Problems in the domain modules, each naming its file and field; [] when sound.

    Needs no database: it reads the domain files only.
    """
    from cerberus import SchemaError

    from plumbing.validation import Validator

    domain = domain or build_domain()
    problems = []
    for resource, settings in domain.items():
        where = f"domain/{resource}.py"
        schema = settings.get("schema") or {}
        try:
            Validator(schema)
        except SchemaError as error:
            problems.append(f"{where}: invalid rules: {error}")
        for path, rules in _walk(jsonschema.object_schema(schema)):
            if "description" not in rules:
                problems.append(f"{where}: field {path}: no description")
            if "examples" not in rules and rules.get("type") not in ("object", "array"):
                problems.append(f"{where}: field {path}: no example")
            target = rules.get("x-resource")
            if target is not None and target not in domain:
                problems.append(
                    f"{where}: field {path}: data_relation to unknown resource {target!r}"
                )
        first_keys = set()
        for spec in (settings.get("mongo_indexes") or {}).values():
            keys, _ = _index_spec(spec)
            first_keys.add(keys[0][0])
        for name in settings.get("allowed_filters") or []:
            if name == "*":
                problems.append(f"{where}: allowed_filters must list fields, never '*'")
                continue
            top = name.split(".")[0]
            if top not in schema and not name.startswith("_"):
                problems.append(f"{where}: filter {name!r} is not a field of the resource")
            elif name not in first_keys and name not in ("_id", "_created", "_updated"):
                problems.append(
                    f"{where}: filter {name!r} has no index starting with it; clients "
                    "filtering on it scan the collection (add a mongo_indexes entry)"
                )
    return problems


def _walk(schema, prefix=""):
    """(path, JSON Schema) of every field, nested objects and lists of objects included."""
    for name, rules in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        yield path, rules
        if rules.get("properties") and not rules.get("format"):  # GeoJSON is not ours
            yield from _walk(rules, f"{path}.")
        elif (rules.get("items") or {}).get("properties"):
            yield from _walk(rules["items"], f"{path}[].")


def ensure_validators(db, log=print):
    """At start-up: set validators where a collection has none yet and all documents comply."""
    for resource, settings in build_domain().items():
        name = collection_name(resource, settings)
        validator = json_schema(resource, settings)
        live = _live_validator(db, name)
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
