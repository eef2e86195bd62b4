"""Configuration fails fast: production mode refuses to start without its secrets."""

import pytest

import settings
from run import create_app


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PAYMENT_WEBHOOK_SECRET": "w" * 40}, "SECRET_KEY"),
        ({"SECRET_KEY": "s" * 40}, "PAYMENT_WEBHOOK_SECRET"),
        ({}, "SECRET_KEY and PAYMENT_WEBHOOK_SECRET"),
    ],
)
def test_production_mode_refuses_missing_secrets(monkeypatch, tmp_path, env, named):
    monkeypatch.setenv("MONGO_URI", "mongodb://127.0.0.1:1/?directConnection=true")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    for key in ("SECRET_KEY", "PAYMENT_WEBHOOK_SECRET"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(settings.ConfigError) as excinfo:
        create_app()
    assert named in str(excinfo.value)
    assert "MONGO_URI is set" in str(excinfo.value)


def test_production_mode_refuses_short_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("MONGO_URI", "mongodb://127.0.0.1:1/")
    monkeypatch.setenv("SECRET_KEY", "too-short")
    monkeypatch.setenv("PAYMENT_WEBHOOK_SECRET", "x" * 40)
    with pytest.raises(settings.ConfigError, match="at least 32 characters"):
        settings.load()


def test_embedded_mode_keeps_generated_secrets_across_restarts(monkeypatch, tmp_path):
    for key in ("MONGO_URI", "SECRET_KEY", "PAYMENT_WEBHOOK_SECRET"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    first, second = settings.load(), settings.load()
    assert len(first["SECRET_KEY"]) >= 32
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["PAYMENT_WEBHOOK_SECRET"] == second["PAYMENT_WEBHOOK_SECRET"]
    assert first["SEED_DEMO"] is True
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_defaults_match_the_contract(monkeypatch, tmp_path):
    for key in (
        "HOST",
        "PORT",
        "MONGO_URI",
        "MONGO_DBNAME",
        "BOOKING_HOLD_MINUTES",
        "RATE_LIMIT",
        "AUTH_RATE_LIMIT",
        "SEED_DEMO",
        "EMBEDDED_MONGO_PORT",
        "EMBEDDED_REDIS_PORT",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    config = settings.load()
    assert (config["HOST"], config["PORT"]) == ("127.0.0.1", 5000)
    assert config["MONGO_DBNAME"] == "innkeeper"
    assert (config["EMBEDDED_MONGO_PORT"], config["EMBEDDED_REDIS_PORT"]) == (27017, 6379)
    assert config["BOOKING_HOLD_MINUTES"] == 15
    assert (config["RATE_LIMIT"], config["AUTH_RATE_LIMIT"]) == ("600/minute", "10/minute")


def test_a_malformed_number_is_named(monkeypatch):
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(settings.ConfigError, match="PORT must be a whole number"):
        settings.load()


@pytest.mark.parametrize("raw", ["ture", "2", "enabled", "Y"])
def test_a_boolean_typo_refuses_to_start(monkeypatch, tmp_path, raw):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SEED_DEMO", raw)
    with pytest.raises(settings.ConfigError) as excinfo:
        settings.load()
    assert str(excinfo.value) == (
        f"SEED_DEMO must be a boolean (1/true/yes/on or 0/false/no/off), got {raw!r}"
    )


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("Yes", True), ("off", False)])
def test_booleans_read_every_spelling(monkeypatch, tmp_path, raw, value):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SEED_DEMO", raw)
    assert settings.load()["SEED_DEMO"] is value


def test_the_replaced_trusted_proxies_variable_says_what_to_set(monkeypatch, tmp_path):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.1")
    with pytest.raises(settings.ConfigError, match="set TRUSTED_PROXY_COUNT"):
        settings.load()


def test_a_negative_proxy_count_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRUSTED_PROXY_COUNT", "-1")
    with pytest.raises(settings.ConfigError, match="TRUSTED_PROXY_COUNT must be 0 or more"):
        settings.load()


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("LIVE_STREAMS", "-1", "LIVE_STREAMS must be 0 (no live status) or more"),
        ("LIVE_STREAMS_PER_USER", "0", "LIVE_STREAMS_PER_USER must be 1 or more"),
        ("LIVE_STREAM_SECONDS", "0", "LIVE_STREAM_SECONDS must be from 1 to 3600"),
        ("LIVE_STREAM_SECONDS", "3601", "LIVE_STREAM_SECONDS must be from 1 to 3600"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be console or json"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR"),
        (
            "METRICS_NETWORKS",
            "10.0.0.0/8,intranet",
            "METRICS_NETWORKS: 'intranet' is not a network such as 10.0.0.0/8",
        ),
        ("METRICS_TOKEN", "short", "METRICS_TOKEN must be at least 16 characters"),
        ("SHUTDOWN_SECONDS", "0", "SHUTDOWN_SECONDS must be from 1 to 600"),
        ("SHUTDOWN_SECONDS", "601", "SHUTDOWN_SECONDS must be from 1 to 600"),
    ],
)
def test_operations_settings_out_of_range_refuse_to_start(
    monkeypatch, tmp_path, name, raw, message
):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv(name, raw)
    with pytest.raises(settings.ConfigError) as refused:
        settings.load()
    assert str(refused.value) == message


def test_operations_settings_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    embedded = settings.load()
    assert embedded["LOG_FORMAT"] == "console" and embedded["LOG_LEVEL"] == "INFO"
    assert embedded["METRICS_NETWORKS"] == ["127.0.0.1/32", "::1/128"]
    assert (embedded["SHUTDOWN_SECONDS"], embedded["WORKER_METRICS_PORT"]) == (25, 0)
    monkeypatch.setenv("LOG_LEVEL", "warning")  # any case
    assert settings.load()["LOG_LEVEL"] == "WARNING"
