"""Password reset tokens: single use, valid RESET_MINUTES, only their hash stored.

`issue` makes one for an account (or nothing for an unknown email: the caller answers
the same either way); `redeem` sets the new password with a token still good and uses
up every token of that account, so an older mail's token stops working too. Both take a
session: the caller writes the token and its mail in one transaction (mail/resets.py).
"""

import hashlib
import secrets
from datetime import timedelta

from bson import ObjectId
from pymongo import ASCENDING

from identity import accounts
from plumbing.errors import Refusal
from plumbing.values import stamp, utcnow

COLLECTION = "password_resets"
RESET_MINUTES = 30


def provision(db):
    db[COLLECTION].create_index([("digest", ASCENDING)], name="digest", unique=True)
    # Gone a day after they expire (a TTL index): nothing to sweep by hand.
    db[COLLECTION].create_index(
        [("expires_at", ASCENDING)], name="expires", expireAfterSeconds=24 * 3600
    )


def _digest(token):
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def issue(db, email, session=None):
    """(user, token, reset id) for the account with this email, or None."""
    if not isinstance(email, str):
        return None
    user = db.users.find_one(
        {"email": accounts.normalize_email(email)}, {"email": 1, "name": 1}, session=session
    )
    if user is None:
        return None
    token = secrets.token_urlsafe(32)
    reset_id = ObjectId()
    now = utcnow()
    db[COLLECTION].insert_one(
        {
            "_id": reset_id,
            "user": user["_id"],
            "digest": _digest(token),
            "created": now,
            "expires_at": now + timedelta(minutes=RESET_MINUTES),
            "used": False,
        },
        session=session,
    )
    return user, token, reset_id


INVALID = "the reset token is invalid, already used or expired: ask for a new one"


def redeem(db, token, password, session=None):
    """Set the password of the token's account (every earlier bearer token is revoked)
    and use up every reset token of that account; 400 for a token that is not good."""
    found = db[COLLECTION].find_one({"digest": _digest(token)}, session=session)
    if found is None or found["used"] or found["expires_at"] <= utcnow():
        raise Refusal(400, INVALID, {"token": "invalid, used or expired"})
    taken = db[COLLECTION].update_many(
        {"user": found["user"], "used": False}, {"$set": {"used": True}}, session=session
    )
    if not taken.modified_count:  # a racing redeem used it first
        raise Refusal(400, INVALID, {"token": "invalid, used or expired"})
    db.users.update_one(
        {"_id": found["user"]},
        {
            "$set": {"password_hash": accounts.hash_password(password), **stamp()},
            "$inc": {"token_version": 1},
        },
        session=session,
    )
    return found["user"]
