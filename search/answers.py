"""The answer cache: whole search answers in Redis, never older than a committed change.

Every write that can change a search answer - a booking taken, cancelled or expired, a
late payment re-taking nights, an inventory row, a hotel, a room type or a rating -
bumps, once it has committed and before it answers, a generation counter for each city
it touched, and the counter `all` that every change bumps. A city search's answer is
stored under the generation of its city it was computed under; any other search (by
hotel, near a point, by country, everywhere) under `all`. Seeding, reconciling and
migrations bump the epoch, which is part of every key. A reader asks for the current
generation and the answer stored under it in one round trip (a Lua script), so after a
bump the old answers are simply never read again (they expire after `ttl` seconds,
which also bounds the staleness a lost bump could cause: Redis unreachable for the
writer but not for the readers).

With Redis down, searches answer from the database and bumps are skipped: there is no
cached answer for anybody to read until Redis is back, and then only answers written
after it came back under generations it kept (Redis persistence) or started afresh -
so an empty Redis restarting from nothing cannot serve an old answer either.
Booking does not trust any of this: the guarded writes in booking/reservations.py decide.
"""

import hashlib
import json
import logging

import redis

from plumbing import metrics
from plumbing.values import city_key
from plumbing.watermark import decode, encode

LOG = logging.getLogger(__name__)
EVERYTHING = None  # the scope of a search that is not by city
_LOOKUP = """
local key = ARGV[1] .. (redis.call('GET', KEYS[1]) or '0') .. '.'
    .. (redis.call('GET', KEYS[2]) or '0')
return {key, redis.call('GET', key), redis.call('GET', KEYS[3])}
"""
# The newest write's cluster time, only ever raised (search/model.py's text encoding
# sorts as the time does).
_RAISE = """
local now = redis.call('GET', KEYS[1])
if not now or ARGV[1] > now then redis.call('SET', KEYS[1], ARGV[1]) end
"""


def scope_of(query):
    """Which generation a query's answer depends on: its city, or all of them."""
    if query.get("city") and not query.get("hotel") and not query.get("near"):
        return query["city"]
    return EVERYTHING


def digest(query):
    """A stable key for a parsed query: the same search in any parameter order or
    spelling (`FR`/`fr`, `page` omitted or 1) gives the same key."""
    canonical = json.dumps(query, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


class AnswerCache:
    """Look up, store and invalidate search answers; every method survives Redis down."""

    def __init__(self, client, prefix, ttl=60, enabled=True, watermark=None):
        self.client, self.prefix, self.ttl, self.enabled = client, prefix, ttl, enabled
        self.watermark = watermark  # plumbing/watermark.py: this process's newest write
        self._lookup = client.register_script(_LOOKUP)
        self._raise = client.register_script(_RAISE)
        self._written_key = f"{prefix}:written"
        self.hits = self.misses = 0

    def _gen_key(self, scope):
        if scope is EVERYTHING:
            return f"{self.prefix}:gen:all"
        # by the city's key: a search for "paris" and a booking in "Paris" meet
        return f"{self.prefix}:gen:city:{city_key(scope)}"

    def lookup(self, query):
        """(cached answer text or None, the key to store a fresh answer under or None, the
        cluster time of the newest acknowledged write or None) in one round trip: a fresh
        answer must be computed from data at least that recent (search/model.py)."""
        if not self.enabled:
            return None, None, self.written()
        return self._lookup_under(
            f"{self.prefix}:answer:{digest(query)}:", self._gen_key(scope_of(query))
        )

    def lookup_page(self, path):
        """lookup() for a public catalogue read (plumbing/readcache.py), by its path and
        query string, under the catalogue's generation: (cached text, key)."""
        if not self.enabled:
            return None, None
        return self._lookup_under(f"{self.prefix}:page:{path}:", f"{self.prefix}:gen:catalogue")[
            :2
        ]

    def _lookup_under(self, base, generation_key):
        keys = [f"{self.prefix}:epoch", generation_key, self._written_key]
        try:
            key, cached, written = self._lookup(keys=keys, args=[base])
        except redis.RedisError as error:
            LOG.warning("search answer cache unreachable: %s", error)
            metrics.backend_error("redis", "unreachable")
            return None, None, None
        if cached is not None:
            self.hits += 1
            return cached.decode(), None, decode(written)
        self.misses += 1
        return None, key.decode(), decode(written)

    def written(self):
        """The cluster time of the newest write recorded (one GET), or None."""
        try:
            return decode(self.client.get(self._written_key))
        except redis.RedisError as error:
            LOG.warning("search freshness mark unreachable: %s", error)
            metrics.backend_error("redis", "unreachable")
            return None

    def store(self, key, answer_text):
        if key is None:
            return
        try:
            self.client.set(key, answer_text, ex=self.ttl)
        except redis.RedisError as error:
            LOG.warning("search answer not cached: %s", error)
            metrics.backend_error("redis", "unreachable")

    def _not_invalidated(self, error):
        LOG.warning("search answers not invalidated (they expire in %s s): %s", self.ttl, error)
        metrics.backend_error("redis", "unreachable")

    def bump(self, cities, catalogue=False):
        """After a committed change to these cities' offers: their answers are stale
        (and, with `catalogue`, every cached hotel and room type read). First of all the
        newest write's cluster time is recorded, so that a reader who sees a new
        generation also sees a mark at least as new as the write that made it."""
        latest = self.watermark.latest() if self.watermark is not None else None
        if not self.enabled and latest is None:
            return
        try:
            with self.client.pipeline(transaction=False) as pipe:
                if latest is not None:
                    self._raise(keys=[self._written_key], args=[encode(latest)], client=pipe)
                if not self.enabled:
                    pipe.execute()
                    return
                if catalogue:
                    pipe.incr(f"{self.prefix}:gen:catalogue")
                for city in set(cities):
                    pipe.incr(self._gen_key(city))
                pipe.incr(self._gen_key(EVERYTHING))
                pipe.execute()
        except redis.RedisError as error:
            self._not_invalidated(error)

    def bump_hotels(self, db, hotel_ids, catalogue=False):
        """bump() for the cities of these hotels (a change at a deleted hotel: all)."""
        ids = list(set(hotel_ids))
        if not ids:
            return
        if not self.enabled:
            self.bump([])
            return
        found = list(db.hotels.find({"_id": {"$in": ids}}, {"address.city": 1}))
        self.bump((h["address"]["city"] for h in found), catalogue=catalogue)
        if len(found) < len(ids):
            self.bump_everything()

    def bump_bookings(self, db, bookings):
        """bump() for the cities whose nights these bookings took or gave back."""
        bookings = list(bookings)
        self.bump(b["city"] for b in bookings if b.get("city"))
        self.bump_hotels(db, [b["hotel"] for b in bookings if not b.get("city")])

    def bump_everything(self):
        """Every answer is stale (seed, reconcile, a migration): a new epoch."""
        self.bump([])  # the freshness mark, and `all`
        if not self.enabled:
            return
        try:
            self.client.incr(f"{self.prefix}:epoch")
        except redis.RedisError as error:
            self._not_invalidated(error)
