"""/admin: Flask-Admin over pymongo, for admins and hotel managers.

Managers sign in too and see only their hotels, their room types, their inventory (the
calendar) and their hotels' bookings and payments (read-only), by the same rules as the
API; users and the raw inventory list are for admins.

Lists, filters and search come from Flask-Admin; every write goes through Eve's own
post/patch/delete (post_internal and friends), so the admin meets the same Cerberus
validation and hooks as the API and cannot bypass a booking rule. Forms are generated
from domain/, and carry CSRF tokens; sign-in is a session cookie (SameSite=Strict).
"""

import json

from bson import ObjectId
from eve.methods.delete import deleteitem_internal
from eve.methods.patch import patch_internal
from eve.methods.post import post_internal
from flask import abort, flash, g, redirect, request, session, url_for
from flask_admin import Admin, AdminIndexView, BaseView, expose
from flask_admin.contrib.pymongo import ModelView, filters
from flask_admin.form import SecureForm
from flask_admin.theme import Bootstrap4Theme
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from wtforms import (
    BooleanField,
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

from catalogue import rules
from identity import accounts
from plumbing import jsonschema
from plumbing.context import db
from plumbing.errors import Refusal
from plumbing.values import Day, today
from reporting import dashboard

ADMIN_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
)


OPERATORS = ("admin", "manager")


def current_operator():
    """The signed-in admin or manager (session), re-read so a demotion or a password
    change ends the session."""
    return accounts.user_for_session(
        db(), session.get("admin_id"), session.get("admin_tv"), OPERATORS
    )


def managed(user):
    """The hotel ids a manager runs; None (every hotel) for an admin."""
    return None if user["role"] == "admin" else set(rules.managed_hotel_ids(db(), user))


class AdminOnly:
    """Who may open a view: `roles` (admins only unless a view says managers too)."""

    roles = ("admin",)

    def is_accessible(self):
        user = current_operator()
        if user is not None:
            g.user = user
        return user is not None and user["role"] in self.roles

    def is_visible(self):
        user = g.get("user") or current_operator()
        return user is not None and user["role"] in self.roles

    def inaccessible_callback(self, name, **kwargs):
        if current_operator() is not None:  # signed in, but not for this page
            abort(403, description="this page is for admins")
        return redirect(url_for("admin.login", next=request.path))


class HomeView(AdminOnly, AdminIndexView):
    roles = OPERATORS

    @expose("/")
    def index(self):
        """The dashboard: today's arrivals and departures, the next 30 days' occupancy,
        ADR and RevPAR (from the kept KPIs), the latest bookings and payments."""
        database, hotels = db(), managed(g.user)
        arriving, leaving = dashboard.arrivals_and_departures(database, hotels)
        days, figures = dashboard.next_days(database, hotels)
        latest = dashboard.recent(database, "bookings", hotels)
        payments = dashboard.recent(database, "payments", hotels)
        names = dashboard.hotel_names(
            database, {b["hotel"] for b in arriving + leaving + latest + payments}
        )
        return self.render(
            "admin_dashboard.html",
            arriving=arriving,
            leaving=leaving,
            days=days,
            figures=figures,
            latest=latest,
            payments=payments,
            names=names,
            chart=occupancy_chart(days),
            money=money_charts(figures),
        )

    @expose("/login", methods=["GET", "POST"])
    def login(self):
        form = LoginForm(request.form)
        if request.method == "POST" and form.validate():
            user = accounts.authenticate(db(), form.email.data, form.password.data)
            if user is not None and user.get("role") in OPERATORS:
                session.clear()
                session["admin_id"] = str(user["_id"])
                session["admin_tv"] = user.get("token_version", 0)
                return redirect(url_for("admin.index"))
            flash(
                "email or password is incorrect, or the account is neither an admin nor a "
                "hotel manager",
                "error",
            )
        return self.render("admin_login.html", form=form)

    @expose("/logout")
    def logout(self):
        session.clear()
        return redirect(url_for("admin.login"))

    def is_accessible(self):
        if request.endpoint in ("admin.login", "admin.logout"):
            return True
        return super().is_accessible()


BAR = Markup(
    '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="#2f6f9f">'
    "<title>{}</title></rect>"
)
CHART = Markup(
    '<svg role="img" aria-label="{}" viewBox="0 0 {} {}" width="100%" height="{}">{}</svg>'
)


def bar_chart(points, title, width=600, height=120):
    """An SVG bar chart (no script, no CDN) of [(label, value or None)], each bar titled
    with its label; Markup.format escapes every value it is given."""
    top = max((float(v) for _label, v in points if v is not None), default=0) or 1
    step = width / max(len(points), 1)
    bars = []
    for i, (label, value) in enumerate(points):
        bar = max(float(value or 0) / top * height, 1)
        bars.append(BAR.format(i * step + 1, height - bar, step - 2, bar, label))
    return CHART.format(title, width, height, height, Markup("").join(bars))


def occupancy_chart(days):
    points = [
        (
            f"{d['date']}: {(d['occupancy'] or 0):.0%} ({d['rooms_sold']}/{d['rooms_available']})",
            d["occupancy"],
        )
        for d in days
    ]
    return bar_chart(points, f"Occupancy of the next {len(days)} nights")


def money_charts(figures):
    """{currency: (ADR chart, RevPAR chart)} night by night."""
    charts = {}
    for currency, figure in figures.items():
        adr = [
            (f"{night}: ADR {value} {currency}", value) for night, value, _r in figure["nights"]
        ]
        revpar = [
            (f"{night}: RevPAR {value} {currency}", value) for night, _a, value in figure["nights"]
        ]
        charts[currency] = (
            bar_chart(adr, f"ADR per night in {currency}", height=80),
            bar_chart(revpar, f"RevPAR per night in {currency}", height=80),
        )
    return charts


class CalendarForm(SecureForm):
    """A range of nights to set at once, as PUT /room-types/<id>/inventory does."""

    room_type = StringField("room type")
    first = StringField("first night", render_kw={"type": "date"})
    last = StringField("last night", render_kw={"type": "date"})
    price = StringField("price")
    allotment = IntegerField("rooms to sell", validators=[Optional()])
    closed = BooleanField("closed")
    min_stay = IntegerField("minimum stay", validators=[Optional()])


class CalendarView(AdminOnly, BaseView):
    """The inventory calendar: a month of one room type's nights (price, rooms to sell,
    booked, closed) and a range edit through the same service as the range PUT."""

    roles = OPERATORS

    @expose("/", methods=["GET", "POST"])
    def index(self):
        database = db()
        choices = rules.room_types_with_hotels(database, managed(g.user))
        chosen = request.values.get("room_type") or (str(choices[0][0]["_id"]) if choices else "")
        form = CalendarForm(request.form)
        if request.method == "POST" and form.validate():
            self._set_range(database, form)
            return redirect(url_for(".index", room_type=chosen, month=request.values.get("month")))
        month = _month(request.args.get("month"))
        first, end = month, _next_month(month)
        if choices and chosen not in {str(rt["_id"]) for rt, _hotel in choices}:
            abort(404, description=f"room type {chosen} not found among yours")
        rows = rules.inventory_nights(database, ObjectId(chosen), first, end) if choices else {}
        return self.render(
            "admin_calendar.html",
            form=form,
            choices=choices,
            chosen=chosen,
            month=month,
            previous=_month_before(month),
            following=end,
            weeks=_weeks(first, end),
            rows=rows,
        )

    def _set_range(self, database, form):
        body = {
            "from": form.first.data,
            "to": _day_after(form.last.data),
            "price": form.price.data,
            "allotment": form.allotment.data,
            "closed": bool(form.closed.data),
            "min_stay": form.min_stay.data or 1,
        }
        try:
            values = rules.parse_range(body)
            if not ObjectId.is_valid(form.room_type.data or ""):
                raise Refusal(422, "choose a room type", {"room_type": "required"})
            result = rules.set_inventory_range(
                database.client, database, ObjectId(form.room_type.data), values, g.user
            )
        except Refusal as refusal:
            issues = "; ".join(f"{k}: {v}" for k, v in (refusal.issues or {}).items())
            flash(
                f"{refusal.status}: {refusal.message}" + (f" ({issues})" if issues else ""),
                "error",
            )
            return
        counts = f"{result['created']} new, {result['updated']} changed"
        flash(f"{result['nights']} nights set ({counts})", "success")


def _month(text):
    try:
        day = Day.parse(f"{text}-01") if text else today()
    except ValueError:
        day = today()
    return Day(day.year, day.month, 1)


def _next_month(month):
    return Day(month.year + month.month // 12, month.month % 12 + 1, 1)


def _month_before(month):
    return Day(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def _weeks(first, end):
    """Weeks (Monday first) of the month's nights; None pads the first and last."""
    cells = [None] * first.weekday() + [first.plus(i) for i in range((end - first).days)]
    cells += [None] * (-len(cells) % 7)
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]


def _day_after(text):
    try:
        return Day.parse(text).plus(1).isoformat()
    except (TypeError, ValueError):
        return text  # parse_range names the field


class LoginForm(SecureForm):
    email = StringField("email")
    password = StringField("password", render_kw={"type": "password"})


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
        return BooleanField(label, description=field["description"])
    if kind == "object" and field.get("fields"):
        return FormField(sub_form(field["fields"]), label, description=field["description"])
    if field["kind"] == "geojson-point":
        return PointField(label, description=field["description"])
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


def form_value(field, spec):
    """What a form field sends to the API (None: leave the field out)."""
    if isinstance(field, PointField):
        return field.point
    if isinstance(field, FormField):
        nested = {
            sub.name.split(field.separator, 1)[1]: sub.data
            for sub in field.form
            if sub.data not in (None, "")
        }
        return nested or None
    if isinstance(field, SelectMultipleField):
        return list(field.data or [])
    if field.data in (None, "") and spec["input"] != "boolean":
        return None
    return field.data


class DomainView(AdminOnly, ModelView):
    """A collection's list, filters and search; writes through Eve's own methods."""

    form_base_class = SecureForm
    page_size = 25

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
            filters.FilterEqual(field, field)
            for field in settings.get("allowed_filters", [])
            if not field.startswith("_")
        ] or None
        # Before Flask-Admin's constructor, which builds its caches from these.
        self.column_searchable_list = SEARCHABLE.get(resource)
        for option, value in LISTS.get(resource, {}).items():
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
        return fill_choices(super().edit_form(obj))

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


def _hotel(view, context, model, name):  # noqa: ARG001
    hotel = db().hotels.find_one({"_id": model.get("hotel")}, {"name": 1})
    return hotel["name"] if hotel else str(model.get("hotel", ""))


def _guest(view, context, model, name):  # noqa: ARG001
    user = db().users.find_one({"_id": model.get("guest")}, {"email": 1})
    return user["email"] if user else str(model.get("guest", ""))


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
            "hotel": _hotel,
            "check_in": _day,
            "check_out": _day,
            "total_price": _money,
        },
        "column_sortable_list": ["check_in", "status", "confirmation_code"],
    },
    "payments": {
        "column_list": [
            "_created",
            "guest",
            "hotel",
            "purpose",
            "status",
            "amount",
            "failure_reason",
        ],
        "column_formatters": {"guest": _guest, "hotel": _hotel, "amount": _money},
    },
    "inventory": {
        "column_list": ["room_type", "hotel", "date", "price", "allotment", "booked", "closed"],
        "column_formatters": {"hotel": _hotel, "date": _day, "price": _money},
    },
    "users": {"column_list": ["email", "name", "role", "_created"]},
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
FOR_MANAGERS = {"hotels", "room_types", "bookings", "payments", "reviews"}
READ_ONLY = {"bookings", "payments", "reviews"}
EDITABLE_ONLY = {"users": ["role", "name"]}


def init_app(app):
    """Mount /admin with a view per domain resource."""
    admin = Admin(
        app,
        name="Innkeeper admin",
        index_view=HomeView(url="/admin"),
        theme=Bootstrap4Theme(base_template="admin_base.html"),
    )
    with app.app_context():
        db = app.data.driver.db
        for resource, settings in app.config["DOMAIN"].items():
            view_class = ReadOnlyView if resource in READ_ONLY else DomainView
            view = view_class(
                db[settings.get("datasource", {}).get("source", resource)],
                resource,
                settings,
                name=resource.replace("_", " "),
                endpoint=f"admin_{resource}",
                url=f"/admin/{settings.get('url', resource)}",
                only=EDITABLE_ONLY.get(resource),
            )
            if resource in FOR_MANAGERS:
                view.roles = OPERATORS
            if resource == "users":
                view.can_create = view.can_delete = False
            admin.add_view(view)
        admin.add_view(
            CalendarView(name="inventory calendar", endpoint="calendar", url="/admin/calendar")
        )
    # Set, not setdefault: Flask defines the key (None), so a default would never apply.
    app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    app.config["SESSION_COOKIE_HTTPONLY"] = True

    @app.after_request
    def admin_csp(response):
        if request.path.startswith("/admin"):
            response.headers["Content-Security-Policy"] = ADMIN_CSP
        return response

    return admin
