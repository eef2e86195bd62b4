"""Endpoints beyond the generated CRUD, mounted under the API prefix (health at the root).

Each module is a blueprint `bp` and describes its own paths in `OPENAPI`; the docs page
merges those into the document (pages/docs.py).
"""

from routes import (
    auth,
    availability,
    changes,
    frontdesk,
    health,
    home,
    inventory,
    live,
    me,
    sandbox,
    webhook_endpoints,
    webhooks,
)

MOUNTED = (
    auth,
    me,
    inventory,
    availability,
    changes,
    frontdesk,
    live,
    webhooks,
    webhook_endpoints,
)


def init_app(app):
    health.init_app(app)
    app.register_blueprint(health.bp)
    home.init_app(app)
    for module in MOUNTED:
        app.register_blueprint(module.bp, url_prefix=app.api_prefix)
    described = {}
    for module in (health, home, *MOUNTED):
        described.update(module.OPENAPI)
    app.extensions["openapi_paths"] = described
    if app.config["EMBEDDED"] and app.config.get("PAYMENT_PROVIDER") != "stripe":
        # Development only: finishing a 3-D Secure payment by hand, the sandbox's part
        # (under Stripe, Stripe.js and Stripe's webhook do it; the route is absent).
        app.register_blueprint(sandbox.bp, url_prefix=app.api_prefix)
