"""Flask-Limiter's Redis storage, at one round trip per limit checked.

The stock moving-window check takes two: a script that records the hit, then another
that reads the window back for the X-RateLimit-* headers. Here one script does both and
returns the window with the verdict; the read that follows in the same request thread is
answered from it. Same keys, same Lua semantics as limits' own scripts (acquire, then the
binary search for the oldest entry still in the window), so the two can share a Redis.
Used through the `innkeeper+redis://` scheme (plumbing/ratelimit.py).
"""

import contextvars
import time

from limits.storage import RedisStorage

_ACQUIRE_WITH_WINDOW = """
local timestamp = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local expiry = tonumber(ARGV[3])
local amount = tonumber(ARGV[4])
local acquired = 0
if amount <= limit then
    local entry = redis.call('lindex', KEYS[1], limit - amount)
    if not (entry and tonumber(entry) >= timestamp - expiry) then
        for i = 1, amount do
            redis.call('lpush', KEYS[1], timestamp)
        end
        redis.call('ltrim', KEYS[1], 0, limit - 1)
        redis.call('expire', KEYS[1], expiry)
        acquired = 1
    end
end
local low, high, found = 0, limit - 1, nil
while low <= high do
    local mid = math.floor((low + high) / 2)
    local value = tonumber(redis.call('lindex', KEYS[1], mid))
    if value and value >= timestamp - expiry then
        found = mid
        low = mid + 1
    else
        high = mid - 1
    end
end
if found then
    return {acquired, tostring(redis.call('lindex', KEYS[1], found)), found + 1}
end
return {acquired, tostring(timestamp), 0}
"""
_LAST_WINDOW = contextvars.ContextVar("innkeeper_last_window", default=None)
_FRESH_SECONDS = 1.0


PREFIX = "innkeeper+"


def storage_uri(redis_url):
    """The limiter's storage URI for a redis:// or rediss:// URL (others: as they are)."""
    if redis_url.startswith(("redis://", "rediss://")):
        return PREFIX + redis_url
    return redis_url


class OneTripRedisStorage(RedisStorage):
    STORAGE_SCHEME = ["innkeeper+redis", "innkeeper+rediss"]

    def __init__(self, uri, **options):
        super().__init__(uri.removeprefix(PREFIX), **options)

    def initialize_storage(self, uri):
        super().initialize_storage(uri)
        self.lua_acquire_with_window = self.get_connection().register_script(_ACQUIRE_WITH_WINDOW)

    def acquire_entry(self, key, limit, expiry, amount=1):
        timestamp = time.time()
        acquired, oldest, count = self.lua_acquire_with_window(
            [self.prefixed_key(key)], [timestamp, limit, expiry, amount]
        )
        _LAST_WINDOW.set((key, limit, expiry, timestamp, float(oldest), int(count)))
        return bool(acquired)

    def get_moving_window(self, key, limit, expiry):
        last = _LAST_WINDOW.get()
        if last is not None and last[:3] == (key, limit, expiry):
            _LAST_WINDOW.set(None)
            if time.time() - last[3] < _FRESH_SECONDS:
                return last[4], last[5]
        return super().get_moving_window(key, limit, expiry)
