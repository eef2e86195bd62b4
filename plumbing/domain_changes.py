"""The domain admin's side of provisioning (docs/domain-admins.md): check the domain
files, plan what applying them would change, apply it - refusing while existing
documents would violate a new rule unless a default or a migration fixes them first.
`flask --app run domain check | diff | apply` (cli/domain.py) runs these; unattended
start-up provisioning (plumbing/provisioning.py) only ever adds what is safe."""

import importlib
import pkgutil

from domain import build_domain
from domain.policy import VIEWS
from plumbing import jsonschema
from plumbing.provisioning import (
    collection_name,
    decimal_literals,
    ensure_views,
    index_spec,
    json_schema,
    key_of,
    live_validator,
    live_views,
    mark_provisioned,
)


def plan(db, examples=3):
    """What `apply` would change, without changing anything."""
    domain = build_domain()
    changes = []
    for resource, settings in domain.items():
        name = collection_name(resource, settings)
        collection = db[name]
        live_indexes = collection.index_information() if name in db.list_collection_names() else {}
        by_keys = {key_of(info): n for n, info in live_indexes.items()}
        wanted_names = set()
        for index_name, spec in (settings.get("mongo_indexes") or {}).items():
            keys, options = index_spec(spec)
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
        if live_validator(db, name) != validator:
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
    views = live_views(db)
    for view, (source, pipeline) in VIEWS.items():
        if views.get(view) != (source, decimal_literals(pipeline)):
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
            keys, _ = index_spec(spec)
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
