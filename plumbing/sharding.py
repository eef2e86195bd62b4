"""The shard key of each large collection, for the sharded deployment in docs/scaling.md.

A sharded cluster sends a command to one shard when its filter fixes the shard key's
first field; without it, to every shard. Every hot-path command therefore carries that
prefix (tests/plumbing/test_shard_keys.py records them and fails on one that does not), whether
or not the deployment is sharded today: single-node MongoDB and the embedded server
just use the index the prefix belongs to.

Collections not listed are small (hotels, room types, webhook events...) and stay
unsharded on the primary shard.
"""

SHARD_KEYS = {
    # A city's nights and search cards live together: a search is one shard.
    "inventory": ("city", "room_type", "date"),
    "search_rooms": ("city", "_id"),
    # A guest's bookings, payments and account live together (hashed on the guest).
    "bookings": ("guest",),
    "payments": ("guest",),
    "users": ("_id",),
}


def prefix_of(collection, document):
    """The shard-key fields of `document` that route a command about it, in key order
    up to the first one it lacks ({} for an unsharded collection)."""
    route = {}
    for field in SHARD_KEYS.get(collection, ()):
        if field not in document:
            break
        route[field] = document[field]
    return route
