"""The CRUD views over Eve's own writes, and the list columns of each collection."""

from datetime import datetime
from decimal import Decimal

from bson import Decimal128, ObjectId
from bson import errors as bson_errors
from eve.methods.delete import deleteitem_internal
from eve.methods.patch import patch_internal
from eve.methods.post import post_internal
from flask import flash, g, request
from flask_admin.contrib.pymongo import ModelView, filters
from flask_admin.form import SecureForm
from werkzeug.exceptions import HTTPException
from wtforms import FieldList

from pages.admin.access import AdminOnly, managed
from pages.admin.forms import domain_form, fill_choices, filled, form_value
from plumbing import jsonschema
from plumbing.context import db
from plumbing.values import Day


def _kind_of(settings, dotted):
    """The Cerberus type of a (dotted) field of the resource: what its filter parses."""
    rules = {"schema": settings["schema"]}
    for part in dotted.split("."):
        rules = (rules.get("schema") or {}).get(part) or {}
        if rules.get("type") == "list" and isinstance(rules.get("schema"), dict):
            rules = rules["schema"]  # a list matches any of its items
    return rules.get("type", "string")


# How a filter's text becomes the stored value: a hotel id, 4 stars, a night. Text that
# does not parse is not applied (Flask-Admin calls validate first), never a 500.
PARSERS = {
    "objectid": ObjectId,
    "integer": int,
    "number": float,
    "day": Day.parse,
    "datetime": datetime.fromisoformat,
    "money": lambda text: Decimal128(str(Decimal(text))),
    "boolean": lambda text: text.lower() in ("1", "true", "yes"),
}


class TypedEqual(filters.FilterEqual):
    """Equality on a typed field: Flask-Admin's pymongo filter compares the text as it
    came (a hotel id string never equals an ObjectId, "4" never equals 4)."""

    def __init__(self, column, name, kind):
        super().__init__(column, name)
        self.parse = PARSERS.get(kind, str)

    def validate(self, value):
        try:
            self.parse(value)
        except (ValueError, TypeError, ArithmeticError, bson_errors.InvalidId):
            return False
        return True

    def clean(self, value):
        return self.parse(value)


class DomainView(AdminOnly, ModelView):
    """A collection's list, filters and search; writes through Eve's own methods."""

    form_base_class = SecureForm
    page_size = 25
    list_options = {}  # a subclass's own LISTS entry: columns, labels, formatters

    def __init__(self, collection, resource, settings, **kwargs):
        self.resource = resource
        schema = jsonschema.resource_schema(settings)
        self._fields = jsonschema.form_fields(schema, only=kwargs.pop("only", None))
        self.column_list = ["_id"] + [
            name
            for name, rules in schema["properties"].items()
            if not name.startswith("_") and rules.get("type") not in ("object", "array")
        ][:7]
        self.column_filters = [
            TypedEqual(field, field.replace(".", " ").replace("_", " "), _kind_of(settings, field))
            for field in settings.get("allowed_filters", [])
            if not field.startswith("_")
        ] or None
        # Before Flask-Admin's constructor, which builds its caches from these.
        self.column_searchable_list = SEARCHABLE.get(resource)
        for option, value in {**LISTS.get(resource, {}), **self.list_options}.items():
            setattr(self, option, value)
        self.simple_list_pager = resource in UNCOUNTED
        super().__init__(collection, **kwargs)

    def scaffold_form(self):
        return domain_form(self._fields)

    def _scope(self):
        """A manager's rows: their hotels, or what belongs to them; None for an admin."""
        hotels = managed(g.user)
        if hotels is None:
            return None
        key = "_id" if self.resource == "hotels" else "hotel"
        return {key: {"$in": sorted(hotels)}}

    def get_query(self):
        return self._scope() or {}

    def search_placeholder(self):
        fields = ", ".join(f.replace("_", " ") for f in self.column_searchable_list or ())
        return f"search by {fields}" if fields else None

    def get_one(self, id):  # noqa: A002 - Flask-Admin's name
        found = super().get_one(id)
        scope = self._scope()
        if found is None or scope is None:
            return found
        key = next(iter(scope))
        return found if found.get(key) in scope[key]["$in"] else None

    def _payload(self, form):
        payload = {}
        for spec in self._fields:
            field = getattr(form, spec["name"], None)
            if field is None:
                continue
            value = form_value(field, spec)
            if value is not None:
                payload[spec["name"]] = value
        return payload

    def create_form(self, obj=None):
        return fill_choices(super().create_form(obj))

    def edit_form(self, obj=None):
        form = fill_choices(super().edit_form(obj))
        if request.method == "GET":  # an empty sub-form under a list's items, to add one
            for field in form:
                if (
                    isinstance(field, FieldList)
                    and len(field.entries) < field.max_entries
                    and all(filled(entry) for entry in field.entries)
                ):
                    field.append_entry()
        return form

    def _report(self, response, status):
        if status >= 400:
            issues = response.get("_issues") or {}
            message = (response.get("_error") or {}).get("message") or "refused"
            flash(
                f"{status}: {message} " + "; ".join(f"{k}: {v}" for k, v in issues.items()),
                "error",
            )
            return False
        return True

    def _through_eve(self, write):
        """Run one of Eve's internal writes; flash what it refused, field by field."""
        try:
            result = write()
        except ValueError as error:
            flash(f"invalid JSON: {error}", "error")
            return None
        except HTTPException as error:  # refusals raised by hooks
            self._report({"_error": {"message": error.description}}, error.code or 400)
            return None
        response, status = result[0], result[3]
        return response if self._report(response, status) else None

    def create_model(self, form):
        created = self._through_eve(lambda: post_internal(self.resource, self._payload(form)))
        return created if created is not None else False

    def update_model(self, form, model):
        updated = self._through_eve(
            lambda: patch_internal(
                self.resource,
                self._payload(form),
                concurrency_check=False,
                skip_validation=False,
                _id=model["_id"],
            )
        )
        return updated is not None

    def delete_model(self, model):
        try:
            deleteitem_internal(self.resource, concurrency_check=False, _id=model["_id"])
        except HTTPException as error:  # refusals raised by hooks
            return self._report({"_error": {"message": error.description}}, error.code or 400)
        return True


class ReadOnlyView(DomainView):
    can_create = can_edit = can_delete = False


def _day(view, context, model, name):  # noqa: ARG001 - Flask-Admin's formatter signature
    value = model.get(name)
    return Day.of(value).isoformat() if value else ""


def _money(view, context, model, name):  # noqa: ARG001
    value = model.get(name)
    return f"{value} {model.get('currency', '')}" if value is not None else ""


def hotel_name(view, context, model, name):  # noqa: ARG001
    hotel = db().hotels.find_one({"_id": model.get("hotel")}, {"name": 1})
    return hotel["name"] if hotel else str(model.get("hotel", ""))


def _guest(view, context, model, name):  # noqa: ARG001
    user = db().users.find_one({"_id": model.get("guest")}, {"email": 1})
    return user["email"] if user else str(model.get("guest", ""))


def _booking_code(view, context, model, name):  # noqa: ARG001
    """A payment's booking by the code the front desk and the guest know it by."""
    booking = db().bookings.find_one(
        {"_id": model.get("booking"), "guest": model.get("guest")}, {"confirmation_code": 1}
    )
    return booking["confirmation_code"] if booking else str(model.get("booking", ""))


def _dispute(view, context, model, name):  # noqa: ARG001
    """A chargeback to answer in the provider's dashboard: its reason, amount and status."""
    dispute = model.get("dispute")
    if not dispute:
        return ""
    amount = _money(view, context, {**dispute, "currency": model.get("currency")}, "amount")
    return f"{dispute.get('reason')}: {amount} ({dispute.get('status')})"


LISTS = {
    "bookings": {
        "column_list": [
            "confirmation_code",
            "guest",
            "hotel",
            "check_in",
            "check_out",
            "nights",
            "status",
            "total_price",
            "dispute",
            "debt",
        ],
        "column_formatters": {
            "dispute": _dispute,
            "debt": _money,
            "guest": _guest,
            "hotel": hotel_name,
            "check_in": _day,
            "check_out": _day,
            "total_price": _money,
        },
        "column_sortable_list": ["check_in", "status", "confirmation_code"],
    },
    "payments": {
        "column_list": [
            "_created",
            "booking",
            "guest",
            "hotel",
            "purpose",
            "status",
            "amount",
            "refunded_amount",
            "failure_reason",
        ],
        "column_labels": {"booking": "Booking", "refunded_amount": "Refunded"},
        "column_formatters": {
            "booking": _booking_code,
            "guest": _guest,
            "hotel": hotel_name,
            "amount": _money,
            "refunded_amount": _money,
        },
    },
    "inventory": {
        "column_list": ["room_type", "hotel", "date", "price", "allotment", "booked", "closed"],
        "column_formatters": {"hotel": hotel_name, "date": _day, "price": _money},
    },
    "users": {"column_list": ["email", "name", "role", "_created"]},
    "exchange_rates": {
        "column_list": ["currency", "rate", "as_of", "_updated"],
        "column_labels": {"rate": "Units per euro", "_updated": "Changed"},
        "column_formatters": {"as_of": _day},
        "column_sortable_list": ["currency", "as_of"],
    },
}


# Too big to count on every page: a pager without a total (no count of the collection).
UNCOUNTED = {"inventory", "bookings", "payments", "reviews"}


SEARCHABLE = {
    "hotels": ["name"],
    "room_types": ["name"],
    "users": ["email", "name"],
    "bookings": ["confirmation_code"],
}


# What managers see (scoped to their hotels); the rest is for admins.
FOR_MANAGERS = {"hotels", "room_types", "bookings", "payments", "reviews", "webhook_endpoints"}


READ_ONLY = {"bookings", "payments", "reviews"}


EDITABLE_ONLY = {"users": ["role", "name"]}
