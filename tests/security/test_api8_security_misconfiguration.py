"""API8 Security Misconfiguration: headers, CORS, debug, error bodies, production secrets."""

import pytest

import settings
from run import close_app, create_app


@pytest.mark.parametrize(
    "path", ["/api/v1/hotels", "/api/v1/nope", "/health", "/api/v1/availability?check_in=x"]
)
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_authenticated_answers_are_not_cached(guest):
    assert guest.get("me").headers["Cache-Control"] == "no-store"


def test_cors_is_off_by_default(client):
    response = client.get("hotels", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_allows_only_listed_origins(app_config):
    app = create_app(dict(app_config, CORS_ORIGINS=["https://app.example"]))
    try:
        http = app.test_client()
        good = http.get("/api/v1/hotels", headers={"Origin": "https://app.example"})
        assert good.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert "Idempotent-Replayed" in good.headers["Access-Control-Expose-Headers"]
        bad = http.get("/api/v1/hotels", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in bad.headers
        preflight = http.options(
            "/api/v1/bookings",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Idempotency-Key, If-Match",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
        allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
        assert "idempotency-key" in allowed and "if-match" in allowed
        assert preflight.headers["Access-Control-Max-Age"] == "600"
        evil = http.options(
            "/api/v1/bookings",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "Access-Control-Allow-Origin" not in evil.headers
    finally:
        close_app(app)


def test_debug_is_off_and_errors_carry_no_internals(app, guest, stock, monkeypatch):
    assert app.debug is False
    from booking import reservations

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(reservations, "prepare", explode)
    room_type, start = stock()
    response = guest.post(
        "bookings",
        {
            "room_type": room_type["_id"],
            "check_in": start.isoformat(),
            "check_out": start.plus(1).isoformat(),
        },
    )
    assert response.status_code == 500
    # The request id is what a support ticket quotes to find the logged traceback.
    assert response.json == {
        "_status": "ERR",
        "_error": {
            "code": 500,
            "message": "internal error; it has been logged",
            "request_id": response.headers["X-Request-ID"],
        },
    }


def test_driver_errors_do_not_leak(client, make_hotel):
    make_hotel()
    response = client.get('hotels?where={"location": {"$near": "x"}}')
    assert response.status_code < 500 or "pymongo" not in response.text
    assert "Traceback" not in response.text and "OperationFailure" not in response.text


@pytest.mark.parametrize("missing", ["SECRET_KEY", "PAYMENT_WEBHOOK_SECRET"])
def test_production_refuses_missing_secrets(monkeypatch, missing):
    monkeypatch.setenv("MONGO_URI", "mongodb://db.internal:27017/?replicaSet=rs0")
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("PAYMENT_WEBHOOK_SECRET", "w" * 32)
    monkeypatch.delenv(missing)
    with pytest.raises(settings.ConfigError, match=missing):
        settings.load()
