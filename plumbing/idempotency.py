"""Idempotency-Key: the same key and body replay the first response; keys live 24 hours.

A key is scoped to the user. It is claimed with a unique insert before the work runs,
with a lease, so two requests with one key cannot both run: the second sees it in
flight (409). The document the request creates carries the key's fingerprint
(`idempotency_key`, unique), written in the same insert. So when a process dies after
committing but before recording the response, a retry once the lease has passed finds
the document and replays it; when it died before committing, the retry takes the claim
over and performs the request. Either way one key makes at most one document.

A claim names its process (host, pid and the process's start time), so a retry that
reaches the same host after a crash - a restarted server, or its surviving sibling
workers - sees at once that the claim's process is gone and takes it over; from another
host it waits out the lease, which is the request's deadline (QUERY_TIMEOUT_MS) and a
little more, not a fixed half-minute.
"""

import hashlib
import json
import os
import socket
from datetime import timedelta

from flask import Response, abort, g
from pymongo.errors import DuplicateKeyError

from plumbing import processes
from plumbing.errors import Refusal
from plumbing.values import utcnow

TTL_SECONDS = 24 * 3600
# The default lease; the API passes its request deadline (QUERY_TIMEOUT_MS) plus
# LEASE_MARGIN_SECONDS: past it, a claim still in flight belongs to a process that died.
LEASE_SECONDS = 12
LEASE_MARGIN_SECONDS = 2
MAX_KEY_LENGTH = 255
_HOST = socket.gethostname()


def this_process():
    """host:pid:start time of the calling process (a forked worker has its own)."""
    pid = os.getpid()
    return f"{_HOST}:{pid}:{processes.started(pid)}"


def owner_gone(owner):
    """True when `owner` (this_process() of a claim) is a process of this host that no
    longer runs; False when it runs or when it is another host's (the lease decides)."""
    if not isinstance(owner, str) or owner.count(":") < 2:
        return False
    host, pid, started = owner.rsplit(":", 2)
    if host != _HOST or not pid.isdigit():
        return False
    now = processes.started(int(pid))
    return now is None or (started not in ("?", "None") and now not in ("?", started))


def ensure_indexes(db):
    db.idempotency_keys.create_index("created_at", expireAfterSeconds=TTL_SECONDS, name="ttl")


def fingerprint(method, path, body):
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def record_id(user_id, key):
    return hashlib.sha256(f"{user_id}:{key}".encode()).hexdigest()


def claim(db, user_id, key, request_hash, collection, now=None, lease_seconds=LEASE_SECONDS):
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
    lease = now + timedelta(seconds=lease_seconds)
    owner = this_process()
    try:
        db.idempotency_keys.insert_one(
            {
                "_id": rid,
                "user": user_id,
                "request_hash": request_hash,
                "state": "in_flight",
                "created_at": now,
                "lease_until": lease,
                "owner": owner,
            }
        )
        return "run", None
    except DuplicateKeyError:
        pass
    existing = db.idempotency_keys.find_one({"_id": rid})
    if existing is None:  # expired between the insert and the read: run again
        return claim(db, user_id, key, request_hash, collection, now, lease_seconds)
    if existing["request_hash"] != request_hash:
        raise Refusal(
            422,
            "this Idempotency-Key was used with a different request; use a new key",
            {"Idempotency-Key": "reused with another body"},
        )
    if existing["state"] == "done":
        return "replay", existing["response"]
    if existing.get("lease_until", now) > now and not owner_gone(existing.get("owner")):
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
        {"$set": {"lease_until": lease, "owner": owner}},
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


def claim_request(db, user_id, request, collection, lease_seconds=LEASE_SECONDS):
    """Idempotency-Key on a request that creates or changes something: without the
    header, (None, None); a finished one's answer is sent again (aborting the request);
    else the key is claimed for this request (`store_response` records its answer) and
    ("run", None) or ("recover", what it created) comes back."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None, None
    request_hash = fingerprint(request.method, request.path, request.get_json(silent=True))
    outcome, found = claim(db, user_id, key, request_hash, collection, lease_seconds=lease_seconds)
    if outcome == "replay":
        headers = dict(found["headers"], **{"Idempotent-Replayed": "true"})
        abort(Response(found["body"], status=found["status"], headers=headers))
    g.idempotency = (user_id, key)
    return outcome, found


def claimed_record():
    """The record id of the key this request claimed (written on what it creates)."""
    claimed = g.get("idempotency")
    return record_id(*claimed) if claimed is not None else None
