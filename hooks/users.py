"""Hooks on /users (admin only): emails lower-cased, passwords hashed, never stored plain."""

from hooks.access import db
from services import identity


def hash_new_user_passwords(documents):
    for user in documents:
        user["email"] = identity.normalize_email(user["email"])
        password = user.pop("password", None)
        if password is not None:
            user["password_hash"] = identity.hash_password(password)
        user["token_version"] = 0


def hash_changed_password(updates, original):
    if "email" in updates:
        updates["email"] = identity.normalize_email(updates["email"])
    password = updates.pop("password", None)
    if password is not None:
        identity.set_password(db(), original["_id"], password)
