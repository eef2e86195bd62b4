"""Rate limits on Redis, keyed on the verified user, else the client IP: one script call
a request, whatever the limits.

Eve's built-in limiter keys on the unverified Basic-auth username, puts every bearer
token in one bucket and never resets for a steady client; this one verifies the token's
signature before trusting its subject, and uses moving windows. The client IP is
`request.remote_addr`, which Werkzeug's ProxyFix sets from X-Forwarded-For when
TRUSTED_PROXY_COUNT proxies stand in front (run.py).

Which limits a request counts against, each in a bucket of its own per endpoint:
- RATE_LIMIT, per caller, on every endpoint but the probes, /metrics and the favicon;
  requests that match no route (a 404, a made-up method) count in one bucket of their own;
- BOOKING_RATE_LIMIT too, per caller, on the POSTs that move money or stock
  (guard_writes);
- AUTH_RATE_LIMIT alone, per IP, on /auth.
One Lua script records the hit in every bucket and returns each window (the same
moving-window lists as the `limits` library's, so the two can share a Redis); the
X-RateLimit-* headers describe the bucket nearest its limit, and a refusal is a 429
naming the limit with Retry-After. (Flask-Limiter did the same work with about 0.4 ms of
Python a request: a third of a cached read.)

When Redis is unreachable, reads carry on (logged) and the writes worth protecting -
sign-in, sign-up, creating bookings and payments, changing bookings - answer 503 until
it is back.
"""

import math
import time

import redis
from flask import current_app, g, request
from limits import parse_many

from plumbing import metrics
from plumbing.errors import Refusal

_HEALTH_CACHE_SECONDS = 1.0
# For each key: record the hit unless the window is full, then find the oldest entry
# still in it (binary search over the list, newest first); returns per key
# {acquired, oldest timestamp, entries in the window}.
_ACQUIRE = """
local timestamp = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[2 * i])
    local expiry = tonumber(ARGV[2 * i + 1])
    local acquired = 0
    local entry = redis.call('lindex', key, limit - 1)
    if not (entry and tonumber(entry) >= timestamp - expiry) then
        redis.call('lpush', key, timestamp)
        redis.call('ltrim', key, 0, limit - 1)
        redis.call('expire', key, expiry)
        acquired = 1
    end
    local low, high, found = 0, limit - 1, nil
    while low <= high do
        local mid = math.floor((low + high) / 2)
        local value = tonumber(redis.call('lindex', key, mid))
        if value and value >= timestamp - expiry then
            found = mid
            low = mid + 1
        else
            high = mid - 1
        end
    end
    local oldest, count = tostring(timestamp), 0
    if found then
        oldest, count = tostring(redis.call('lindex', key, found)), found + 1
    end
    out[#out + 1] = acquired
    out[#out + 1] = oldest
    out[#out + 1] = count
end
return out
"""


class RateLimited(Exception):
    """A request over one of its limits: rendered as a 429 (plumbing/responses.py)."""

    def __init__(self, limit, retry_after):
        super().__init__(f"too many requests: the limit is {limit}")
        self.limit, self.retry_after = limit, retry_after


def identify_callers(app, subject):
    """How the limiter tells signed-in callers apart: `subject()` is the request's user
    id or None (run.py hands it identity/authentication.bearer_subject; plumbing knows
    no area)."""
    app.extensions["caller_subject"] = subject


def client_key():
    subject = current_app.extensions.get("caller_subject", _anonymous)()
    return f"user:{subject}" if subject else f"ip:{request.remote_addr}"


def _anonymous():
    return None


def ip_key():
    return f"ip:{request.remote_addr}"


def guard_writes(app, *endpoints):
    """POSTs to these endpoints move money or stock: each counts against
    BOOKING_RATE_LIMIT (a bucket per endpoint) and answers 503 while Redis is down.
    Each area names its own (hooks/bookings.py, hooks/payments.py, routes/changes.py)."""
    app.extensions.setdefault("guarded_writes", set()).update(endpoints)


def _guarded(endpoint):
    return endpoint in current_app.extensions.get("guarded_writes", ())


def _is_guarded_write():
    return request.method == "POST" and (_guarded(request.endpoint) or request.blueprint == "auth")


def _windows(text):
    """ "600/minute;10/second" -> [(amount, seconds, "600 per 1 minute")]."""
    return [(item.amount, item.get_expiry(), str(item)) for item in parse_many(text)]


EXEMPT = ("health.health", "health.live", "health.ready", "health.scrape", "favicon")


class Limiter:
    """The app's limiter (app.extensions["innkeeper_limiter"]); `enabled` switches it."""

    def __init__(self, app):
        config = app.config
        self.enabled = True
        self.client = app.redis
        self.prefix = f"innkeeper:{config['MONGO_DBNAME']}:limits"
        self.default = _windows(config["RATE_LIMIT"])
        self.writes = _windows(config["BOOKING_RATE_LIMIT"])
        self.auth = _windows(config["AUTH_RATE_LIMIT"])
        self.script = self.client.register_script(_ACQUIRE)
        self._health = {"ok": True, "checked": 0.0}
        self.logger = app.logger

    def buckets(self):
        """[(bucket key, amount, seconds, text)] this request counts against."""
        endpoint = request.endpoint
        if endpoint in EXEMPT:
            return []
        if endpoint is None:
            return [self._bucket("unmatched", client_key(), w) for w in self.default]
        if request.blueprint == "auth":
            return [self._bucket(endpoint, ip_key(), w) for w in self.auth]
        caller = client_key()
        found = [self._bucket(endpoint, caller, w) for w in self.default]
        if request.method == "POST" and _guarded(endpoint):
            found += [self._bucket(f"{endpoint}:create", caller, w) for w in self.writes]
        return found

    def _bucket(self, scope, caller, window):
        amount, seconds, text = window
        return (f"{self.prefix}:{scope}:{caller}:{amount}/{seconds}", amount, seconds, text)

    def check(self):
        """before_request: count the request in its buckets (one script call); 429 when
        one is full. Redis unreachable: the request carries on."""
        if not self.enabled:
            return
        buckets = self.buckets()
        if not buckets:
            return
        now = time.time()
        args = [now]
        for _key, amount, seconds, _text in buckets:
            args += [amount, seconds]
        try:
            answer = self.script(keys=[b[0] for b in buckets], args=args)
        except redis.RedisError as error:
            self.logger.warning("rate-limit storage (Redis) unreachable: %s", error)
            metrics.backend_error("redis", "unreachable")
            return
        tightest, refused = None, None
        for i, (_key, amount, seconds, text) in enumerate(buckets):
            acquired, oldest, count = answer[3 * i : 3 * i + 3]
            remaining = max(0, amount - int(count))
            reset = float(oldest) + seconds
            if tightest is None or remaining < tightest[1]:
                tightest = (amount, remaining, reset)
            if not acquired and refused is None:
                refused = (text, reset)
        g.rate_limit = tightest
        if refused is not None:
            text, reset = refused
            raise RateLimited(text, max(1, math.ceil(reset - now)))

    def redis_up(self):
        """Whether Redis answers (checked at most once a second)."""
        health, now = self._health, time.monotonic()
        if now - health["checked"] > _HEALTH_CACHE_SECONDS:
            try:
                health["ok"] = bool(self.client.ping())
            except redis.RedisError:
                health["ok"] = False
            health["checked"] = now
            if not health["ok"]:
                self.logger.warning("rate-limit storage (Redis) unreachable")
                metrics.backend_error("redis", "unreachable")
        return health["ok"]


def add_headers(response):
    """after_request: the X-RateLimit-* headers of the bucket nearest its limit."""
    window = g.get("rate_limit")
    if window is not None:
        amount, remaining, reset = window
        response.headers["X-RateLimit-Limit"] = str(amount)
        response.headers["X-RateLimit-Remaining"] = str(remaining)
        response.headers["X-RateLimit-Reset"] = str(math.ceil(reset))
    return response


def init_app(app):
    """Install the limiter: counted before any other work of the request."""
    limiter = Limiter(app)

    @app.before_request
    def refuse_guarded_writes_without_redis():
        if _is_guarded_write() and limiter.enabled and not limiter.redis_up():
            raise Refusal(
                503,
                "rate limiting is unavailable, so sign-in, new bookings, payments and "
                "booking changes are paused; retry shortly",
                headers={"Retry-After": "5"},
            )

    app.before_request(limiter.check)
    app.after_request(add_headers)
    app.extensions["innkeeper_limiter"] = limiter
    return limiter
