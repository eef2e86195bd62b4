"""/api/v1/openapi.json and /api/v1/docs (Swagger UI from a PyPI package, works offline),
each version's (/api/v2/... through plumbing/versions.py), and the migration guide from
version 1 to 2 (docs/api-v2-migration.md)."""

import importlib.util
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_from_directory

from plumbing import openapi
from plumbing.responses import respond

bp = Blueprint("docs", __name__)

# Swagger UI 5 (OpenAPI 3.1) as shipped by the flask-openapi3-swagger wheel. Only its
# static files are used: the package is located without being imported.
_SPEC = importlib.util.find_spec("flask_openapi3_swagger")
ASSETS = Path(next(iter(_SPEC.submodule_search_locations))) / "templates" / "swagger"
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Innkeeper API</title>
<link rel="stylesheet" href="docs/assets/css/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="docs/assets/js/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui",
  deepLinking: true, persistAuthorization: true, tryItOutEnabled: true});
</script></body></html>"""


def openapi_document(app):
    """The OpenAPI document, built on first use from the domain and the routes' own
    descriptions, then kept for the process (building apps stays cheap)."""
    if "openapi" not in app.extensions:
        document = openapi.build(app.extensions["openapi_paths"], app.config["DOMAIN"])
        # Which payment methods the configured provider takes (the sandbox lists its own).
        schemas = document["components"]["schemas"]
        for name in ("Payments", "PaymentsDocument"):
            schemas[name]["properties"]["payment_method"].update(
                app.extensions["payment_provider"].payment_method_schema()
            )
        app.extensions["openapi"] = document
    return app.extensions["openapi"]


@bp.get("/openapi.json")
def spec():
    return respond(openapi_document(current_app))


MIGRATION = Path(__file__).resolve().parent.parent / "docs" / "api-v2-migration.md"


@bp.get("/migration")
def migration_guide():
    """What changes from version 1 to 2, and how to move (the Link of v1's answers)."""
    return Response(MIGRATION.read_text(), mimetype="text/markdown")


@bp.get("/docs")
def page():
    response = Response(PAGE, mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@bp.get("/docs/assets/<path:filename>")
def assets(filename):
    if not (ASSETS / filename).is_file():
        abort(404)
    return send_from_directory(ASSETS, filename, max_age=3600)
