"""/admin: Flask-Admin over pymongo, for admins and hotel managers.

Managers sign in too and see only their hotels, their room types, their inventory (the
calendar) and their hotels' bookings and payments (read-only), by the same rules as the
API; users and the raw inventory list are for admins.

Lists, filters and search come from Flask-Admin; every write goes through Eve's own
post/patch/delete (post_internal and friends), so the admin meets the same Cerberus
validation and hooks as the API and cannot bypass a booking rule. Forms are generated
from domain/, and carry CSRF tokens; sign-in is a session cookie (SameSite=Strict).

The package: access.py (who may), home.py (the dashboard), calendar.py (inventory),
forms.py (forms from the domain), views.py (lists and CRUD), outbox.py (the mail sent
to guests); init_app wires them.
"""

from urllib.parse import urlencode

from flask import flash, redirect, request
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from pages.admin.access import ADMIN_CSP, OPERATORS
from pages.admin.calendar import CalendarView
from pages.admin.desk import BookingsView
from pages.admin.home import HomeView
from pages.admin.outbox import OutboxView
from pages.admin.payments import PaymentsView
from pages.admin.views import EDITABLE_ONLY, FOR_MANAGERS, READ_ONLY, DomainView, ReadOnlyView
from pages.admin.webhooks import WebhookEndpointsView


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
            if resource == "bookings":
                view_class = BookingsView  # with the front desk's detail page
            if resource == "payments":
                view_class = PaymentsView  # a detail page with the provider's events
            if resource == "webhook_endpoints":
                view_class = WebhookEndpointsView  # the secret once, the deliveries
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
        admin.add_view(OutboxView(name="outbox", endpoint="outbox", url="/admin/outbox"))
    # Set, not setdefault: Flask defines the key (None), so a default would never apply.
    app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    app.config["SESSION_COOKIE_HTTPONLY"] = True

    app.before_request(guard_list_arguments)

    @app.after_request
    def admin_csp(response):
        if request.path.startswith("/admin"):
            response.headers["Content-Security-Policy"] = ADMIN_CSP
        return response

    return admin


MAX_SEARCH = 200  # characters of a list search (the database caps a pattern at 1,000)
MAX_PAGE = 10_000
LIST_NUMBERS = ("page", "page_size")


def guard_list_arguments():
    """A list URL's paging and search as a person may type them: a page or page size
    that is not a whole number from 0 (or past MAX_PAGE) is dropped, a search longer
    than MAX_SEARCH is cut, and the list is shown again saying so - never a 500 from the
    database refusing a negative skip or an oversized pattern."""
    if not request.path.startswith("/admin/") or request.method != "GET":
        return None
    args = request.args.to_dict()
    said = []
    for name in LIST_NUMBERS:
        value = args.get(name)
        if value is not None and not (value.isdigit() and int(value) <= MAX_PAGE):
            del args[name]
            said.append(f"{name} must be a whole number from 0 to {MAX_PAGE}")
    if len(args.get("search", "")) > MAX_SEARCH:
        args["search"] = args["search"][:MAX_SEARCH]
        said.append(f"a search is at most {MAX_SEARCH} characters; yours was cut")
    if not said:
        return None
    for message in said:
        flash(message, "warning")
    return redirect(f"{request.path}?{urlencode(args)}" if args else request.path)
