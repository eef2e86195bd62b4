"""/admin: Flask-Admin over pymongo, for role admin only.

Lists, filters and search come from Flask-Admin; every write goes through Eve's own
post/patch/delete (post_internal and friends), so the admin meets the same Cerberus
validation and hooks as the API and cannot bypass a booking rule. Forms are generated
from domain/, and carry CSRF tokens; sign-in is a session cookie (SameSite=Strict).
"""

import json

from eve.methods.delete import deleteitem_internal
from eve.methods.patch import patch_internal
from eve.methods.post import post_internal
from flask import flash, g, redirect, request, session, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.contrib.pymongo import ModelView, filters
from flask_admin.form import SecureForm
from werkzeug.exceptions import HTTPException
from wtforms import (
    BooleanField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from identity import accounts
from plumbing import jsonschema
from plumbing.auth import db

ADMIN_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
)


def current_admin():
    """The signed-in admin (session), re-read so a demotion or password change ends it."""
    return accounts.user_for_session(
        db(), session.get("admin_id"), session.get("admin_tv"), role="admin"
    )


class AdminOnly:
    def is_accessible(self):
        user = current_admin()
        if user is not None:
            g.user = user
        return user is not None

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("admin.login", next=request.path))


class HomeView(AdminOnly, AdminIndexView):
    @expose("/")
    def index(self):
        return super().index()

    @expose("/login", methods=["GET", "POST"])
    def login(self):
        form = LoginForm(request.form)
        if request.method == "POST" and form.validate():
            user = accounts.authenticate(db(), form.email.data, form.password.data)
            if user is not None and user.get("role") == "admin":
                session.clear()
                session["admin_id"] = str(user["_id"])
                session["admin_tv"] = user.get("token_version", 0)
                return redirect(url_for("admin.index"))
            flash("email or password is incorrect, or the account is not an admin", "error")
        return self.render("admin_login.html", form=form)

    @expose("/logout")
    def logout(self):
        session.clear()
        return redirect(url_for("admin.login"))

    def is_accessible(self):
        if request.endpoint in ("admin.login", "admin.logout"):
            return True
        return super().is_accessible()


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


_JSON_INPUTS = {"object", "point", "list", "multiselect"}


def _field(field):
    label = field["name"]
    described = {"description": field["description"], "validators": [Optional()]}
    if field["input"] == "select":
        choices = [SelectChoice("", "")] + [SelectChoice(v, v) for v in field["options"]]
        return SelectField(label, choices=choices, **described)
    if field["input"] == "integer":
        return IntegerField(label, **described)
    if field["input"] == "boolean":
        return BooleanField(label, description=field["description"])
    if field["input"] in _JSON_INPUTS:
        return JSONField(label, **described)
    return StringField(label, **described)


def domain_form(fields):
    """A WTForms form with a field per client-writable field (the converter's metadata)."""
    return type("DomainForm", (SecureForm,), {f["name"]: _field(f) for f in fields})


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
        super().__init__(collection, **kwargs)

    def scaffold_form(self):
        return domain_form(self._fields)

    def _payload(self, form):
        payload = {}
        for spec in self._fields:
            field = getattr(form, spec["name"], None)
            if field is None:
                continue
            if field.data in (None, "") and spec["input"] != "boolean":
                continue
            payload[spec["name"]] = field.data
        return payload

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


SEARCHABLE = {"hotels": ["name"], "room_types": ["name"], "users": ["email", "name"]}
READ_ONLY = {"bookings", "payments", "reviews"}
EDITABLE_ONLY = {"users": ["role", "name"]}


def init_app(app):
    """Mount /admin with a view per domain resource."""
    admin = Admin(app, name="Innkeeper admin", index_view=HomeView(url="/admin"))
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
            view.column_searchable_list = SEARCHABLE.get(resource)
            if resource == "users":
                view.can_create = view.can_delete = False
            admin.add_view(view)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Strict")
    app.config["SESSION_COOKIE_HTTPONLY"] = True

    @app.after_request
    def admin_csp(response):
        if request.path.startswith("/admin"):
            response.headers["Content-Security-Policy"] = ADMIN_CSP
        return response

    return admin
