"""Eyes open in production: request ids, structured logs with no secret in them, metrics
of requests and business events, liveness and readiness (issue 17). The multi-process
parts (gunicorn workers, SIGTERM) are in tests/test_operations.py."""

import io
import json
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from plumbing import logs, provisioning
from tests.conftest import PASSWORD
from tests.factories import book, pay
from tests.support import deliver, event


@pytest.fixture
def json_logs(app):
    """Every log line of the test, as JSON text."""
    stream = io.StringIO()
    logs.configure("json", "INFO", stream=stream)
    yield stream
    logs.configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])


def lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def value(text, name, **labels):
    """One sample's value in a /metrics text (0 when not yet counted)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0


def sample(client, name, **labels):
    return value(client.flask.get("/metrics").get_data(as_text=True), name, **labels)


def test_every_answer_carries_a_request_id_and_errors_quote_it(client, app, monkeypatch):
    live = client.flask.get("/health/live")
    assert live.status_code == 200 and live.json == {"status": "alive"}
    assert re.fullmatch(r"[0-9a-f]{32}", live.headers["X-Request-ID"])
    missing = client.get("hotels/0123456789abcdef01234567")
    assert missing.status_code == 404
    assert missing.json["_error"]["request_id"] == missing.headers["X-Request-ID"]
    refused = client.get("availability", query_string={"city": "Paris"})
    assert refused.status_code == 400
    assert refused.json["_error"]["request_id"] == refused.headers["X-Request-ID"]
    # A client cannot choose its id; a trusted proxy can, if the value is sane.
    sent = {"X-Request-ID": "support-ticket-12345"}
    assert client.flask.get("/health/live", headers=sent).headers["X-Request-ID"] != (
        "support-ticket-12345"
    )
    monkeypatch.setitem(app.config, "TRUSTED_PROXY_COUNT", 1)
    taken = client.flask.get("/health/live", headers=sent)
    assert taken.headers["X-Request-ID"] == "support-ticket-12345"
    forged = client.flask.get("/health/live", headers={"X-Request-ID": 'x" injected=1'})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-ID"])


def test_a_journey_is_followed_by_one_request_id_and_logs_no_secret(
    app, client, login, stock, json_logs, monkeypatch
):
    """Sign in, search, book, pay: the proxy's one id is on every line the journey
    caused, the business events among them; no password, token or secret anywhere."""
    monkeypatch.setitem(app.config, "TRUSTED_PROXY_COUNT", 1)
    rid = {"X-Request-ID": "journey-0001-abcdef"}
    guest = login("guest")
    token = client.post(
        "auth/token", {"email": guest.user["email"], "password": PASSWORD}, headers=rid
    )
    assert token.status_code == 200
    guest.token = token.json["access_token"]
    room_type, start = stock(nights=2, allotment=2)
    search = guest.get(
        "availability",
        query_string={
            "hotel": room_type["hotel"],
            "check_in": start.isoformat(),
            "check_out": start.plus(2).isoformat(),
        },
        headers=rid,
    )
    assert search.status_code == 200 and search.json["_items"]
    booked = book(guest, room_type, start, nights=2, headers=rid)
    assert booked.status_code == 201
    paid = pay(guest, booked.json, headers=rid)
    assert paid.status_code == 201
    found = [line for line in lines(json_logs) if line.get("request_id") == rid["X-Request-ID"]]
    events = [line["event"] for line in found]
    assert events.count("request") == 4
    assert [e for e in events if e != "request"] == [
        "booking.created",
        "payment.succeeded",
        "booking.confirmed",
    ]
    created = next(line for line in found if line["event"] == "booking.created")
    assert created["booking"] == booked.json["_id"] and created["nights"] == 2
    search_line = next(line for line in found if line.get("route") == "/api/v1/availability")
    assert search_line["status"] == 200 and search_line["search_cache"] in ("miss", "off")
    booking_line = next(line for line in found if line.get("route") == "/api/v1/bookings")
    assert booking_line["user"] == str(guest.user["_id"]) and booking_line["status"] == 201
    assert all(line["level"] and line["timestamp"] and line["pid"] for line in found)
    text = json_logs.getvalue()
    for secret in (
        PASSWORD,
        guest.token,
        app.config["SECRET_KEY"],
        app.config["PAYMENT_WEBHOOK_SECRET"],
        "Bearer",
        "pm_card_visa",
    ):
        assert secret not in text, secret


def test_a_secret_passed_to_a_log_call_is_redacted(json_logs):
    logs.LOG.info("sign-in", email="a@example.com", password="hunter2", access_token="t0k")
    (line,) = lines(json_logs)
    assert line["password"] == line["access_token"] == "[redacted]"
    assert line["email"] == "a@example.com" and "hunter2" not in json_logs.getvalue()


def test_webhooks_log_applied_then_duplicate_and_count_them(client, app, guest, stock, json_logs):
    room_type, start = stock(nights=2, allotment=2)
    booking = book(guest, room_type, start, nights=2).json
    payment = pay(guest, booking, "pm_card_authenticationRequired").json
    before = sample(client, "innkeeper_events_total", event="webhook.duplicate")
    raw = event(payment["_id"], event_id="evt_logged")
    first, again = deliver(client, app, raw), deliver(client, app, raw)
    assert first.json["outcome"] == "confirmed" and "duplicate" in again.json["outcome"]
    by_event = {line["event"]: line for line in lines(json_logs)}
    assert by_event["webhook.applied"]["payment"] == payment["_id"]
    assert by_event["webhook.applied"]["outcome"] == "confirmed"
    assert by_event["booking.confirmed"]["via"] == "webhook"
    assert by_event["webhook.duplicate"]["provider_event"] == "evt_logged"
    assert by_event["webhook.duplicate"]["request_id"] == again.headers["X-Request-ID"]
    assert sample(client, "innkeeper_events_total", event="webhook.duplicate") == before + 1


def figures(client):
    """The figures one search, booking and refusal should move (one scrape)."""
    text = client.flask.get("/metrics").get_data(as_text=True)
    search = {"method": "GET", "route": "/api/v1/availability"}
    return {
        "requests": value(text, "innkeeper_http_requests_total", status="200", **search),
        "miss": value(text, "innkeeper_searches_total", kind="offers", cache="miss"),
        "hit": value(text, "innkeeper_searches_total", kind="offers", cache="hit"),
        "201": value(text, "innkeeper_booking_requests_total", outcome="201"),
        "409": value(text, "innkeeper_booking_requests_total", outcome="409"),
        "created": value(text, "innkeeper_events_total", event="booking.created"),
        "committed": value(text, "innkeeper_transactions_total", outcome="committed"),
        "timed": value(text, "innkeeper_http_request_duration_seconds_count", **search),
    }


def test_metrics_count_requests_searches_bookings_and_transactions(client, guest, stock):
    room_type, start = stock(nights=2, allotment=1)
    query = {
        "hotel": room_type["hotel"],
        "check_in": start.isoformat(),
        "check_out": start.plus(2).isoformat(),
    }
    before = figures(client)
    assert guest.get("availability", query_string=query).headers["X-Search-Cache"] == "miss"
    assert guest.get("availability", query_string=query).headers["X-Search-Cache"] == "hit"
    assert book(guest, room_type, start, nights=2).status_code == 201
    assert book(guest, room_type, start, nights=2).status_code == 409  # the last room went
    after = figures(client)
    delta = {name: after[name] - before[name] for name in before}
    assert delta == {
        "requests": 2,
        "miss": 1,
        "hit": 1,
        "201": 1,
        "409": 1,
        "created": 1,
        "committed": 1,  # the booking's transaction; the refused one never began one
        "timed": 2,
    }


def test_metrics_are_served_to_the_configured_network_or_a_token(client, app, monkeypatch):
    inside = client.flask.get("/metrics")
    assert inside.status_code == 200
    assert inside.headers["Content-Type"].startswith("text/plain")
    assert "innkeeper_http_requests_total" in inside.get_data(as_text=True)
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    refused = client.flask.get("/metrics", environ_base=outside)
    assert refused.status_code == 403 and "METRICS_NETWORKS" in refused.json["_error"]["message"]
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-token-0123456789")
    wrong = {"Authorization": "Bearer scrape-token-wrong-000000"}
    assert client.flask.get("/metrics", environ_base=outside, headers=wrong).status_code == 403
    odd = {"Authorization": "Bearer \u00e9t\u00e9-not-ascii-000000"}  # no 500 either
    assert client.flask.get("/metrics", environ_base=outside, headers=odd).status_code == 403
    right = {"Authorization": "Bearer scrape-token-0123456789"}
    assert client.flask.get("/metrics", environ_base=outside, headers=right).status_code == 200
    monkeypatch.setitem(app.config, "METRICS_NETWORKS", ["10.0.0.0/8"])
    assert client.flask.get("/metrics").status_code == 403  # 127.0.0.1 no longer listed


def test_readiness_says_what_is_missing_while_liveness_stays_up(client, app, db):
    ready = client.flask.get("/health/ready")
    assert ready.status_code == 200, ready.json
    assert ready.json == {
        "status": "ready",
        "mongo": "ok",
        "redis": "ok",
        "provisioning": "ok",
        "shutdown": "no",
    }
    try:
        db[provisioning.MARKER].delete_many({})
        unprovisioned = client.flask.get("/health/ready")
        assert unprovisioned.status_code == 503 and unprovisioned.headers["Retry-After"]
        assert "flask --app run provision" in unprovisioned.json["provisioning"]
        db[provisioning.MARKER].insert_one({"_id": "domain", "fingerprint": "another"})
        other = client.flask.get("/health/ready").json
        assert other["status"] == "not ready" and "domain apply" in other["provisioning"]
        app.extensions["draining"].set()
        provisioning.mark_provisioned(db)
        draining = client.flask.get("/health/ready")
        assert draining.status_code == 503 and draining.json["shutdown"] == "draining"
        assert client.flask.get("/health/live").status_code == 200
        assert client.flask.get("/health").status_code == 200  # the contract's probe
    finally:
        app.extensions["draining"].clear()
        provisioning.mark_provisioned(db)
    assert client.flask.get("/health/ready").status_code == 200


def test_the_sweeper_logs_each_expiry_under_its_own_job_id(
    app, client, guest, stock, db, json_logs
):
    import threading
    from datetime import timedelta

    import cli
    from plumbing.values import utcnow

    room_type, start = stock(nights=2, allotment=2)
    booking = book(guest, room_type, start, nights=2).json
    db.bookings.update_one({}, {"$set": {"hold_expires_at": utcnow() - timedelta(minutes=1)}})
    before = sample(client, "innkeeper_events_total", event="booking.expired")
    cli.run_jobs(app, threading.Event(), 0, once=True, log=lambda *_: None)
    (expired,) = [line for line in lines(json_logs) if line["event"] == "booking.expired"]
    assert expired["booking"] == booking["_id"]
    assert expired["request_id"].startswith("hold-sweep-")
    assert sample(client, "innkeeper_events_total", event="booking.expired") == before + 1


def test_a_flood_of_health_checks_during_an_outage_holds_no_worker():
    """One probe of a backend at a time: the others answer with its last verdict at
    once; after a failure, checks answer "down" at once for FAILURE_SECONDS."""
    import logging
    import threading

    from plumbing import probes

    now = [1000.0]  # the guard's clock, moved by hand
    guard, log = probes.Guard(clock=lambda: now[0]), logging.getLogger("test")
    assert guard.check(lambda: None, log) == "ok"
    entered, release = threading.Event(), threading.Event()

    def hanging():
        entered.set()
        release.wait(5)
        raise TimeoutError("the database hangs")

    slow = threading.Thread(target=guard.check, args=(hanging, log))
    slow.start()
    entered.wait(5)
    calls = []
    # While one probe hangs, another caller gets the last verdict, not a second probe.
    assert guard.check(lambda: calls.append("second"), log) == "ok" and calls == []
    release.set()
    slow.join(5)
    assert guard.check(lambda: calls.append(1), log) == "down"  # remembered
    now[0] += probes.FAILURE_SECONDS - 0.1
    assert guard.check(lambda: calls.append(1), log) == "down" and calls == []
    now[0] += 0.1  # the failure is FAILURE_SECONDS old: probe again
    assert guard.check(lambda: calls.append(1), log) == "ok" and calls == [1]
