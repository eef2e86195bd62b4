"""GET /me: the caller's own user document (limited like any API route, not as sign-in)."""

from flask import Blueprint

from identity.authentication import authenticate_request
from plumbing import openapi
from plumbing.responses import respond
from routes.auth import public_user

bp = Blueprint("me", __name__)


@bp.get("/me")
def me():
    return respond(public_user(authenticate_request()))


OPENAPI = {
    "/api/v1/me": {
        "get": {
            "tags": ["auth"],
            "summary": "Your own user document",
            "security": openapi.BEARER,
            "responses": openapi.responses(
                200, 401, 429, 503, ok={"$ref": "#/components/schemas/Users"}
            ),
        }
    },
}
