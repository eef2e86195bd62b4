"""The shard key of each large collection, for the sharded deployment in docs/scaling.md.

A sharded cluster sends a command to one shard when its filter fixes the shard key's
first field; without it, to every shard. Every hot-path command therefore carries that
prefix (tests/plumbing/test_shard_keys.py records them and fails on one that does not), whether
or not the deployment is sharded today: single-node MongoDB and the embedded server
just use the index the prefix belongs to.

The keys are declared in domain/policy.py; collections not listed there are small and
stay unsharded on the primary shard.
"""

from domain.policy import SHARD_KEYS


def prefix_of(collection, document):
    """The shard-key fields of `document` that route a command about it, in key order
    up to the first one it lacks ({} for an unsharded collection)."""
    route = {}
    for field in SHARD_KEYS.get(collection, ()):
        if field not in document:
            break
        route[field] = document[field]
    return route
