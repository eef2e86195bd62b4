"""Idempotency-Key: the same key and body replay the first response; keys live 24 hours.

A key is scoped to the user. The record is claimed with a unique insert before the work
runs, so two requests with one key cannot both run: the second sees it in flight (409).
"""

import hashlib
import json

from pymongo.errors import DuplicateKeyError

from plumbing.errors import Refusal
from plumbing.values import utcnow

TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255


def ensure_indexes(db):
    db.idempotency_keys.create_index("created_at", expireAfterSeconds=TTL_SECONDS, name="ttl")


def fingerprint(method, path, body):
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def _record_id(user_id, key):
    return hashlib.sha256(f"{user_id}:{key}".encode()).hexdigest()


def claim(db, user_id, key, request_hash):
    """Claim a key for this request; returns a stored response to replay, or None to run."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Refusal(
            400,
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
            {"Idempotency-Key": "invalid"},
        )
    record_id = _record_id(user_id, key)
    try:
        db.idempotency_keys.insert_one(
            {
                "_id": record_id,
                "user": user_id,
                "request_hash": request_hash,
                "state": "in_flight",
                "created_at": utcnow(),
            }
        )
        return None
    except DuplicateKeyError:
        pass
    existing = db.idempotency_keys.find_one({"_id": record_id})
    if existing is None:  # expired between the insert and the read: run again
        return claim(db, user_id, key, request_hash)
    if existing["request_hash"] != request_hash:
        raise Refusal(
            422,
            "this Idempotency-Key was used with a different request; use a new key",
            {"Idempotency-Key": "reused with another body"},
        )
    if existing["state"] == "in_flight":
        raise Refusal(
            409,
            "a request with this Idempotency-Key is still in progress; retry shortly",
            headers={"Retry-After": "1"},
        )
    return existing["response"]


def complete(db, user_id, key, status, body, headers):
    """Store the response to replay; a server error frees the key for a retry instead."""
    record_id = _record_id(user_id, key)
    if status >= 500:
        db.idempotency_keys.delete_one({"_id": record_id, "state": "in_flight"})
        return
    db.idempotency_keys.update_one(
        {"_id": record_id, "state": "in_flight"},
        {
            "$set": {
                "state": "done",
                "response": {"status": status, "body": body, "headers": headers},
            }
        },
    )
