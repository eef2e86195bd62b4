"""Every environment variable Innkeeper reads, read once here, with a cast and a default."""

import ipaddress
import os
import secrets
from pathlib import Path


class ConfigError(RuntimeError):
    """The environment cannot run Innkeeper; the message says what to set."""


def _int(name, default):
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _str(name, default=None):
    raw = os.environ.get(name)
    return default if raw in (None, "") else raw


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _bool(name, default):
    """A typo is refused, never read as False (starlette's Config does the same)."""
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    value = raw.strip().lower()
    if value not in _TRUE + _FALSE:
        raise ConfigError(
            f"{name} must be a boolean ({'/'.join(_TRUE)} or {'/'.join(_FALSE)}), got {raw!r}"
        )
    return value in _TRUE


def _list(name):
    raw = os.environ.get(name) or ""
    return [part.strip() for part in raw.split(",") if part.strip()]


def _secret_from_data_dir(data_dir, filename):
    """Embedded mode only: a random secret kept in the data dir, stable across restarts."""
    path = Path(data_dir) / filename
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _is_rate(text):
    from limits import parse_many

    try:
        return bool(parse_many(text))
    except ValueError:
        return False


def load():
    """Read the environment into a settings dict; refuse production without its secrets."""
    mongo_uri = _str("MONGO_URI")
    embedded = mongo_uri is None
    data_dir = _str("DATA_DIR", "./var")
    config = {
        "HOST": _str("HOST", "127.0.0.1"),
        "PORT": _int("PORT", 5000),
        "MONGO_URI": mongo_uri,
        "REDIS_URL": _str("REDIS_URL"),
        "DATA_DIR": data_dir,
        "MONGO_DBNAME": _str("MONGO_DBNAME", "innkeeper"),
        "EMBEDDED_MONGO_PORT": _int("EMBEDDED_MONGO_PORT", 27017),
        "EMBEDDED_REDIS_PORT": _int("EMBEDDED_REDIS_PORT", 6379),
        "EMBEDDED_SMTP_PORT": _int("EMBEDDED_SMTP_PORT", 8025),
        "SMTP_URL": _str("SMTP_URL"),
        "MAIL_FROM": _str("MAIL_FROM", "Innkeeper <no-reply@innkeeper.test>"),
        "PUBLIC_URL": _str("PUBLIC_URL"),
        "WEBHOOK_ALLOWED_NETWORKS": _list("WEBHOOK_ALLOWED_NETWORKS"),
        "WEBHOOK_TIMEOUT_SECONDS": _int("WEBHOOK_TIMEOUT_SECONDS", 10),
        "SECRET_KEY": _str("SECRET_KEY"),
        "ADMIN_EMAIL": _str("ADMIN_EMAIL"),
        "ADMIN_PASSWORD": _str("ADMIN_PASSWORD"),
        "PAYMENT_WEBHOOK_SECRET": _str("PAYMENT_WEBHOOK_SECRET"),
        "PAYMENT_PROVIDER": _str("PAYMENT_PROVIDER", "sandbox"),
        "PAYMENT_SANDBOX_ALLOWED": _bool("PAYMENT_SANDBOX_ALLOWED", False),
        "STRIPE_SECRET_KEY": _str("STRIPE_SECRET_KEY"),
        "STRIPE_WEBHOOK_SECRET": _str("STRIPE_WEBHOOK_SECRET"),
        "STRIPE_API_BASE": _str("STRIPE_API_BASE"),
        "BOOKING_HOLD_MINUTES": _int("BOOKING_HOLD_MINUTES", 15),
        "TOKEN_TTL_SECONDS": _int("TOKEN_TTL_SECONDS", 3600),
        "RATE_LIMIT": _str("RATE_LIMIT", "600/minute"),
        "AUTH_RATE_LIMIT": _str("AUTH_RATE_LIMIT", "10/minute"),
        "BOOKING_RATE_LIMIT": _str("BOOKING_RATE_LIMIT", "10/minute"),
        "TRUSTED_PROXY_COUNT": _int("TRUSTED_PROXY_COUNT", 0),
        "MAX_BODY_BYTES": _int("MAX_BODY_BYTES", 64 * 1024),
        "QUERY_TIMEOUT_MS": _int("QUERY_TIMEOUT_MS", 10_000),
        "SEED_DEMO": _bool("SEED_DEMO", embedded),
        "SEARCH_CACHE": _bool("SEARCH_CACHE", True),
        "SEARCH_CACHE_SECONDS": _int("SEARCH_CACHE_SECONDS", 60),
        "SEARCH_MODEL": _bool("SEARCH_MODEL", True),
        "SEARCH_MODEL_WAIT_MS": _int("SEARCH_MODEL_WAIT_MS", 100),
        "LIVE_STREAMS": _int("LIVE_STREAMS", 256),
        "LIVE_STREAMS_PER_USER": _int("LIVE_STREAMS_PER_USER", 4),
        "LIVE_STREAM_SECONDS": _int("LIVE_STREAM_SECONDS", 55),
        "CORS_ORIGINS": _list("CORS_ORIGINS"),
        "LOG_FORMAT": _str("LOG_FORMAT", "console" if embedded else "json"),
        "LOG_LEVEL": _str("LOG_LEVEL", "INFO").upper(),
        "METRICS_NETWORKS": _list("METRICS_NETWORKS") or ["127.0.0.1/32", "::1/128"],
        "METRICS_TOKEN": _str("METRICS_TOKEN"),
        "SHUTDOWN_SECONDS": _int("SHUTDOWN_SECONDS", 25),
        "WORKER_METRICS_PORT": _int("WORKER_METRICS_PORT", 0),
        "WORKER_SKIP_JOBS": _list("WORKER_SKIP_JOBS"),
        "EMBEDDED": embedded,
    }
    # Where guests reach the API, for links in their mail.
    config["PUBLIC_URL"] = (
        config["PUBLIC_URL"] or f"http://{config['HOST']}:{config['PORT']}"
    ).rstrip("/")
    if os.environ.get("TRUSTED_PROXIES"):
        raise ConfigError(
            "TRUSTED_PROXIES is no longer read: set TRUSTED_PROXY_COUNT to the number of "
            "proxies in front of Innkeeper that append to X-Forwarded-For (0 = none)"
        )
    if embedded:
        config["SECRET_KEY"] = config["SECRET_KEY"] or _secret_from_data_dir(
            data_dir, "secret_key"
        )
        config["PAYMENT_WEBHOOK_SECRET"] = config[
            "PAYMENT_WEBHOOK_SECRET"
        ] or _secret_from_data_dir(data_dir, "payment_webhook_secret")
    check(config)
    return config


PROVIDER_SECRETS = {
    "sandbox": ("PAYMENT_WEBHOOK_SECRET",),
    "stripe": ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"),
}


def check(config):
    """Fail fast on a configuration that must not serve traffic."""
    provider = config.get("PAYMENT_PROVIDER") or "sandbox"
    if provider not in PROVIDER_SECRETS:
        raise ConfigError(f"PAYMENT_PROVIDER must be sandbox or stripe, got {provider!r}")
    if provider == "stripe":
        missing = [k for k in PROVIDER_SECRETS["stripe"] if not config.get(k)]
        if missing:
            raise ConfigError(
                "PAYMENT_PROVIDER is stripe but " + " and ".join(missing) + " is not set: "
                "the secret key (sk_live_... or sk_test_...) and the webhook endpoint's "
                "signing secret (whsec_...) from the Stripe dashboard"
            )
    if config.get("MONGO_URI"):
        needed = ("SECRET_KEY", *PROVIDER_SECRETS[provider])
        missing = [k for k in needed if not config.get(k)]
        if missing:
            raise ConfigError(
                "MONGO_URI is set (production mode) but "
                + " and ".join(missing)
                + " is not: set "
                + ("them" if len(missing) > 1 else "it")
                + " in the environment before starting Innkeeper"
            )
        if len(config["SECRET_KEY"]) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters in production mode")
        # The embedded servers (make run) are development, whatever URI they got.
        production = not config.get("EMBEDDED")
        if provider == "sandbox" and production and not config.get("PAYMENT_SANDBOX_ALLOWED"):
            raise ConfigError(
                "MONGO_URI is set (production mode) but PAYMENT_PROVIDER is sandbox, which "
                "confirms bookings without taking any money: set PAYMENT_PROVIDER=stripe "
                "(with STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET), or, for a staging "
                "deployment that must not charge cards, PAYMENT_SANDBOX_ALLOWED=1"
            )
        if production and not config.get("SMTP_URL"):
            raise ConfigError(
                "MONGO_URI is set (production mode) but SMTP_URL is not: guests' booking "
                "mail and password resets leave through it; set SMTP_URL "
                "(smtp://[user:password@]host:port, or smtps:// for TLS)"
            )
    if config.get("SMTP_URL") and not config["SMTP_URL"].startswith(("smtp://", "smtps://")):
        raise ConfigError("SMTP_URL must start with smtp:// or smtps://")
    for network in config.get("WEBHOOK_ALLOWED_NETWORKS") or ():
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(
                f"WEBHOOK_ALLOWED_NETWORKS holds {network!r}, which is not a network "
                "(CIDR such as 10.20.0.0/16)"
            ) from None
    if not 1 <= config.get("WEBHOOK_TIMEOUT_SECONDS", 10) <= 30:
        raise ConfigError("WEBHOOK_TIMEOUT_SECONDS must be from 1 to 30")
    if config["BOOKING_HOLD_MINUTES"] < 1:
        raise ConfigError("BOOKING_HOLD_MINUTES must be at least 1")
    if config["LIVE_STREAMS"] < 0:
        raise ConfigError("LIVE_STREAMS must be 0 (no live status) or more")
    if config["LIVE_STREAMS_PER_USER"] < 1:
        raise ConfigError("LIVE_STREAMS_PER_USER must be 1 or more")
    if not 1 <= config["LIVE_STREAM_SECONDS"] <= 3600:
        raise ConfigError("LIVE_STREAM_SECONDS must be from 1 to 3600")
    for name in ("RATE_LIMIT", "AUTH_RATE_LIMIT", "BOOKING_RATE_LIMIT"):
        if not _is_rate(config[name]):
            raise ConfigError(f"{name} must look like '600/minute' or '10 per second'")
    if config["LOG_FORMAT"] not in ("console", "json"):
        raise ConfigError("LOG_FORMAT must be console or json")
    if config["LOG_LEVEL"] not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
    for network in config["METRICS_NETWORKS"]:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(
                f"METRICS_NETWORKS: {network!r} is not a network such as 10.0.0.0/8"
            ) from None
    if config["METRICS_TOKEN"] and len(config["METRICS_TOKEN"]) < 16:
        raise ConfigError("METRICS_TOKEN must be at least 16 characters")
    if not 1 <= config["SHUTDOWN_SECONDS"] <= 600:
        raise ConfigError("SHUTDOWN_SECONDS must be from 1 to 600")
    if config["TRUSTED_PROXY_COUNT"] < 0:
        raise ConfigError("TRUSTED_PROXY_COUNT must be 0 or more")
    if not config["HOST"]:
        raise ConfigError("HOST must not be empty")
