"""Hooks on /users (admin only): emails lower-cased, passwords hashed, never stored plain."""

from identity import accounts
from plumbing.auth import db


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
        accounts.set_password(db(), original["_id"], password)


def init_app(app):
    app.on_insert_users += hash_new_user_passwords
    app.on_update_users += hash_changed_password
