"""Pages for people: the admin panel, the browsable API and the docs page."""

from pathlib import Path

from flask import Blueprint, Response

from pages import admin, browsable, docs

FAVICON = (Path(__file__).parent / "favicon.ico").read_bytes()


def favicon():
    """A bed on teal, 32 x 32, what browsers ask every page for."""
    return Response(
        FAVICON,
        mimetype="image/vnd.microsoft.icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def init_app(app):
    app.add_url_rule("/favicon.ico", "favicon", favicon)
    app.register_blueprint(docs.bp, url_prefix=app.api_prefix)
    # The pages' templates (pages/templates), for the browsable API and the admin.
    app.register_blueprint(Blueprint("pages", __name__, template_folder="templates"))
    app.after_request(browsable.render_page)
    admin.init_app(app)
