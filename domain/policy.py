"""Per-resource policy, declared here beside the resources and read by plumbing/, which
names no resource: which POSTs are idempotent, which answers a POST may give, which
references only their owner may name, which public reads are kept in Redis, what
/metrics counts by outcome, the shard key of each large collection, and the analysts'
views. tests/test_house.py fails if a plumbing module names a resource itself."""

# POSTs that take an Idempotency-Key: a retry gets the first answer (plumbing/openapi.py
# documents the header; hooks/idempotency.py keeps the answers).
IDEMPOTENT = ("bookings", "payments")

# Answers a POST gives beyond the usual ones: a payment's 202 (3-D Secure, or the
# browser still to confirm) and 402 (declined).
POST_STATUSES = {"payments": (202, 402)}

# References only their owner may name: a payment or a review of someone else's booking
# is a 404, as if it did not exist (plumbing/validation.py).
OWNER_SCOPED = ("bookings",)

# Public reads (lists and items) answered from Redis under the catalogue's generation
# (plumbing/readcache.py).
READ_CACHED = ("hotels", "room_types")

# POSTs counted by answer status in /metrics (innkeeper_bookings_total).
COUNTED_POSTS = ("bookings",)

# The shard key of each large collection, for the sharded deployment in
# docs/scaling.md (plumbing/sharding.py). Collections not listed are small (hotels,
# room types, webhook events...) and stay unsharded on the primary shard.
SHARD_KEYS = {
    # A city's nights and search cards live together: a search is one shard.
    "inventory": ("city", "room_type", "date"),
    # Cards by the city's key (plumbing/values.city_key): a search for "paris" is routed.
    "search_rooms": ("city_key", "_id"),
    # A guest's bookings, payments and account live together (hashed on the guest).
    "bookings": ("guest",),
    "payments": ("guest",),
    "users": ("_id",),
}

# The analysts' views (docs/analysts.md), made by provisioning: name -> (source, pipeline).
USERS_PUBLIC = [{"$project": {"email": 1, "name": 1, "role": 1, "_created": 1}}]
VIEWS = {"users_public": ("users", USERS_PUBLIC)}
