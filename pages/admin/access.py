"""Who may use the admin: operators (admins and managers), the hotels a manager runs,
the content security policy, the sign-in form."""

from flask import abort, g, redirect, request, session, url_for
from flask_admin.form import SecureForm
from wtforms import (
    StringField,
)

from catalogue import rules
from identity import accounts
from plumbing.context import db

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


class LoginForm(SecureForm):
    email = StringField("email")
    password = StringField("password", render_kw={"type": "password"})
