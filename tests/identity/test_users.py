"""/users is for admins; password hashes are never returned nor filterable."""

import pytest

from identity import accounts


def test_admin_creates_user_with_hashed_password(admin, db, client):
    response = admin.post(
        "users",
        {
            "email": "Mgr@Example.com",
            "name": "M",
            "role": "manager",
            "password": "a long enough password",
        },
    )
    assert response.status_code == 201
    assert "password" not in response.json and "password_hash" not in response.json
    stored = db.users.find_one({"email": "mgr@example.com"})
    assert stored["password_hash"].startswith("$argon2")
    assert "password" not in stored
    token = client.post(
        "auth/token", {"email": "mgr@example.com", "password": "a long enough password"}
    )
    assert token.status_code == 200


def test_user_listing_never_shows_hashes(admin, guest):
    listing = admin.get("users")
    assert listing.status_code == 200
    assert "password_hash" not in listing.text and "argon2" not in listing.text
    projected = admin.get('users?projection={"password_hash": 1}')
    assert "argon2" not in projected.text


@pytest.mark.parametrize("where", ['{"password_hash": {"$gt": ""}}', '{"token_version": 0}'])
def test_hidden_fields_cannot_be_probed(admin, guest, where):
    assert admin.get(f"users?where={where}").status_code == 400


@pytest.mark.parametrize("role", ["guest", "manager"])
def test_non_admins_cannot_list_or_promote(login, role, db):
    caller = login(role)
    assert caller.get("users").status_code == 403
    own = f"users/{caller.user['_id']}"
    assert caller.patch(own, {"role": "admin"}, etag="x").status_code == 403
    assert db.users.find_one({"_id": caller.user["_id"]})["role"] == role


def test_admin_password_change_revokes_tokens(admin, login, db, app):
    user = login("guest")
    assert user.get("me").status_code == 200
    response = admin.patch_item(f"users/{user.user['_id']}", {"password": "another password!"})
    assert response.status_code == 200
    assert user.get("me").status_code == 401
    assert accounts.authenticate(db, user.user["email"], "another password!")


def test_duplicate_email_refused(admin, guest):
    response = admin.post("users", {"email": guest.user["email"], "name": "dup"})
    assert response.status_code == 422
    assert "not unique" in str(response.json["_issues"]["email"])


def test_admin_patch_of_a_password_and_a_name_applies_both_once(admin, client, db):
    created = admin.post(
        "users",
        {"email": "ada@example.com", "name": "Ada", "password": "the first password"},
    )
    assert created.status_code == 201, created.json
    path = f"users/{created.json['_id']}"
    signed_in = client.post(
        "auth/token", {"email": "ada@example.com", "password": "the first password"}
    )
    assert signed_in.status_code == 200
    old_token = {"Authorization": f"Bearer {signed_in.json['access_token']}"}
    response = admin.patch_item(path, {"password": "the second password", "name": "Ada L."})
    assert response.status_code == 200, response.json  # once a 412, though applied
    stored = db.users.find_one({"email": "ada@example.com"})
    assert stored["name"] == "Ada L." and stored["_etag"] == response.json["_etag"]
    assert stored["token_version"] == 1
    assert client.get("me", headers=old_token).status_code == 401
    assert not accounts.authenticate(db, "ada@example.com", "the first password")
    assert accounts.authenticate(db, "ada@example.com", "the second password")
    # The answer's etag is the stored one: the next careful PATCH goes through.
    again = admin.patch(path, {"name": "Ada"}, etag=response.json["_etag"])
    assert again.status_code == 200
