"""Eve's MongoDB layer, extended: typed money and dates, transactional inserts, clear errors.

What this module relies on beyond Eve's and pymongo's documented API, each for a reason
no public hook serves, pinned in requirements.lock (Eve 2.3.1, pymongo 4.20.0) and
checked by tests/plumbing/test_upstream.py, which fails when an upgrade changes them:

- `Mongo._change_request` (PATCH/PUT's write): wrapped to add the original's shard-key
  prefix to the write's filter and to turn a validator refusal into a 409 (Eve answers a
  bare 500); Eve has no hook between its checks and this write.
- `Mongo._datasource_ex` (the filter of every read and write): extended with that prefix
  while a change is in flight.
- `Mongo.insert`: rewritten, not wrapped, because the insert and the area's follow-up
  writes (`run_inside_insert`) share one transaction and Eve's insert takes no session.
- pymongo `Cursor._spec` (the filter Eve built): `_meta.total` counts with it, capped,
  instead of Eve's count fallback that pymongo 4 removed.
- `ParsedRequest.where` (public) is rewritten before Eve parses it: stay dates written
  as YYYY-MM-DD become the timestamps they are stored as.
"""

import contextvars
import json
import re
from contextlib import contextmanager

import pymongo.errors
from bson.errors import InvalidDocument
from eve.io.mongo import Mongo
from eve.io.mongo.mongo import MongoJSONEncoder
from eve.utils import config
from flask import abort, current_app, g
from pymongo.errors import ConnectionFailure, OperationFailure
from werkzeug.exceptions import HTTPException

from plumbing import jsonschema, sharding, transactions
from plumbing.errors import (
    DUPLICATE_KEY,
    Refusal,
    refused_by_validator,
    rules_changed,
    write_error_codes,
)
from plumbing.values import Day, decode_days, parse_money

_DAY_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class JSONEncoder(MongoJSONEncoder):
    """Stay dates render as YYYY-MM-DD; timestamps keep Eve's DATE_FORMAT."""

    def default(self, obj):
        if isinstance(obj, Day):
            return obj.isoformat()
        return super().default(obj)


COUNT_CAP = 10_001
_CHANGING = contextvars.ContextVar("innkeeper_changing", default=None)


@contextmanager
def noted_outage():
    """Eve runs validation (data_relation and unique lookups) inside `except Exception`
    and reports what it catches as the client's 422 or 400, driver text included. A
    database failure there is noted on the request, and answer_outages (plumbing/http.py)
    turns that answer into the 503 it is."""
    try:
        yield
    except (ConnectionFailure, OperationFailure) as error:
        if isinstance(error, ConnectionFailure) or error.timeout:
            g.database_outage = error
        raise  # pages reach the first 10,000 results (plumbing/http.py)


@contextmanager
def client_query():
    """The database refusing a query a client shaped is the client's 400, not our 500
    (plumbing/queries.py refuses what it can foresee first). Deadlines stay 503s."""
    try:
        yield
    except OperationFailure as error:
        if error.timeout:
            raise
        raise Refusal(
            400,
            "invalid query: the database cannot run it; check the operators and values "
            "in where, sort and projection",
        ) from None
    except (OverflowError, InvalidDocument):
        raise Refusal(400, "invalid query: a value in it cannot be stored in BSON") from None


class _DecodingCursor:
    """A pymongo cursor whose documents come out with their stay dates as Day."""

    def __init__(self, cursor, schema):
        self._cursor, self._schema = cursor, schema

    def __iter__(self):
        with client_query():
            for document in self._cursor:
                yield decode_days(document, self._schema)

    def __getitem__(self, index):
        with client_query():
            return decode_days(self._cursor[index], self._schema)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class _Page:
    """A list page, read at once: its total is known without a count when the page is
    not full (skip + what came back), which is most lists of a city's hotels, a room
    type's nights or a guest's bookings. Only a full (or empty, past-the-end) page
    needs the count query."""

    def __init__(self, cursor, schema, skip, limit):
        self._cursor = cursor
        self.documents = [decode_days(document, schema) for document in cursor]
        found = len(self.documents)
        partial = limit and found < limit and (found or not skip)
        self.total = skip + found if partial else None

    def __iter__(self):
        return iter(self.documents)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


def _is_day_field(fields, dotted):
    for part in dotted.split("."):
        if not isinstance(fields, dict) or part not in fields:
            return False
        fields = fields[part]
    return fields is True


def _where_days_to_timestamps(node, fields):
    """?where={"date": {"$gte": "2026-12-01"}} -> Eve's DATE_FORMAT so Eve casts it to a date."""
    if isinstance(node, list):
        return [_where_days_to_timestamps(n, fields) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key.startswith("$"):
            out[key] = _where_days_to_timestamps(value, fields)
        elif _is_day_field(fields, key):
            out[key] = _cast_day_operands(value)
        else:
            out[key] = value
    return out


def _dotted(fields, prefix=""):
    for name, inner in fields.items():
        if inner is True:
            yield prefix + name
        else:
            yield from _dotted(inner, f"{prefix}{name}.")


def _cast_day_operands(value):
    # plumbing/queries.py has refused anything in a day field that is not a real date.
    if isinstance(value, str) and _DAY_RE.match(value):
        return f"{value}T00:00:00Z"  # DATE_FORMAT; strftime would drop year 0001's zeros
    if isinstance(value, dict):
        return {k: _cast_day_operands(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cast_day_operands(v) for v in value]
    return value


def duplicate_message(resource, error):
    details = getattr(error, "details", None) or {}
    write_errors = details.get("writeErrors") or [details]
    key = write_errors[0].get("keyPattern") or write_errors[0].get("keyValue") or {}
    fields = [k for k in key if not k.startswith("_")] or ["key"]
    return f"{resource} already has a document with the same {', '.join(fields)}"


def is_duplicate(error):
    return DUPLICATE_KEY in write_error_codes(error)


def strict_integer(value):
    """Eve's serializer runs int() on anything, silently turning 4.5 into 4 and "2" into
    2; an integer field takes a JSON integer (2, or 2.0, which JSON Schema counts as the
    integer 2), as the OpenAPI document says. Everything else is left for validation to
    refuse with the field's name."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("not a whole number")
    if isinstance(value, float):
        return int(value)  # 2.0 is the integer 2 in JSON (and JSON Schema), not 2.5
    return value


class MongoLayer(Mongo):
    serializers = dict(Mongo.serializers, money=parse_money, day=Day.parse, integer=strict_integer)
    json_encoder_class = JSONEncoder

    def __init__(self, app):
        super().__init__(app)
        self._insert_steps, self._change_steps, self._remove_steps = {}, {}, {}
        self._day_fields, self._schemas = {}, {}

    def _change_request(self, resource, id_, changes, original, replace=False):
        """Eve's PATCH/PUT write, filtered by _id and etag - and, for a sharded
        collection, the shard-key prefix of the original (plumbing/sharding.py), so a
        sharded cluster sends it to one shard."""
        token = _CHANGING.set(original)
        try:
            return super()._change_request(resource, id_, changes, original, replace)
        except HTTPException as error:  # Eve turns a validator refusal into a bare 500
            if refused_by_validator(error):
                raise rules_changed() from error
            raise
        finally:
            _CHANGING.reset(token)

    def _datasource_ex(self, resource, query=None, *args, **kwargs):
        original = _CHANGING.get()
        if original is not None and query is not None:
            source = self.datasource(resource)[0]
            query = {**sharding.prefix_of(source, original), **query}
        return super()._datasource_ex(resource, query, *args, **kwargs)

    def run_inside_insert(self, resource, step):
        """Run step(session, documents) in the same transaction as the resource's insert.

        The transaction is retried on transient conflicts, so the step must be
        safe to run again; if it raises, nothing it or the insert wrote survives.
        """
        self._insert_steps[resource] = step

    def run_inside_change(self, resource, step):
        """Run step(session, changes, original) in the same transaction as every PATCH
        and PUT of one of the resource's documents (`changes`: the fields written, or the
        whole new document), whoever writes it through Eve - the API or the admin. What
        must follow the change (copies of its fields, KPI records) then commits with it
        or not at all. Retried on transient conflicts, so the step must be safe to rerun."""
        self._change_steps[resource] = step

    def run_inside_remove(self, resource, step):
        """Run step(session, documents) - the documents about to go, read in the
        transaction - in the same transaction as their DELETE; if it raises (a refusal),
        nothing is deleted."""
        self._remove_steps[resource] = step

    def update(self, resource, id_, updates, original):
        if resource not in self._change_steps:
            return super().update(resource, id_, updates, original)
        return self._change_with_step(resource, id_, {"$set": updates}, updates, original)

    def replace(self, resource, id_, document, original):
        if resource not in self._change_steps:
            return super().replace(resource, id_, document, original)
        return self._change_with_step(resource, id_, document, document, original, replace=True)

    def _change_with_step(self, resource, id_, write, changes, original, replace=False):
        """Eve's guarded write (by _id and the etag read) and the resource's step, in one
        transaction; a stale etag is Eve's OriginalChangedError (412), as for Eve's own."""
        query = {config.DOMAIN[resource]["id_field"]: id_}
        if config.ETAG in original:
            query[config.ETAG] = original[config.ETAG]
        token = _CHANGING.set(original)  # the shard-key prefix (_datasource_ex)
        try:
            datasource, filter_, _, _ = self._datasource_ex(resource, query)
        finally:
            _CHANGING.reset(token)
        collection = self.get_collection_with_write_concern(datasource, resource)
        step = self._change_steps[resource]

        def unit(session):
            if replace:
                result = collection.replace_one(filter_, write, session=session)
            else:
                result = collection.update_one(filter_, write, session=session)
            if result.matched_count != 1:
                raise self.OriginalChangedError()
            step(session, changes, original)

        self._in_transaction(collection, unit, resource)

    def _in_transaction(self, collection, unit, resource):
        """Run a write's transaction. Eve's PATCH, PUT and DELETE turn any exception that
        is not an HTTP one into a 400 ("An exception occurred"): a database that failed,
        or a step that broke, is said here as what it is - a 503 to retry, or a 500."""
        try:
            return transactions.run(collection.database.client, unit)
        except (HTTPException, self.OriginalChangedError):
            raise
        except pymongo.errors.DuplicateKeyError as error:
            abort(409, description=duplicate_message(resource, error))
        except pymongo.errors.PyMongoError as error:
            if refused_by_validator(error):
                raise rules_changed() from error
            current_app.logger.warning("a %s write's transaction failed: %s", resource, error)
            raise Refusal(
                503,
                "the database did not complete the change; nothing was written, retry shortly",
                headers={"Retry-After": "2"},
            ) from error
        except Exception as error:
            current_app.logger.exception("a %s write's transaction failed", resource)
            raise Refusal(
                500, "internal error; it has been logged; nothing was written"
            ) from error

    def remove(self, resource, lookup):
        step = self._remove_steps.get(resource)
        if step is None:
            return super().remove(resource, lookup)
        datasource, filter_, _, _ = self._datasource_ex(
            resource, self._mongotize(lookup, resource)
        )
        collection = self.get_collection_with_write_concern(datasource, resource)

        def unit(session):
            step(session, list(collection.find(filter_, session=session)))
            return collection.delete_many(filter_, session=session)

        return self._in_transaction(collection, unit, resource)

    def json_schema(self, resource):
        """The resource's JSON Schema (the one converter's), built once per app."""
        if resource not in self._schemas:
            self._schemas[resource] = jsonschema.resource_schema(config.DOMAIN[resource])
        return self._schemas[resource]

    def _schema(self, resource):
        """Where the resource's stay dates are: {"check_in": True, "nightly_prices": {...}}."""
        if resource not in self._day_fields:
            self._day_fields[resource] = jsonschema.day_fields(self.json_schema(resource))
        return self._day_fields[resource]

    def day_paths(self, resource):
        """The stay-date fields as dotted paths: {"check_in", "nightly_prices.date"}."""
        return set(_dotted(self._schema(resource)))

    def find(self, resource, req, sub_resource_lookup, perform_count=True):
        if req is not None and req.where:
            try:
                parsed = json.loads(req.where)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                req.where = json.dumps(_where_days_to_timestamps(parsed, self._schema(resource)))
        with client_query():
            cursor, _ = super().find(resource, req, sub_resource_lookup, perform_count=False)
            if not perform_count:
                return _DecodingCursor(cursor, self._schema(resource)), None
            # Eve's paging (eve/io/mongo/mongo.py find): limit max_results, skip the pages
            # before; read from the request, not from the cursor's private fields.
            limit = req.max_results if req is not None else 0
            skip = (req.page - 1) * limit if req is not None and req.page > 1 else 0
            page = _Page(cursor, self._schema(resource), skip, limit)
            count = page.total if page.total is not None else self._count(cursor)
        return page, count

    @staticmethod
    def _count(cursor):
        """_meta.total, cheaply. Counted here rather than by Eve, whose fallback on any
        error calls the Collection.count() that pymongo 4 removed (an outage became a 500).

        No filter: the collection's estimated count (metadata, no scan). A filter: an
        exact count up to COUNT_CAP - past it, the total says "more than 10,000", as far
        as pages reach anyway. pymongo keeps the filter Eve built on the cursor.
        """
        spec = cursor._spec  # noqa: SLF001 - pymongo has no public accessor (test_upstream)
        if not spec:
            return cursor.collection.estimated_document_count()
        return cursor.collection.count_documents(spec, limit=COUNT_CAP)

    def find_one(self, resource, req, *args, **kwargs):
        with noted_outage():
            document = super().find_one(resource, req, *args, **kwargs)
        return decode_days(document, self._schema(resource)) if document else document

    def insert(self, resource, doc_or_docs):
        documents = [doc_or_docs] if isinstance(doc_or_docs, dict) else list(doc_or_docs)
        datasource, _, _, _ = self._datasource_ex(resource)
        collection = self.get_collection_with_write_concern(datasource, resource)
        step = self._insert_steps.get(resource)
        try:
            if step is None:
                return collection.insert_many(documents, ordered=True).inserted_ids

            def unit_of_work(session):
                step(session, documents)
                return collection.insert_many(documents, ordered=True, session=session)

            return transactions.run(collection.database.client, unit_of_work).inserted_ids
        except (pymongo.errors.DuplicateKeyError, pymongo.errors.BulkWriteError) as error:
            if is_duplicate(error):
                abort(409, description=duplicate_message(resource, error))
            if refused_by_validator(error):
                raise rules_changed() from error
            raise
