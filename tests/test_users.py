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
