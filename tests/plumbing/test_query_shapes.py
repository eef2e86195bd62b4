"""The hot paths send only shapes both MongoDB and the embedded server run from an index.

Measured on the embedded server with a year of inventory: a guarded update whose filter
holds an $expr beside the (room_type, date) keys took 20 s (a collection scan), and
findAndModify skipped the _id fast path (about 1 s); the shapes below take milliseconds.
The commands each flow sends are recorded with pymongo's command monitoring.
"""

from datetime import datetime, timedelta

from booking import holds
from tests.factories import book
from tests.recording import filters, recorded


def _contains(node, key):
    if isinstance(node, dict):
        return key in node or any(_contains(v, key) for v in node.values())
    if isinstance(node, list):
        return any(_contains(v, key) for v in node)
    return False


def test_booking_paying_cancelling_and_expiring_use_index_friendly_shapes(
    guest, stock, db, client
):
    room_type, start = stock(nights=3, allotment=3)
    with recorded() as commands:
        first = book(guest, room_type, start, nights=3).json
        paid = guest.post("payments", {"booking": first["_id"], "payment_method": "pm_card_visa"})
        assert paid.status_code == 201
        guest.patch_item(f"bookings/{first['_id']}", {"status": "cancelled"})
        second = book(guest, room_type, start, nights=2).json
        db.bookings.update_one(
            {"confirmation_code": second["confirmation_code"]},
            {"$set": {"hold_expires_at": datetime.utcnow() - timedelta(1)}},
        )
        assert holds.expire_due(db.client, db) == 1
        client.get(f"availability?city=Paris&check_in={start}&check_out={start.plus(2)}")
    names = [name for name, _ in commands]
    assert "findAndModify" not in names
    assert names.count("update") >= 5  # the flows really ran through the listener
    for name, command in commands:
        for query in filters(name, command):
            assert not _contains(query, "$expr"), (name, command)


def test_list_totals_never_count_a_whole_large_collection(admin, stock):
    """GET /inventory?max_results=1 answered 503 after 10 s on 241,000 rows: it counted
    them exactly. No filter: the collection's metadata count; a filter: at most 10,001.
    (An inventory list must now name a room type or a night: test_third_attack_run.)"""
    room_type, start = stock(nights=3)
    with recorded() as commands:
        everything = admin.get("hotels?max_results=1&page=2")
        filtered = admin.get(
            f'inventory?where={{"room_type": "{room_type["_id"]}"}}&max_results=1&page=3'
        )
    assert everything.status_code == 200 and everything.json["_meta"]["total"] == 1
    assert filtered.status_code == 200 and filtered.json["_meta"]["total"] == 3
    counts = [c for name, c in commands if name in ("count", "aggregate")]
    plain = [c for c in counts if "count" in c]
    assert plain and all(not c.get("query") for c in plain)  # estimated: no filter, no scan
    capped = [c for c in counts if "pipeline" in c]
    assert capped and all({"$limit": 10_001} in c["pipeline"] for c in capped)
