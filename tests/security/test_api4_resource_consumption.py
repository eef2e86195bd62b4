"""API4 Unrestricted Resource Consumption: bounded bodies, queries, pages and rates."""

import json

import pytest

from plumbing import embedded
from tests.conftest import wait_for
from tests.factories import stay


def test_oversized_body_is_413(admin, db):
    body = {"name": "x" * (70 * 1024), "address": {"city": "Paris", "country": "FR"}}
    response = admin.post("hotels", body)
    assert response.status_code == 413
    assert "bytes" in response.json["_error"]["message"]
    assert db.hotels.count_documents({}) == 0


def test_deeply_nested_body_is_refused(admin, db):
    nested = {"city": "Paris", "country": "FR"}
    for _ in range(200):
        nested = {"a": nested}
    response = admin.post("hotels", {"name": "x", "address": nested})
    assert 400 <= response.status_code < 500
    assert db.hotels.count_documents({}) == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("where=" + json.dumps({"name": "x" * 3000}), "where"),
        ("where=" + json.dumps({"_id": {"$in": [str(i) for i in range(101)]}}), "where"),
        (
            "where="
            + json.dumps(
                {
                    "a": {
                        "$and": [
                            {
                                "b": {
                                    "$and": [
                                        {
                                            "c": {
                                                "$and": [
                                                    {"d": {"$and": [{"e": {"$and": [{"f": 1}]}}]}}
                                                ]
                                            }
                                        }
                                    ]
                                }
                            }
                        ]
                    }
                }
            ),
            "where",
        ),
        ("page=1000&max_results=100", "page"),
        ('sort=[["name", 7]]', "sort"),
        ("where=[1]", "where"),
    ],
)
def test_unbounded_queries_are_refused(client, query, field):
    response = client.get(f"hotels?{query}")
    assert response.status_code == 400
    assert field in response.json["_issues"]


@pytest.mark.parametrize("operator", ["$where", "$regex", "$expr", "$function", "$text"])
def test_scan_forcing_operators_are_refused(client, make_hotel, operator):
    make_hotel()
    value = {
        "$where": "sleep(1000)",
        "$regex": ".*",
        "$expr": {"$gt": [1, 0]},
        "$function": {"body": "1"},
        "$text": {"$search": "x"},
    }[operator]
    where = {"name": {operator: value}} if operator in ("$regex",) else {operator: value}
    response = client.get(f"hotels?where={json.dumps(where)}")
    assert response.status_code == 400


def test_max_results_is_capped(client, make_hotel):
    for i in range(3):
        make_hotel(name=f"H{i}")
    response = client.get("hotels?max_results=5000")
    assert response.status_code == 200
    assert response.json["_meta"]["max_results"] == 100


def test_rate_limit_answers_429_with_headers_per_user(app_config, login, servers):
    from identity.tokens import issue_token
    from run import close_app, create_app
    from tests.conftest import make_user

    app = create_app(dict(app_config, RATE_LIMIT="4/minute"))
    try:
        db = app.data.driver.db
        first, second = make_user(db), make_user(db)
        tokens = [issue_token(u, app.config["SECRET_KEY"], 60) for u in (first, second)]
        http = app.test_client()

        def get(token):
            return http.get("/api/v1/hotels", headers={"Authorization": f"Bearer {token}"})

        from prometheus_client import REGISTRY

        def refusals():
            counted = REGISTRY.get_sample_value(
                "innkeeper_rate_limited_total", {"route": "/api/v1/hotels"}
            )
            return counted or 0

        before = refusals()
        statuses = [get(tokens[0]).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]
        limited = get(tokens[0])
        assert refusals() == before + 2  # each 429 is counted for /metrics
        assert limited.json["_error"]["code"] == 429
        assert int(limited.headers["Retry-After"]) > 0
        assert limited.headers["X-RateLimit-Limit"] == "4"
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        # Bearer tokens are not one bucket: the second user is untouched.
        assert get(tokens[1]).status_code == 200
        for probe in ("/health", "/health/live", "/health/ready", "/metrics"):
            assert http.get(probe).status_code == 200, probe  # never limited
    finally:
        close_app(app)


def test_rate_limit_costs_one_redis_round_trip_per_request(app_config, login):
    """The hit and the window for the headers come back from one script call."""
    import redis

    from identity.tokens import issue_token
    from run import close_app, create_app
    from tests.conftest import make_user

    # The answer caches off: only the limiter talks to Redis here.
    app = create_app(dict(app_config, RATE_LIMIT="5/minute", SEARCH_CACHE=False))
    try:
        token, other = (
            issue_token(make_user(app.data.driver.db), app.config["SECRET_KEY"], 60)
            for _ in range(2)
        )
        http = app.test_client()
        probe = redis.Redis.from_url(app.config["REDIS_URL"])
        # Another user's bucket: connects and loads the script before counting.
        http.get("/api/v1/hotels", headers={"Authorization": f"Bearer {other}"})
        before = probe.info("commandstats")
        remaining = [
            http.get("/api/v1/hotels", headers={"Authorization": f"Bearer {token}"}).headers[
                "X-RateLimit-Remaining"
            ]
            for _ in range(5)
        ]
        after = probe.info("commandstats")
        probe.close()
        assert remaining == ["4", "3", "2", "1", "0"]
        calls = {
            name.removeprefix("cmdstat_"): stats["calls"] - before.get(name, {"calls": 0})["calls"]
            for name, stats in after.items()
        }
        sent = {
            n: c
            for n, c in calls.items()
            if c and n not in ("lindex", "lpush", "ltrim", "expire", "info")
        }
        assert sent == {"evalsha": 5}, sent
    finally:
        close_app(app)


def test_forwarded_for_is_ignored_unless_behind_trusted_proxies(app_config):
    from run import close_app, create_app

    for proxies, expect_spoof_works in (0, False), (1, True):
        app = create_app(
            dict(
                app_config,
                RATE_LIMIT="2/minute",
                TRUSTED_PROXY_COUNT=proxies,
                MONGO_DBNAME=app_config["MONGO_DBNAME"] + str(proxies),
            )
        )
        try:
            http = app.test_client()
            statuses = [
                http.get(
                    "/api/v1/hotels",
                    headers={"X-Forwarded-For": f"203.0.113.{i}"},
                    environ_base={"REMOTE_ADDR": "127.0.0.1"},
                ).status_code
                for i in range(4)
            ]
            # No proxy configured: every spoofed address lands in 127.0.0.1's bucket.
            # One trusted proxy: each address it appended is a client with its own bucket.
            assert (statuses == [200] * 4) is expect_spoof_works, statuses
        finally:
            with app.app_context():
                app.data.driver.db.client.drop_database(app.config["MONGO_DBNAME"])
            close_app(app)


def test_redis_down_reads_continue_guarded_writes_503_then_recover(app_config, tmp_path, stock):
    """Stop the real embedded Redis mid-run, then start it again on the same port."""
    from identity.tokens import issue_token
    from run import close_app, create_app
    from tests.conftest import make_user

    redis = embedded.redis_server(tmp_path, embedded.free_port(), persist=False).start()
    app = create_app(dict(app_config, REDIS_URL=embedded.redis_url(redis.port)))
    try:
        db = app.data.driver.db
        room_type, start = stock()
        guest = make_user(db)
        token = issue_token(guest, app.config["SECRET_KEY"], 600)
        http = app.test_client()
        auth = {"Authorization": f"Bearer {token}"}
        body = stay(room_type, start, 1)
        assert http.get("/api/v1/hotels", headers=auth).status_code == 200
        booking = http.post("/api/v1/bookings", json=body, headers=auth).json

        redis.stop()

        # The limiter re-checks its storage at most once a second: until it has, wait.
        def signing_in():  # a guarded write without side effects: a failed sign-in
            credentials = {"email": "a@b.cd", "password": "x" * 12}
            return http.post("/api/v1/auth/token", json=credentials).status_code

        wait_for(lambda: signing_in() == 503, what="guarded writes to pause without Redis")
        assert http.get("/api/v1/hotels", headers=auth).status_code == 200
        assert http.get(f"/api/v1/room-types/{room_type['_id']}").status_code == 200
        refused = http.post("/api/v1/bookings", json=body, headers=auth)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "5"
        message = refused.json["_error"]["message"]
        assert "new bookings, payments and booking changes are paused" in message
        assert (
            http.post(
                "/api/v1/auth/token", json={"email": "a@b.cd", "password": "x" * 12}
            ).status_code
            == 503
        )
        changed = http.post(
            f"/api/v1/bookings/{booking['_id']}/change",
            json={"adults": 2},
            headers={**auth, "If-Match": booking["_etag"]},
        )
        assert changed.status_code == 503  # it answered 200
        assert db.bookings.count_documents({}) == 1
        assert db.bookings.find_one()["_etag"] == booking["_etag"]
        health = http.get("/health")
        assert health.status_code == 503 and health.json["redis"] == "down"

        redis.start()
        wait_for(lambda: signing_in() != 503, what="guarded writes to resume with Redis back")
        assert http.post("/api/v1/bookings", json=body, headers=auth).status_code == 201
        # A failed probe is remembered for probes.FAILURE_SECONDS (a flood of health
        # checks during an outage holds no thread): health says ok once that has passed.
        wait_for(lambda: http.get("/health").status_code == 200, what="health back to ok")
    finally:
        close_app(app)
        redis.stop()
