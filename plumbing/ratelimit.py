"""Rate limits with Flask-Limiter on Redis, keyed on the verified user, else the client IP.

Eve's built-in limiter keys on the unverified Basic-auth username, puts every bearer
token in one bucket and never resets for a steady client; this one verifies the token's
signature before trusting its subject, and uses moving windows. The client IP is
`request.remote_addr`, which Werkzeug's ProxyFix sets from X-Forwarded-For when
TRUSTED_PROXY_COUNT proxies stand in front (run.py).
When Redis is unreachable, reads carry on (logged) and the writes worth protecting -
sign-in, sign-up, creating bookings and payments, changing bookings - answer 503 until
it is back.
"""

import math
import time

from flask import current_app, request
from flask_limiter import HeaderNames, Limit, Limiter
from limits import parse_many

from plumbing import metrics, ratelimit_storage
from plumbing.errors import Refusal

LIMITER_RETRY_AFTER = "X-Innkeeper-Limiter-Retry-After"  # dropped before answering
_HEALTH_CACHE_SECONDS = 1.0


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


def init_app(app):
    """Install the limiter: defaults on every endpoint, the auth limit per IP on /auth."""
    config = app.config
    # Both limits are defaults, evaluated per endpoint. The stricter one counts only
    # POSTs to the guarded writes (guard_writes). (Decorating Eve's view function instead would not
    # do: every collection shares it, and Flask-Limiter would then skip its middleware
    # check for all of them.)
    prefix = f"innkeeper:{config['MONGO_DBNAME']}"
    limiter = Limiter(
        key_func=client_key,
        app=app,
        default_limits=[
            config["RATE_LIMIT"],
            Limit(
                config["BOOKING_RATE_LIMIT"],
                methods=["POST"],
                scope="create",
                exempt_when=lambda: not _guarded(request.endpoint),
            ),
        ],
        # One round trip per limit (plumbing/ratelimit_storage.py), not two.
        storage_uri=ratelimit_storage.storage_uri(config["REDIS_URL"]),
        storage_options={"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        strategy="moving-window",
        headers_enabled=True,
        # Its Retry-After would go on every answer and stretch ours (a 503's 5 s) to the
        # window's end; Innkeeper sets Retry-After itself where it means "wait".
        header_name_mapping={HeaderNames.RETRY_AFTER: LIMITER_RETRY_AFTER},
        swallow_errors=True,
        key_prefix=prefix,
    )
    for probe in ("health", "live", "ready", "scrape"):  # orchestrators and Prometheus
        limiter.exempt(app.view_functions[f"health.{probe}"])
    limiter.exempt(app.view_functions["favicon"])  # browsers fetch it with every page

    health = {"ok": True, "checked": 0.0}

    def redis_up():
        now = time.monotonic()
        if now - health["checked"] > _HEALTH_CACHE_SECONDS:
            try:
                health["ok"] = bool(limiter.storage.check())
            except Exception:  # noqa: BLE001 - any failure means down
                health["ok"] = False
            health["checked"] = now
            if not health["ok"]:
                app.logger.warning("rate-limit storage (Redis) unreachable")
                metrics.backend_error("redis", "unreachable")
        return health["ok"]

    @app.before_request
    def refuse_guarded_writes_without_redis():
        if _is_guarded_write() and not redis_up():
            raise Refusal(
                503,
                "rate limiting is unavailable, so sign-in, new bookings, payments and "
                "booking changes are paused; retry shortly",
                headers={"Retry-After": "5"},
            )

    unmatched_limits = parse_many(config["RATE_LIMIT"])

    @app.before_request
    def limit_unmatched_requests():
        """Flask-Limiter exempts requests that match no route (a 404, or a 405 for a
        made-up method): they count against the client's default limit here, so a
        flood of them is refused like any other."""
        if request.endpoint is not None or not limiter.enabled:
            return
        key = (prefix, "unmatched", client_key())
        try:
            refused = next((i for i in unmatched_limits if not limiter.limiter.hit(i, *key)), None)
            reset = refused and limiter.limiter.get_window_stats(refused, *key).reset_time
        except Exception:  # noqa: BLE001 - Redis down: reads carry on, as for matched routes
            return
        if refused is not None:
            retry = max(1, math.ceil(reset - time.time()))
            raise Refusal(
                429,
                f"too many requests: the limit is {refused}; retry in {retry} s",
                headers={"Retry-After": str(retry)},
            )

    limiter.limit(config["AUTH_RATE_LIMIT"], key_func=ip_key, override_defaults=True)(
        app.blueprints["auth"]
    )
    app.extensions["innkeeper_limiter"] = limiter
    return limiter
