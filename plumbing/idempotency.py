"""Idempotency-Key: the same key and body replay the first response; keys live 24 hours.

A key is scoped to the user. It is claimed with a unique insert before the work runs,
with a lease, so two requests with one key cannot both run: the second sees it in
flight (409). The document the request creates carries the key's fingerprint
(`idempotency_key`, unique), written in the same insert. So when a process dies after
committing but before recording the response, a retry once the lease has passed finds
the document and replays it; when it died before committing, the retry takes the claim
over and performs the request. Either way one key makes at most one document.
"""

import hashlib
import json
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from plumbing.errors import Refusal
from plumbing.values import utcnow

TTL_SECONDS = 24 * 3600
# Longer than any request may run (its database deadline is QUERY_TIMEOUT_MS): past it,
# a claim still in flight belongs to a process that died.
LEASE_SECONDS = 30
MAX_KEY_LENGTH = 255


def ensure_indexes(db):
    db.idempotency_keys.create_index("created_at", expireAfterSeconds=TTL_SECONDS, name="ttl")


def fingerprint(method, path, body):
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def record_id(user_id, key):
    return hashlib.sha256(f"{user_id}:{key}".encode()).hexdigest()


def claim(db, user_id, key, request_hash, collection, now=None):
    """Claim a key for this request.

    Returns ("run", None) to perform it, ("replay", stored response) for a finished one,
    or ("recover", created document) when its process died after creating it.
    """
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Refusal(
            400,
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
            {"Idempotency-Key": "invalid"},
        )
    now = now or utcnow()
    rid = record_id(user_id, key)
    lease = now + timedelta(seconds=LEASE_SECONDS)
    try:
        db.idempotency_keys.insert_one(
            {
                "_id": rid,
                "user": user_id,
                "request_hash": request_hash,
                "state": "in_flight",
                "created_at": now,
                "lease_until": lease,
            }
        )
        return "run", None
    except DuplicateKeyError:
        pass
    existing = db.idempotency_keys.find_one({"_id": rid})
    if existing is None:  # expired between the insert and the read: run again
        return claim(db, user_id, key, request_hash, collection, now)
    if existing["request_hash"] != request_hash:
        raise Refusal(
            422,
            "this Idempotency-Key was used with a different request; use a new key",
            {"Idempotency-Key": "reused with another body"},
        )
    if existing["state"] == "done":
        return "replay", existing["response"]
    if existing.get("lease_until", now) > now:
        raise Refusal(
            409,
            "a request with this Idempotency-Key is still in progress; retry shortly",
            headers={"Retry-After": "1"},
        )
    created = db[collection].find_one({"idempotency_key": rid})
    if created is not None:
        return "recover", created
    taken = db.idempotency_keys.update_one(
        {"_id": rid, "state": "in_flight", "lease_until": existing.get("lease_until")},
        {"$set": {"lease_until": lease}},
    )
    if taken.matched_count != 1:  # another retry took it over first
        raise Refusal(
            409,
            "a request with this Idempotency-Key is still in progress; retry shortly",
            headers={"Retry-After": "1"},
        )
    return "run", None


def complete(db, user_id, key, status, body, headers):
    """Store the response to replay; a server error frees the key for a retry instead."""
    rid = record_id(user_id, key)
    if status >= 500:
        db.idempotency_keys.delete_one({"_id": rid, "state": "in_flight"})
        return
    db.idempotency_keys.update_one(
        {"_id": rid, "state": "in_flight"},
        {
            "$set": {
                "state": "done",
                "response": {"status": status, "body": body, "headers": headers},
            }
        },
    )
