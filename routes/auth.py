"""Sign-up, sign-in and password changes: /auth/register, /auth/token, /auth/password.

The whole blueprint is limited per IP (AUTH_RATE_LIMIT); /me lives apart (routes/me.py)
so a burst of failed sign-ins from an address never locks out signed-in users there.
"""

import re

from flask import Blueprint, current_app

from domain.users import EMAIL_REGEX
from identity import accounts, tokens
from plumbing import openapi
from plumbing.auth import authenticate_request, db
from plumbing.errors import Refusal
from plumbing.responses import json_body, respond

bp = Blueprint("auth", __name__)

PUBLIC_USER_FIELDS = ("_id", "email", "name", "role", "_created", "_updated", "_etag")


def public_user(user):
    document = {k: user[k] for k in PUBLIC_USER_FIELDS if k in user}
    document["_links"] = {"self": {"title": "me", "href": "me"}}
    return document


@bp.post("/auth/register")
def register():
    body = json_body()
    issues = {}
    email = body.get("email")
    if not isinstance(email, str) or not re.match(EMAIL_REGEX, email.strip()):
        issues["email"] = "required, a valid email address"
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        issues["name"] = "required, a non-empty string of at most 200 characters"
    password = body.get("password")
    try:
        accounts.check_password(password)
    except Refusal as refusal:
        issues.update(refusal.issues)
    unknown = set(body) - {"email", "password", "name"}
    for field in unknown:
        issues[field] = "unknown field: register takes email, password and name"
    if issues:
        raise Refusal(422, "registration refused: " + ", ".join(sorted(issues)), issues)
    user = accounts.create_user(db(), email, password, name.strip())
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
    body = json_body()
    current = accounts.authenticate(db(), user["email"], body.get("current_password"))
    if current is None:
        raise Refusal(403, "current_password is incorrect", {"current_password": "incorrect"})
    accounts.check_password(body.get("new_password"))
    accounts.set_password(db(), user["_id"], body["new_password"])
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
            "requestBody": openapi.json_body(
                {
                    "type": "object",
                    "required": ["email", "password", "name"],
                    "properties": {
                        "email": {"type": "string", "format": "email"},
                        "password": {"type": "string", "minLength": 10, "maxLength": 256},
                        "name": {"type": "string", "minLength": 1, "maxLength": 200},
                    },
                }
            ),
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
    "/api/v1/auth/password": {
        "post": {
            "tags": ["auth"],
            "summary": "Change your password (revokes earlier tokens)",
            "security": openapi.BEARER,
            "requestBody": openapi.json_body(
                {
                    "type": "object",
                    "required": ["current_password", "new_password"],
                    "properties": {
                        "current_password": {"type": "string"},
                        "new_password": {"type": "string", "minLength": 10},
                    },
                }
            ),
            "responses": openapi.responses(
                200, 400, 401, 403, 422, 429, 503, ok={"type": "object"}
            ),
        }
    },
}
