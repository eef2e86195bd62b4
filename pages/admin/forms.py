"""Admin forms generated from the domain's fields (plumbing/jsonschema.form_fields)."""

import json

from flask import g
from flask_admin.form import SecureForm
from markupsafe import Markup
from wtforms import (
    BooleanField,
    FieldList,
    FloatField,
    Form,
    FormField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.utils import unset_value
from wtforms.validators import NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from pages.admin.access import managed
from plumbing.context import db


class JSONField(TextAreaField):
    """A nested document or list as JSON text: shown as JSON (never Python's repr), read back
    with a message naming the field when it is not JSON."""

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data in (None, ""):
            return ""
        return json.dumps(self.data, default=str, indent=1)

    def process_formdata(self, valuelist):
        raw = valuelist[0].strip() if valuelist else ""
        self.raw_data = valuelist
        if not raw:
            self.data = None
            return
        try:
            self.data = json.loads(raw)
        except ValueError as error:
            self.data = None
            raise ValueError(f"not valid JSON ({error.msg})") from None


class PointForm(Form):
    latitude = FloatField("latitude", validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField("longitude", validators=[Optional(), NumberRange(-180, 180)])


class PointField(FormField):
    """A GeoJSON Point as latitude and longitude boxes, and back."""

    def __init__(self, label, **kwargs):
        super().__init__(PointForm, label, **kwargs)

    def process(self, formdata, data=unset_value, extra_filters=None):
        if isinstance(data, dict) and "coordinates" in data:
            longitude, latitude = data["coordinates"][:2]
            data = {"latitude": latitude, "longitude": longitude}
        super().process(formdata, data, extra_filters)

    @property
    def point(self):
        values = self.form.data
        if values["latitude"] is None or values["longitude"] is None:
            return None
        return {"type": "Point", "coordinates": [values["longitude"], values["latitude"]]}


class CheckboxesField(SelectMultipleField):
    """A vocabulary (amenities) as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ReferenceField(SelectField):
    """A reference shown by name (hotel) or email (manager): choices filled per request."""

    def __init__(self, label, resource, **kwargs):
        super().__init__(label, choices=[], validate_choice=False, **kwargs)
        self.resource = resource


class ReferencesField(SelectMultipleField):
    def __init__(self, label, resource, **kwargs):
        super().__init__(label, choices=[], validate_choice=False, **kwargs)
        self.resource = resource


def _stacked(form_field, legend):
    """A sub-form as a fieldset of labelled inputs, one under another (a phone's width
    too); a sub-form inside it, its own fieldset."""
    return Markup(
        '<fieldset class="border rounded px-2 pb-1 mb-2">'
        '<legend class="h6 w-auto px-1 mb-1">{}</legend>{}</fieldset>'
    ).format(legend, _rows(form_field))


def _rows(form_field):
    """A sub-form's inputs, each under its label: three to a row on a desktop, one on a
    phone."""
    rows = []
    for sub in form_field.form:
        if isinstance(sub, FormField):
            rows.append(
                Markup('<div class="col-12">{}</div>').format(_stacked(sub, sub.label.text))
            )
        elif isinstance(sub, BooleanField):
            rows.append(
                Markup(
                    '<div class="col-12 mb-2"><div class="form-check">{} {}</div></div>'
                ).format(sub(class_="form-check-input"), sub.label(class_="form-check-label"))
            )
        else:
            invalid = " is-invalid" if sub.errors else ""
            errors = Markup("").join(
                Markup('<div class="invalid-feedback d-block">{}</div>').format(e)
                for e in sub.errors
            )
            rows.append(
                Markup('<div class="col-12 col-md-4 form-group mb-2">{}{}{}</div>').format(
                    sub.label(class_="mb-0"),
                    sub(class_="form-control form-control-sm" + invalid),
                    errors,
                )
            )
    return Markup('<div class="form-row">{}</div>').format(Markup("").join(rows))


class SubFormWidget:
    """A nested document (address, location, cancellation policy) as labelled inputs
    under the field's own label, in place of WTForms' table, whose cells Flask-Admin's
    `form-control` squeezed into one input's height (labels and help text overlapped)."""

    def __call__(self, field, **kwargs):  # noqa: ARG002 - Flask-Admin passes classes
        return Markup('<div class="border rounded px-2 pt-1 sub-form">{}</div>').format(
            _rows(field)
        )


class EntriesWidget:
    """A list's items, each a fieldset ("rate plan 1"), the last one empty to add one."""

    def __call__(self, field, **kwargs):  # noqa: ARG002 - Flask-Admin passes classes
        item = field.label.text.removesuffix("s")
        last = len(field.entries) - 1
        return Markup("").join(
            _stacked(
                entry,
                f"{item} {i + 1}"
                if i < last or filled(entry)
                else f"a new {item} (leave it empty for none)",
            )
            for i, entry in enumerate(field.entries)
        )


def _field(field):
    label = field["name"].replace("_", " ")
    described = {"description": field["description"], "validators": [Optional()]}
    kind = field["input"]
    if kind == "select":
        choices = [SelectChoice("", "")] + [SelectChoice(v, v) for v in field["options"]]
        return SelectField(label, choices=choices, **described)
    if kind == "multiselect":
        choices = [SelectChoice(v, v) for v in field["options"]]
        return CheckboxesField(label, choices=choices, **described)
    if kind == "integer":
        return IntegerField(label, **described)
    if kind == "boolean":
        # The domain's default ticks the box of a new document (Eve's default: True).
        return BooleanField(
            label, description=field["description"], default=bool(field.get("default"))
        )
    if kind == "object" and field.get("fields"):
        return FormField(
            sub_form(field["fields"]),
            label,
            description=field["description"],
            widget=SubFormWidget(),
        )
    if kind == "objects":
        # One sub-form per item, and an empty one to add an item (left empty: no item).
        entry = FormField(sub_form(field["fields"]))
        return FieldList(
            entry,
            label,
            description=field["description"],
            min_entries=1,
            widget=EntriesWidget(),
            max_entries=(field.get("max_items") or 20) + 1,
        )
    if field["kind"] == "geojson-point":
        return PointField(label, description=field["description"], widget=SubFormWidget())
    if kind == "reference" and field.get("resource") in CHOICES:
        return ReferenceField(label, field["resource"], **described)
    if kind == "list" and field.get("resource") in CHOICES:
        return ReferencesField(label, field["resource"], **described)
    if kind in ("object", "list"):
        return JSONField(label, **described)
    return StringField(label, **described)


def sub_form(fields):
    """A nested document's form (no CSRF token of its own: the outer form has one)."""
    return type("NestedForm", (Form,), {f["name"]: _field(f) for f in fields})


def domain_form(fields):
    """A WTForms form with a field per client-writable field (the converter's metadata)."""
    return type("DomainForm", (SecureForm,), {f["name"]: _field(f) for f in fields})


# How a reference is shown: the collection's label field and which documents qualify.
CHOICES = {
    "hotels": ("name", {}),
    "users": ("email", {"role": "manager"}),
}


def fill_choices(form):
    """Give reference fields their choices (names, emails) for this request."""
    for field in form:
        if isinstance(field, ReferenceField | ReferencesField):
            label, query = CHOICES[field.resource]
            scope = managed(g.user) if field.resource == "hotels" else None
            if scope is not None:
                query = {"_id": {"$in": sorted(scope)}}
            found = db()[field.resource].find(query, {label: 1}).sort(label, 1).limit(500)
            field.choices = [
                SelectChoice(str(d["_id"]), d.get(label, str(d["_id"]))) for d in found
            ]
            if isinstance(field, ReferenceField):
                field.choices.insert(0, SelectChoice("", ""))
                if field.data is not None:
                    field.data = str(field.data)
            else:
                field.data = [str(v) for v in field.data or []]
    return form


def _cleaned(value):
    """A sub-form's data without what was left empty (None, "", empty sub-forms)."""
    if isinstance(value, dict):
        kept = {k: _cleaned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", {})} or None
    return value


def filled(entry):
    """Whether an item's sub-form was filled in: a box ticked by default is not enough."""
    return any(
        filled(sub)
        if isinstance(sub, FormField)
        else any(filled(e) for e in sub.entries)
        if isinstance(sub, FieldList)
        else sub.data not in (None, "")
        for sub in entry.form
        if not isinstance(sub, BooleanField)
    )


def _input_of(field):
    return "boolean" if isinstance(field, BooleanField) else "text"


def form_value(field, spec):
    """What a form field sends to the API (None: leave the field out)."""
    if isinstance(field, PointField):
        return field.point
    if isinstance(field, FieldList):
        items = [_cleaned(entry.data) for entry in field.entries if filled(entry)]
        # None declared and none stored: leave the field out (its default holds).
        return items if items or field.object_data else None
    if isinstance(field, FormField):
        # A sub-form left empty (its boxes as they came) is no sub-document at all.
        if not filled(field):
            return None
        nested = {sub.short_name: form_value(sub, {"input": _input_of(sub)}) for sub in field.form}
        return _cleaned(nested)
    if isinstance(field, SelectMultipleField):
        return list(field.data or [])
    if field.data in (None, "") and spec["input"] != "boolean":
        return None
    return field.data
