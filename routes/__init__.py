"""Endpoints beyond the generated CRUD, mounted under the API prefix (health at the root)."""

from routes import auth, availability, health, inventory, responses, sandbox, webhooks


def register(app):
    prefix = app.api_prefix
    responses.register(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp, url_prefix=prefix)
    app.register_blueprint(inventory.bp, url_prefix=prefix)
    app.register_blueprint(availability.bp, url_prefix=prefix)
    app.register_blueprint(webhooks.bp, url_prefix=prefix)
    if app.config["EMBEDDED"]:
        app.register_blueprint(sandbox.bp, url_prefix=prefix)
