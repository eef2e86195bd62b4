"""Sign-up, sign-in and passwords: /auth/register, /auth/token, /auth/password, and a
forgotten password reset by mail (/auth/password-reset, /auth/password-reset/confirm).

The whole blueprint is limited per IP (AUTH_RATE_LIMIT); /me lives apart (routes/me.py)
so a burst of failed sign-ins from an address never locks out signed-in users there.
"""

from flask import Blueprint, current_app

from domain.users import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, users
from identity import accounts, resets, tokens
from identity.authentication import authenticate_request
from mail import resets as reset_mail
from plumbing import bodies, openapi
from plumbing.context import db
from plumbing.errors import Refusal
from plumbing.responses import json_body, respond

bp = Blueprint("auth", __name__)

PUBLIC_USER_FIELDS = ("_id", "email", "name", "role", "_created", "_updated", "_etag")


def public_user(user):
    document = {k: user[k] for k in PUBLIC_USER_FIELDS if k in user}
    document["_links"] = {"self": {"title": "me", "href": "me"}}
    return document


PASSWORD_REASON = (
    f"must be at least {MIN_PASSWORD_LENGTH} characters and at most {MAX_PASSWORD_LENGTH}"
)
# The users schema's own fields and rules (domain/users.py): one schema validates the
# request and describes it in the OpenAPI document below.
REGISTRATION = bodies.Body(
    bodies.from_resource(
        users["schema"],
        ("email", "password", "name"),
        required=("email", "password", "name"),
        name={"empty": False},
    ),
    "registration",
    reasons={
        "email": "required, a valid email address",
        "name": "required, a non-empty string of at most 200 characters",
        "password": PASSWORD_REASON,
    },
)
PASSWORD_CHANGE = bodies.Body(
    {
        "current_password": {"type": "string", "required": True, "maxlength": 1000},
        **bodies.from_resource(
            users["schema"],
            ("password",),
            rename={"password": "new_password"},
            required=("new_password",),
        ),
    },
    "password change",
    reasons={"new_password": PASSWORD_REASON},
)
RESET_REQUEST = bodies.Body(
    {"email": {"type": "string", "required": True, "empty": False, "maxlength": 254}},
    "password reset",
    reasons={"email": "required, the account's email address"},
)
RESET_CONFIRM = bodies.Body(
    {
        "token": {"type": "string", "required": True, "empty": False, "maxlength": 200},
        **bodies.from_resource(users["schema"], ("password",), required=("password",)),
    },
    "password reset",
    reasons={"token": "required, the token from the mail", "password": PASSWORD_REASON},
)


@bp.post("/auth/register")
def register():
    body = json_body()
    if isinstance(body, dict):  # as people type them: " ada@example.com ", "Ada "
        body = {
            k: v.strip() if k in ("email", "name") and isinstance(v, str) else v
            for k, v in body.items()
        }
    document = REGISTRATION.validate(body)
    user = accounts.create_user(db(), document["email"], document["password"], document["name"])
    return respond(public_user(user), 201)


@bp.post("/auth/token")
def token():
    body = json_body()
    user = accounts.authenticate(db(), body.get("email"), body.get("password"))
    if user is None:
        raise Refusal(401, "email or password is incorrect")
    ttl = current_app.config["TOKEN_TTL_SECONDS"]
    access_token = tokens.issue_token(user, current_app.config["SECRET_KEY"], ttl)
    accounts.record_sign_in(db(), user)
    return respond(
        {"access_token": access_token, "token_type": "Bearer", "expires_in": ttl},
        headers={"Cache-Control": "no-store"},
    )


@bp.post("/auth/password")
def change_password():
    """Change one's own password; every token issued before stops working."""
    user = authenticate_request()
    body = PASSWORD_CHANGE.validate(json_body())
    current = accounts.authenticate(db(), user["email"], body["current_password"])
    if current is None:
        raise Refusal(403, "current_password is incorrect", {"current_password": "incorrect"})
    accounts.set_password(db(), user["_id"], body["new_password"])
    return respond({"_status": "OK", "message": "password changed; sign in again"})


@bp.post("/auth/password-reset")
def password_reset():
    """Mail a single-use reset token to the account with this email. The answer is the
    same whether there is one (no account enumeration); the blueprint's per-IP limit
    (AUTH_RATE_LIMIT) bounds how often anyone can ask."""
    body = RESET_REQUEST.validate(json_body())
    reset_mail.send_reset(db(), body["email"], current_app.config["PUBLIC_URL"])
    return respond(
        {
            "_status": "OK",
            "message": "if an account has this email, a reset token is on its way "
            f"(valid {resets.RESET_MINUTES} minutes, once)",
        },
        202,
    )


@bp.post("/auth/password-reset/confirm")
def password_reset_confirm():
    """Set a new password with a mailed token; every earlier token (bearer and reset) of
    the account stops working."""
    body = RESET_CONFIRM.validate(json_body())
    reset_mail.reset_password(db(), body["token"], body["password"])
    return respond({"_status": "OK", "message": "password changed; sign in again"})


_CREDENTIALS = {
    "type": "object",
    "required": ["email", "password"],
    "properties": {
        "email": {"type": "string", "format": "email", "examples": ["guest@innkeeper.test"]},
        "password": {"type": "string", "minLength": 1, "examples": ["innkeeper-guest-demo"]},
    },
}
_USER = {"$ref": "#/components/schemas/Users"}
OPENAPI = {
    "/api/v1/auth/register": {
        "post": {
            "tags": ["auth"],
            "summary": "Create a guest account",
            "requestBody": openapi.json_body(REGISTRATION.openapi_schema()),
            "responses": openapi.responses(201, 400, 409, 413, 422, 429, 503, ok=_USER),
        }
    },
    "/api/v1/auth/token": {
        "post": {
            "tags": ["auth"],
            "summary": "Sign in: a bearer token",
            "requestBody": openapi.json_body(_CREDENTIALS),
            "responses": openapi.responses(
                200,
                400,
                401,
                413,
                429,
                503,
                ok={
                    "type": "object",
                    "required": ["access_token", "token_type", "expires_in"],
                    "properties": {
                        "access_token": {"type": "string"},
                        "token_type": {"const": "Bearer"},
                        "expires_in": {"type": "integer"},
                    },
                },
            ),
        }
    },
    "/api/v1/auth/password-reset": {
        "post": {
            "tags": ["auth"],
            "summary": "Forgot your password: a single-use reset token by mail",
            "description": "Answers 202 whatever the email (an unknown one gets no mail), "
            "so it cannot tell who has an account. The token is valid 30 minutes.",
            "requestBody": openapi.json_body(RESET_REQUEST.openapi_schema()),
            "responses": openapi.responses(202, 400, 413, 422, 429, 503, ok={"type": "object"}),
        }
    },
    "/api/v1/auth/password-reset/confirm": {
        "post": {
            "tags": ["auth"],
            "summary": "Set a new password with the mailed token (revokes earlier tokens)",
            "requestBody": openapi.json_body(RESET_CONFIRM.openapi_schema()),
            "responses": openapi.responses(200, 400, 413, 422, 429, 503, ok={"type": "object"}),
        }
    },
    "/api/v1/auth/password": {
        "post": {
            "tags": ["auth"],
            "summary": "Change your password (revokes earlier tokens)",
            "security": openapi.BEARER,
            "requestBody": openapi.json_body(PASSWORD_CHANGE.openapi_schema()),
            "responses": openapi.responses(
                200, 400, 401, 403, 422, 429, 503, ok={"type": "object"}
            ),
        }
    },
}
