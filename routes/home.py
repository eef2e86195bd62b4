"""The front door: `/` and `/api/v1/` answer anyone with an index of the API.

Every `_links.parent` points here. API clients get JSON: each resource they may read
(the public catalogue anonymously, every collection with a token), where the
docs, the OpenAPI document, the admin and availability are. A browser asking for HTML
at `/` is sent to `/api/v1/`, which the browsable API renders as a page (its links go on
to every collection). The catalogue is public, so the index is too: no token needed.
"""

import json

from flask import Blueprint, current_app, redirect

from domain import NARROW_LISTS
from identity.authentication import bearer_token
from plumbing import openapi
from plumbing.context import current_user
from plumbing.http import wants_html
from plumbing.responses import respond
from plumbing.values import today

bp = Blueprint("home", __name__)


def _caller_role():
    """The role of a caller with a valid token, else None (an anonymous index is fine)."""
    if bearer_token() is None or not current_app.auth.authorized([], None, "GET"):
        return None
    return (current_user() or {}).get("role")


def _may_list(settings, role):
    if "GET" in settings.get("public_methods", ()):
        return True
    roles = settings.get("allowed_read_roles") or settings.get("allowed_roles") or []
    return role is not None and (not roles or role in roles)


def _child(prefix, name, settings):
    """A resource's link; a list that must be narrowed (domain.NARROW_LISTS) links to
    one night of it - tonight, a page a client can follow - instead of a 400."""
    href = f"{prefix}/{settings['url']}"
    narrow_by = NARROW_LISTS.get(name)
    if narrow_by and "date" in narrow_by:
        where = json.dumps({"date": today().isoformat()}, separators=(",", ":"))
        return {
            "title": f"{settings['resource_title']} (tonight)",
            "href": f"{href}?where={where}",
        }
    return {"title": settings["resource_title"], "href": href}


def index():
    prefix = current_app.api_prefix
    domain = current_app.config["DOMAIN"]
    role = _caller_role()
    resources = [
        _child(prefix, name, settings)
        for name, settings in domain.items()
        if not settings.get("internal_resource") and _may_list(settings, role)
    ]
    return {
        "name": "Innkeeper",
        "description": "Hotel booking API: search availability, book, pay, review.",
        "_links": {
            "self": {"title": "home", "href": f"{prefix}/"},
            "child": resources,
            # A URI template (RFC 6570), as HAL marks one: fill it in to search.
            "availability": {
                "title": "search offers",
                "href": f"{prefix}/availability{{?check_in,check_out,city,adults}}",
                "templated": True,
            },
            "docs": {"title": "API documentation", "href": f"{prefix}/docs"},
            "openapi": {"title": "OpenAPI document", "href": f"{prefix}/openapi.json"},
            "admin": {"title": "admin panel", "href": "/admin/"},
            "health": {"title": "health", "href": "/health"},
        },
    }


@bp.get("/")
def front_door():
    if wants_html():
        return redirect(f"{current_app.api_prefix}/", 302)
    return respond(index())


def api_home():
    """Replaces Eve's home endpoint, which demanded a token for a public list."""
    return respond(index())


def init_app(app):
    app.register_blueprint(bp)
    app.view_functions["home"] = api_home


OPENAPI = {
    "/": {
        "get": {
            "tags": ["home"],
            "summary": "The front door: an index of the API (anonymous)",
            "responses": openapi.responses(200, ok={"type": "object"}),
        }
    },
    "/api/v1/": {
        "get": {
            "tags": ["home"],
            "summary": "The API's index: every resource and where the docs are (anonymous)",
            "responses": openapi.responses(200, ok={"type": "object"}),
        }
    },
}
