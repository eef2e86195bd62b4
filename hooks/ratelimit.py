"""Rate limits with Flask-Limiter on Redis, keyed on the verified user, else the client IP.

Eve's built-in limiter keys on the unverified Basic-auth username, puts every bearer
token in one bucket and never resets for a steady client; this one verifies the token's
signature before trusting its subject, and uses moving windows.
When Redis is unreachable, reads carry on (logged) and the writes worth protecting -
sign-in, sign-up, creating bookings and payments - answer 503 until it is back.
"""

import ipaddress
import time

import jwt
from flask import current_app, request
from flask_limiter import Limit, Limiter

from services.errors import Refusal

GUARDED_WRITE_ENDPOINTS = {"bookings|resource", "payments|resource"}
_HEALTH_CACHE_SECONDS = 1.0


def client_ip():
    """The caller's IP: X-Forwarded-For is believed only when it comes from a trusted proxy."""
    remote = request.remote_addr or "unknown"
    trusted = current_app.config["TRUSTED_PROXIES"]
    if not trusted or not _in(remote, trusted):
        return remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    # Walk from the nearest hop back; the first address that is not a trusted proxy is
    # the client. Anything further left was written by the client and proves nothing.
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop
    return remote


def _in(address, networks):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


def bearer_subject():
    """The user id of a validly signed, unexpired bearer token, else None (no DB lookup)."""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    try:
        claims = jwt.decode(
            header[7:].strip(),
            current_app.config["SECRET_KEY"],
            algorithms=["HS256"],
            options={"require": ["sub", "exp"]},
        )
    except jwt.PyJWTError:
        return None
    return str(claims["sub"])


def client_key():
    subject = bearer_subject()
    return f"user:{subject}" if subject else f"ip:{client_ip()}"


def ip_key():
    return f"ip:{client_ip()}"


def _is_guarded_write():
    return request.method == "POST" and (
        request.endpoint in GUARDED_WRITE_ENDPOINTS
        or (request.blueprint == "auth" and request.endpoint != "auth.me")
    )


def create(app):
    config = app.config
    # Both limits are defaults, evaluated per endpoint. The stricter one counts only
    # POSTs to /bookings and /payments. (Decorating Eve's view function instead would not
    # do: every collection shares it, and Flask-Limiter would then skip its middleware
    # check for all of them.)
    limiter = Limiter(
        key_func=client_key,
        app=app,
        default_limits=[
            config["RATE_LIMIT"],
            Limit(
                config["BOOKING_RATE_LIMIT"],
                methods=["POST"],
                scope="create",
                exempt_when=lambda: request.endpoint not in GUARDED_WRITE_ENDPOINTS,
            ),
        ],
        storage_uri=config["REDIS_URL"],
        storage_options={"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        strategy="moving-window",
        headers_enabled=True,
        swallow_errors=True,
        key_prefix=f"innkeeper:{config['MONGO_DBNAME']}",
    )
    limiter.exempt(app.view_functions["health.health"])

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
        return health["ok"]

    @app.before_request
    def refuse_guarded_writes_without_redis():
        if _is_guarded_write() and not redis_up():
            raise Refusal(
                503,
                "rate limiting is unavailable, so sign-in and new bookings and payments "
                "are paused; retry shortly",
                headers={"Retry-After": "5"},
            )

    return limiter


def limit_blueprint(limiter, blueprint, rate):
    """Per-IP limit for a whole blueprint (the /auth routes)."""
    limiter.limit(rate, key_func=ip_key, override_defaults=True)(blueprint)
