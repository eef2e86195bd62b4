"""/admin: Flask-Admin over pymongo, for role admin only.

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

from hooks.access import db
from services import identity

ADMIN_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
)


def current_admin():
    """The signed-in admin (session), re-read so a demotion or password change ends it."""
    user_id, version = session.get("admin_id"), session.get("admin_tv")
    if not user_id or not ObjectId.is_valid(user_id):
        return None
    user = db().users.find_one({"_id": ObjectId(user_id)})
    if user is None or user.get("role") != "admin" or user.get("token_version", 0) != version:
        return None
    return user


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
            user = identity.authenticate(db(), form.email.data, form.password.data)
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


def _field(name, rules):
    kind, label = rules.get("type"), name
    described = {"description": rules.get("description", ""), "validators": [Optional()]}
    if rules.get("allowed"):
        choices = [SelectChoice("", "")] + [SelectChoice(v, v) for v in rules["allowed"]]
        return SelectField(label, choices=choices, **described)
    if kind == "integer":
        return IntegerField(label, **described)
    if kind == "boolean":
        return BooleanField(label, description=described["description"])
    if kind in ("dict", "list", "point"):
        return TextAreaField(label, **described)
    return StringField(label, **described)


def domain_form(schema, only=None):
    """A WTForms form with a field per client-writable domain field."""
    fields = {
        name: _field(name, rules)
        for name, rules in schema.items()
        if not rules.get("readonly") and (only is None or name in only)
    }
    return type("DomainForm", (SecureForm,), fields)


class DomainView(AdminOnly, ModelView):
    """A collection's list, filters and search; writes through Eve's own methods."""

    form_base_class = SecureForm
    page_size = 25

    def __init__(self, collection, resource, settings, **kwargs):
        self.resource, self.schema = resource, settings["schema"]
        # Eve adds _id to the schemas it holds; meta fields are never form fields.
        writable = [
            n for n, r in self.schema.items() if not r.get("readonly") and not n.startswith("_")
        ]
        self.column_list = ["_id"] + [
            n for n in self.schema if self._listable(n) and not n.startswith("_")
        ][:7]
        self.column_filters = [
            filters.FilterEqual(field, field)
            for field in settings.get("allowed_filters", [])
            if not field.startswith("_")
        ] or None
        self._form_fields = kwargs.pop("only", None) or writable
        super().__init__(collection, **kwargs)

    def _listable(self, name):
        return self.schema[name].get("type") not in ("dict", "list", "point")

    def scaffold_form(self):
        return domain_form(self.schema, self._form_fields)

    def _payload(self, form):
        payload = {}
        for name in self._form_fields:
            field = getattr(form, name, None)
            if field is None:
                continue
            value = field.data
            rules = self.schema[name]
            if value in (None, "") and rules.get("type") != "boolean":
                continue
            if rules.get("type") in ("dict", "list", "point"):
                value = json.loads(value)
            payload[name] = value
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


def register(app):
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
