"""Endpoints beyond the generated CRUD, mounted under the API prefix (health at the root)."""

from flask import Blueprint

from routes import (
    auth,
    availability,
    browsable,
    docs,
    health,
    inventory,
    responses,
    sandbox,
    webhooks,
)
from services import openapi

DESCRIBED = (auth, availability, health, inventory, webhooks)


def register(app):
    prefix = app.api_prefix
    responses.register(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp, url_prefix=prefix)
    app.register_blueprint(inventory.bp, url_prefix=prefix)
    app.register_blueprint(availability.bp, url_prefix=prefix)
    app.register_blueprint(webhooks.bp, url_prefix=prefix)
    app.register_blueprint(docs.bp, url_prefix=prefix)
    # The browsable API's templates (routes/templates), and its after_request renderer.
    app.register_blueprint(Blueprint("browsable", __name__, template_folder="templates"))
    app.after_request(browsable.render_page)
    custom = {}
    for module in DESCRIBED:
        custom.update(module.OPENAPI)
    # Generated once at start-up from the domain and the routes' own descriptions.
    app.extensions["openapi"] = openapi.build(custom)
    if app.config["EMBEDDED"]:
        app.register_blueprint(sandbox.bp, url_prefix=prefix)
