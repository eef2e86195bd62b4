"""API2 Broken Authentication: forged, expired, unsigned tokens; brute force; enumeration."""

import time

import jwt
import pytest

from identity import accounts
from identity.tokens import issue_token
from tests.conftest import make_user


@pytest.mark.parametrize("case", ["alg_none", "wrong_key", "expired", "garbage", "no_sub"])
def test_forged_tokens_are_401_everywhere(app, client, db, case):
    user = make_user(db, "admin")
    now = int(time.time())
    claims = {"sub": str(user["_id"]), "tv": 0, "iat": now, "exp": now + 60}
    token = {
        "alg_none": lambda: jwt.encode(claims, None, algorithm="none"),
        "wrong_key": lambda: jwt.encode(claims, "k" * 48, algorithm="HS256"),
        "expired": lambda: jwt.encode(
            dict(claims, exp=now - 1), app.config["SECRET_KEY"], algorithm="HS256"
        ),
        "garbage": lambda: "abc.def.ghi",
        "no_sub": lambda: jwt.encode(
            {"exp": now + 60, "iat": now}, app.config["SECRET_KEY"], algorithm="HS256"
        ),
    }[case]()
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("me", "users", "bookings", "payments"):
        assert client.get(path, headers=headers).status_code == 401, path


def test_token_of_a_deleted_user_is_dead(app, client, db):
    user = make_user(db)
    token = issue_token(user, app.config["SECRET_KEY"], 60)
    db.users.delete_one({"_id": user["_id"]})
    assert client.get("me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_password_change_revokes_tokens(client, db, app):
    client.post(
        "auth/register", {"email": "p@example.com", "password": "first password", "name": "P"}
    )
    token = client.post(
        "auth/token", {"email": "p@example.com", "password": "first password"}
    ).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    wrong = client.post(
        "auth/password",
        {"current_password": "nope", "new_password": "second password"},
        headers=headers,
    )
    assert wrong.status_code == 403
    changed = client.post(
        "auth/password",
        {"current_password": "first password", "new_password": "second password"},
        headers=headers,
    )
    assert changed.status_code == 200
    assert client.get("me", headers=headers).status_code == 401


def test_unknown_email_costs_the_same_hash_work(client, db, monkeypatch):
    calls = []
    real = accounts._hasher

    class CountingHasher:
        def verify(self, stored, password):
            calls.append(stored)
            return real.verify(stored, password)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(accounts, "_hasher", CountingHasher())
    client.post(
        "auth/register", {"email": "k@example.com", "password": "a long password", "name": "K"}
    )
    known = client.post("auth/token", {"email": "k@example.com", "password": "wrong password"})
    unknown = client.post("auth/token", {"email": "u@example.com", "password": "wrong password"})
    assert known.status_code == unknown.status_code == 401
    # The same answer but for each request's own id.
    one, other = known.json, unknown.json
    assert one["_error"].pop("request_id") != other["_error"].pop("request_id")
    assert one == other
    assert len(calls) == 2  # one argon2 verification each, whether the email exists or not


def test_brute_force_is_rate_limited_per_ip(app_config, servers):
    from run import close_app, create_app

    app = create_app(dict(app_config, AUTH_RATE_LIMIT="3/minute"))
    try:
        http = app.test_client()
        body = {"email": "x@example.com", "password": "guess guess guess"}
        statuses = [http.post("/api/v1/auth/token", json=body).status_code for _ in range(5)]
        assert statuses == [401, 401, 401, 429, 429]
        limited = http.post("/api/v1/auth/token", json=body)
        assert int(limited.headers["Retry-After"]) > 0
        # Another address has its own bucket.
        other = http.post(
            "/api/v1/auth/token", json=body, environ_base={"REMOTE_ADDR": "10.9.9.9"}
        )
        assert other.status_code == 401
    finally:
        close_app(app)


def test_failed_sign_ins_never_lock_signed_in_users_out_of_me(app_config, db):
    """/me is an ordinary API route: the sign-in limiter's per-IP bucket is not its own."""
    from run import close_app, create_app

    app = create_app(dict(app_config, AUTH_RATE_LIMIT="3/minute"))
    try:
        http = app.test_client()
        user = make_user(db)
        token = issue_token(user, app.config["SECRET_KEY"], 60)
        body = {"email": "x@example.com", "password": "guess guess guess"}
        statuses = [http.post("/api/v1/auth/token", json=body).status_code for _ in range(5)]
        assert statuses[-1] == 429
        me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json["email"] == user["email"]
        assert "Retry-After" not in me.headers  # only a refusal says when to retry
        limited = http.post("/api/v1/auth/token", json=body)
        assert limited.json["_status"] == "ERR"
        message = limited.json["_error"]["message"]
        assert message.startswith("too many requests: the limit is 3 per 1 minute; retry in ")
        assert message.endswith(f"retry in {limited.headers['Retry-After']} s")
    finally:
        close_app(app)
