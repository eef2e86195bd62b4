"""Accounts, password hashes and bearer tokens.

Passwords are argon2id hashes (argon2-cffi defaults). Changing a password bumps the user's
token version, revoking every token issued before (identity/tokens.py). Sign-in does the
same hashing work whether the email exists or not.
"""

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from domain.users import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from plumbing.errors import Refusal, invalid
from plumbing.values import stamp, utcnow

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def use_hasher(hasher):
    """Swap the password hasher (the tests use a cheap argon2 cost; production never)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))


def normalize_email(email):
    return email.strip().lower() if isinstance(email, str) else email


def check_password(password):
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise invalid("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise invalid("password", f"must be at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password):
    check_password(password)
    return _hasher.hash(password)


def new_user_document(email, password, name=None, role="guest"):
    now = utcnow()
    return {
        "email": normalize_email(email),
        "name": name or "",
        "role": role,
        "password_hash": hash_password(password),
        "token_version": 0,
        "_created": now,
        "_updated": now,
        "_etag": secrets.token_hex(20),
    }


def create_user(db, email, password, name=None, role="guest"):
    document = new_user_document(email, password, name, role)
    try:
        db.users.insert_one(document)
    except DuplicateKeyError:
        raise Refusal(
            409, "an account with this email already exists", {"email": "already registered"}
        ) from None
    return document


def authenticate(db, email, password):
    """The user for these credentials, or None; same argon2 work either way."""
    user = db.users.find_one({"email": normalize_email(email)}) if isinstance(email, str) else None
    stored = user.get("password_hash") if user else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password if isinstance(password, str) else "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or stored is None:
        return None
    if _hasher.check_needs_rehash(stored):
        db.users.update_one(
            {"_id": user["_id"]}, {"$set": {"password_hash": hash_password(password)}}
        )
    return user


def password_change(user, password):
    """The fields that change `user`'s password and revoke every token issued before,
    for a write that is guarded by the user's current etag (an admin's PATCH)."""
    return {
        "password_hash": hash_password(password),
        "token_version": user.get("token_version", 0) + 1,
    }


def set_password(db, user_id, password):
    """Change a password and revoke every token issued before."""
    db.users.update_one(
        {"_id": user_id},
        {
            "$set": {"password_hash": hash_password(password), **stamp()},
            "$inc": {"token_version": 1},
        },
    )


def user_for_claims(db, claims):
    """The live user verified token claims name, or None when it is gone or revoked."""
    try:
        user_id = ObjectId(claims["sub"])
    except (TypeError, ValueError, KeyError):
        return None
    user = db.users.find_one({"_id": user_id})
    if user is None or user.get("token_version", 0) != claims.get("tv"):
        return None
    return user


def user_for_session(db, user_id, token_version, roles):
    """The user an admin-panel session names, while it still has one of `roles` and has
    not changed its password since signing in; else None."""
    if not user_id or not ObjectId.is_valid(user_id):
        return None
    user = db.users.find_one({"_id": ObjectId(user_id)})
    if user is None or user.get("role") not in roles:
        return None
    if user.get("token_version", 0) != token_version:
        return None
    return user


def record_sign_in(db, user):
    db.users.update_one({"_id": user["_id"]}, {"$set": {"last_login_at": utcnow()}})


def ensure_admin(db, email, password):
    """Make the configured admin exist with that password (start-up bootstrap)."""
    email = normalize_email(email)
    existing = db.users.find_one({"email": email})
    if existing is None:
        return create_user(db, email, password, name="Administrator", role="admin")
    updates = {}
    if existing.get("role") != "admin":
        updates["role"] = "admin"
    if authenticate(db, email, password) is None:
        set_password(db, existing["_id"], password)
    if updates:
        db.users.update_one({"_id": existing["_id"]}, {"$set": updates})
    return db.users.find_one({"_id": existing["_id"]})
