"""Pages for people: the admin panel, the browsable API and the docs page."""

from flask import Blueprint

from pages import admin, browsable, docs


def init_app(app):
    app.register_blueprint(docs.bp, url_prefix=app.api_prefix)
    # The pages' templates (pages/templates), for the browsable API and the admin.
    app.register_blueprint(Blueprint("pages", __name__, template_folder="templates"))
    app.after_request(browsable.render_page)
    admin.init_app(app)
