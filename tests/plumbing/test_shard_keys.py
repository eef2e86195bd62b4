"""Every hot-path command names its collection's shard-key prefix (plumbing/sharding.py).

A sharded cluster sends a command to one shard only when its filter fixes the first
field of the shard key; otherwise it asks every shard. The commands a search, a booking,
a payment, a cancellation with refund and an expiry send are recorded with pymongo's
command monitoring and checked against docs/scaling.md's keys.
"""

import threading
from datetime import datetime, timedelta

import cli
from plumbing.sharding import SHARD_KEYS
from routes.availability import parse_query
from search import availability
from tests.factories import book
from tests.recording import filters, recorded

# The sweeper's search for due holds asks every shard on purpose: a background job,
# answered on each shard from its (status, hold_expires_at) index.
FAN_OUT = {
    ("find", "bookings", ("hold_expires_at", "status")),  # the hold sweeper
    ("find", "bookings", ("check_in", "hotel")),  # the KPI worker: a hotel's bookings
    ("find", "bookings", ("fee.due_at", "fee.status")),  # the fee collector (few, indexed)
    # The bookings_flat follower (reporting/flat.py), a background job too: its first
    # pass reads every booking, later passes recompute the changed ones by _id.
    ("find", "bookings", ()),
    ("aggregate", "bookings", ("_id",)),
}
SKIPPED = {"getMore", "killCursors", "commitTransaction", "abortTransaction", "endSessions"}


def _fixed(query, field):
    value = query.get(field)
    return field in query and not (isinstance(value, dict) and "$eq" not in value)


def untargeted(commands):
    """(command, collection, filter) for each command on a sharded collection whose
    filter, or inserted document, lacks the shard key's first field."""
    found = []
    for name, command in commands:
        collection = command.get(name)
        if name in SKIPPED or collection not in SHARD_KEYS:
            continue
        first = SHARD_KEYS[collection][0]
        if name == "insert":
            queries = command.get("documents", [])
        else:
            queries = filters(name, command)
            assert queries, (name, command)  # a command the check does not understand
        for query in queries:
            if (name, collection, tuple(sorted(query))) in FAN_OUT:
                continue
            if not _fixed(query, first):
                found.append((name, collection, query))
    return found


def test_hot_paths_are_routed_by_their_shard_keys(guest, stock, db, client, app):
    room_type, start = stock(nights=3, allotment=3)
    with recorded() as commands:
        # A search read from the database (before the read model is loaded, or behind).
        stay = {"city": "Paris", "check_in": str(start), "check_out": str(start.plus(2))}
        assert availability.search(db, parse_query(stay))[0]
        paid = book(guest, room_type, start, nights=3).json
        payment = guest.post(
            "payments", {"booking": paid["_id"], "payment_method": "pm_card_visa"}
        )
        assert payment.status_code == 201, payment.json
        assert guest.get(f"bookings/{paid['_id']}").status_code == 200
        cancelled = guest.patch_item(f"bookings/{paid['_id']}", {"status": "cancelled"})
        assert cancelled.status_code == 200, cancelled.json
        held = book(guest, room_type, start, nights=2).json
        db.bookings.update_one(
            {"guest": guest.user["_id"], "confirmation_code": held["confirmation_code"]},
            {"$set": {"hold_expires_at": datetime.utcnow() - timedelta(1)}},
        )
        cli.run_jobs(app, threading.Event(), 0, once=True, log=lambda *_: None)
    assert db.bookings.find_one({"confirmation_code": held["confirmation_code"]})["status"] == (
        "expired"
    )
    assert db.payments.find_one()["status"] in ("refunded", "partially_refunded")
    touched = {command.get(name) for name, command in commands}
    assert {"inventory", "search_rooms", "bookings", "payments", "users"} <= touched
    assert untargeted(commands) == []


def test_the_check_catches_a_broadcast_command():
    assert untargeted([("find", {"find": "inventory", "filter": {"room_type": 1}})]) == [
        ("find", "inventory", {"room_type": 1})
    ]
    assert untargeted([("update", {"update": "bookings", "updates": [{"q": {"_id": 1}}]})])
    assert not untargeted([("find", {"find": "hotels", "filter": {}})])  # unsharded
