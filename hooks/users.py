"""Hooks on /users (admin only): emails lower-cased, passwords hashed, never stored plain."""

from identity import accounts


def hash_new_user_passwords(documents):
    for user in documents:
        user["email"] = accounts.normalize_email(user["email"])
        password = user.pop("password", None)
        if password is not None:
            user["password_hash"] = accounts.hash_password(password)
        user["token_version"] = 0


def hash_changed_password(updates, original):
    if "email" in updates:
        updates["email"] = accounts.normalize_email(updates["email"])
    password = updates.pop("password", None)
    if password is not None:
        # In the PATCH's own write (guarded by its If-Match), not a write of its own:
        # that one would change the etag under Eve's write, which then answered 412
        # with the password changed and every other field of the PATCH dropped.
        updates.update(accounts.password_change(original, password))


def init_app(app):
    app.on_insert_users += hash_new_user_passwords
    app.on_update_users += hash_changed_password
