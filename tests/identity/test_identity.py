"""Register, sign in, /me; tokens that expire, cannot be forged and die with a password."""

import time

import jwt
import pytest

import cli
from identity import accounts
from identity.tokens import issue_token
from run import close_app, create_app
from tests.conftest import PASSWORD, make_user


def register(client, **overrides):
    body = {"email": "Ada@Example.com", "password": "0123456789ab", "name": "Ada"}
    body.update(overrides)
    return client.post("auth/register", body)


def test_register_creates_a_guest_without_exposing_the_hash(client, db):
    response = register(client)
    assert response.status_code == 201
    assert response.json["email"] == "ada@example.com"
    assert response.json["role"] == "guest"
    assert "password" not in response.text and "hash" not in response.text
    stored = db.users.find_one({"email": "ada@example.com"})
    assert stored["password_hash"].startswith("$argon2id$")
    assert "0123456789ab" not in str(stored)


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"password": "short"}, "password", "at least 10 characters"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"name": ""}, "name", "non-empty"),
        ({"role": "admin"}, "role", "unknown field"),
    ],
)
def test_register_refusals_name_the_field(client, db, overrides, field, reason):
    response = register(client, **overrides)
    assert response.status_code == 422
    assert reason in response.json["_issues"][field]
    assert response.json["_error"]["code"] == 422
    assert db.users.count_documents({}) == 0


def test_register_twice_is_409(client):
    assert register(client).status_code == 201
    response = register(client, email="ADA@example.com")
    assert response.status_code == 409
    assert "already exists" in response.json["_error"]["message"]


def test_register_needs_a_json_object(client):
    response = client.flask.post(
        "/api/v1/auth/register", data="email=x", content_type="text/plain"
    )
    assert response.status_code == 400
    assert "application/json" in response.json["_error"]["message"]


def test_token_then_me(client):
    register(client)
    response = client.post("auth/token", {"email": "ada@example.com", "password": "0123456789ab"})
    assert response.status_code == 200
    assert response.json["token_type"] == "Bearer"
    assert response.json["expires_in"] == 3600
    me = client.get("me", headers={"Authorization": f"Bearer {response.json['access_token']}"})
    assert me.status_code == 200
    assert me.json["email"] == "ada@example.com"
    assert "password_hash" not in me.json


def test_wrong_password_and_unknown_email_get_the_same_401(client):
    register(client)
    wrong = client.post("auth/token", {"email": "ada@example.com", "password": "nope-nope-nope"})
    unknown = client.post("auth/token", {"email": "bob@example.com", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    one, other = wrong.json, unknown.json
    assert one["_error"].pop("request_id") != other["_error"].pop("request_id")
    assert one == other


def test_me_requires_a_token(client):
    response = client.get("me")
    assert response.status_code == 401
    assert "bearer token" in response.json["_error"]["message"]


def _claims_token(app, user, **claims):
    base = {
        "sub": str(user["_id"]),
        "tv": 0,
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
    }
    base.update(claims)
    return jwt.encode(base, app.config["SECRET_KEY"], algorithm="HS256")


def test_expired_token_is_refused(app, client, db):
    user = make_user(db)
    token = _claims_token(app, user, iat=int(time.time()) - 120, exp=int(time.time()) - 60)
    assert client.get("me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_tampered_token_is_refused(app, client, db):
    user = make_user(db, "guest")
    admin = make_user(db, "admin")
    token = issue_token(user, app.config["SECRET_KEY"], 60)
    header, payload, signature = token.split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(
            str(user["_id"]).encode(), str(admin["_id"]).encode()
        )
    ).decode()
    forged = f"{header}.{forged_payload}.{signature}"
    assert client.get("me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_token_signed_with_another_key_or_alg_none_is_refused(app, client, db):
    user = make_user(db)
    other = jwt.encode(
        {"sub": str(user["_id"]), "tv": 0, "iat": int(time.time()), "exp": int(time.time()) + 60},
        "x" * 48,
        algorithm="HS256",
    )
    unsigned = jwt.encode(
        {"sub": str(user["_id"]), "tv": 0, "iat": int(time.time()), "exp": int(time.time()) + 60},
        None,
        algorithm="none",
    )
    for token in (other, unsigned, "garbage", ""):
        assert client.get("me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_password_change_revokes_earlier_tokens(app, client, db):
    user = make_user(db)
    token = issue_token(user, app.config["SECRET_KEY"], 60)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("me", headers=headers).status_code == 200
    accounts.set_password(db, user["_id"], "a brand new password")
    assert client.get("me", headers=headers).status_code == 401
    fresh = client.post("auth/token", {"email": user["email"], "password": "a brand new password"})
    assert fresh.status_code == 200


def test_admin_bootstrap_from_environment(app_config, db):
    config = dict(app_config, ADMIN_EMAIL="Boss@Example.com", ADMIN_PASSWORD=PASSWORD)
    for _restart in range(2):  # idempotent on restart
        app = create_app(config)
        cli.provision(app)  # what `make run`, the worker and `flask provision` do
        close_app(app)
    assert db.users.count_documents({"email": "boss@example.com"}) == 1
    user = db.users.find_one({"email": "boss@example.com"})
    assert user["role"] == "admin"
    assert accounts.authenticate(db, "boss@example.com", PASSWORD)
