"""What the third black-box attack and fault run found (issue 30), one test per finding.

The findings that need real server processes (Ctrl-C to `make run`, a kill -9 before a
restart) are in tests/test_run.py; live status in tests/booking/test_live_status.py.
"""

import pytest
from prometheus_client import REGISTRY

from plumbing.values import utcnow
from run import close_app, create_app

RESOURCES = ["hotels", "room-types", "inventory", "reviews", "bookings", "payments", "users"]


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("argument", ["where", "projection"])
@pytest.mark.parametrize("value", ["null", "true", "7", '"stars"', "[]"])
def test_a_json_query_argument_that_is_not_an_object_is_a_400(admin, resource, argument, value):
    response = admin.get(f"{resource}?{argument}={value}")
    assert response.status_code == 400, (response.status_code, response.text)
    message = response.json["_error"]["message"]
    assert message.startswith(f"invalid query: {argument} - "), message
    assert "JSON object" in message


def series(name, **labels):
    """How many time series of `name` the default registry holds (optionally matching)."""
    found = 0
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                found += 1
    return found


def test_made_up_methods_mint_no_metric_series_and_are_rate_limited(app_config):
    app = create_app(dict(app_config, RATE_LIMIT="20/minute"))
    try:
        http = app.test_client()
        before = series("innkeeper_http_requests_total")
        statuses = [http.open("/api/v1/hotels", method=f"BREW{n}").status_code for n in range(25)]
        assert statuses[:20] == [405] * 20, statuses
        assert statuses[20:] == [429] * 5, statuses  # unmatched requests count too
        refused = http.open("/nowhere", method="GET")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "the limit is 20 per 1 minute" in refused.json["_error"]["message"]
        # 25 made-up methods are one "other" series per status, not 25 new ones.
        assert series("innkeeper_http_requests_total") - before <= 3
        assert series("innkeeper_http_requests_total", method="BREW3") == 0
        assert series("innkeeper_http_requests_total", method="other", status="405") == 1
    finally:
        close_app(app)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"adults": "2"}, "adults"),
        ({"children": "0"}, "children"),
        ({"rooms": [{"adults": "1"}]}, "rooms"),
    ],
)
def test_integer_fields_take_json_integers_only(guest, stock, db, body, field):
    room_type, start = stock(nights=2)
    stay = {"check_in": start.isoformat(), "check_out": start.plus(2).isoformat()}
    if "rooms" in body:
        body = {"rooms": [{"room_type": room_type["_id"], **body["rooms"][0]}]}
    else:
        body = {"room_type": room_type["_id"], **body}
    response = guest.post("bookings", {**stay, **body})
    assert response.status_code == 422, response.json
    assert "must be a whole number" in str(response.json["_issues"][field])
    assert db.bookings.count_documents({}) == 0


def test_an_integer_field_in_a_catalogue_write_refuses_a_string(admin, make_hotel, db):
    hotel = make_hotel()
    body = {"hotel": hotel["_id"], "name": "Double", "max_adults": "2", "total_rooms": 5}
    response = admin.post("room-types", body)
    assert response.status_code == 422
    assert response.json["_issues"] == {"max_adults": "must be a whole number"}
    assert db.room_types.count_documents({}) == 0


@pytest.mark.parametrize("resource", ["bookings", "payments"])
@pytest.mark.parametrize("content_type", [None, "text/plain"])
def test_a_keyed_post_without_a_json_body_is_the_documented_400(guest, resource, content_type):
    headers = {"Idempotency-Key": "k-0123456789"}
    if content_type:
        headers["Content-Type"] = content_type
    response = guest.flask.post(
        f"/api/v1/{resource}",
        data=b"" if content_type is None else b"x",
        headers={**guest._headers(headers)},
    )
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.json["_status"] == "ERR"


def test_a_non_json_body_read_anywhere_is_a_400_not_a_415(app_config):
    from flask import request

    app = create_app(app_config)
    try:

        @app.route("/probe-get-json", methods=["POST"])  # a route reading get_json() itself
        def probe():
            return {"got": request.get_json()}

        response = app.test_client().post("/probe-get-json", data=b"a=1")
        assert response.status_code == 400
        assert response.json["_error"]["message"] == (
            "send the body as JSON with Content-Type: application/json"
        )
    finally:
        close_app(app)


@pytest.mark.parametrize(
    "where",
    [None, '{"city": "Paris"}', '{"room_type": {"$ne": "6740f0c2a1b2c3d4e5f60718"}}', "{}"],
)
def test_an_inventory_list_must_name_a_room_type_or_a_night(client, where):
    query = f"inventory?max_results=1&where={where}" if where else "inventory?max_results=1"
    response = client.get(query)
    assert response.status_code == 400, response.json
    message = response.json["_error"]["message"]
    assert "too large to page unfiltered; give room_type or date" in message


def test_an_inventory_list_of_a_room_type_or_a_night_is_served(client, stock):
    room_type, start = stock(nights=3)
    rid = room_type["_id"]
    for where, rows in [
        (f'{{"room_type": "{rid}"}}', 3),
        (f'{{"room_type": {{"$in": ["{rid}"]}}, "date": {{"$gte": "{start}"}}}}', 3),
        (f'{{"$and": [{{"room_type": "{rid}"}}, {{"city": "Paris"}}]}}', 3),
        (f'{{"date": "{start}"}}', 1),
    ]:
        response = client.get(f"inventory?where={where}")
        assert response.status_code == 200, (where, response.json)
        assert response.json["_meta"]["total"] == rows, where


@pytest.mark.slow
def test_a_413_closes_the_connection_without_waiting_for_the_body(app_config):
    import socket

    from tests.support import server_processes

    with server_processes(app_config, count=1) as (base,):
        port = int(base.rsplit(":", 1)[1])
        for connection in ("close", "keep-alive"):
            # 5 MB announced, 100 kB sent, and the client waits for the answer.
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(
                    "POST /api/v1/hotels HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Content-Type: application/json\r\nContent-Length: 5000000\r\n"
                    f"Connection: {connection}\r\n\r\n".encode()
                    + b"{"
                    + b" " * 100_000
                )
                answer = b""
                while chunk := sock.recv(65536):  # a socket.timeout here: the thread held
                    answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 413"), head
            assert b"Connection: close" in head
            assert b"MAX_BODY_BYTES" in body


def test_a_key_claimed_by_a_process_that_died_is_taken_over_at_once(guest, stock, db, app):
    import subprocess
    import sys

    from plumbing import idempotency
    from tests.factories import stay

    room_type, start = stock(nights=1)
    body = stay(room_type, start, 1)
    request_hash = idempotency.fingerprint("POST", "/api/v1/bookings", body)
    # A real process claims the key, then dies before it commits (kill -9 mid-request).
    crash = (
        "import os, sys, pymongo; from bson import ObjectId; from plumbing import idempotency; "
        "db = pymongo.MongoClient(sys.argv[1])[sys.argv[2]]; "
        "idempotency.claim(db, ObjectId(sys.argv[3]), 'cut-off', sys.argv[4], 'bookings'); "
        "os._exit(9)"
    )
    args = [app.config["MONGO_URI"], db.name, str(guest.user["_id"]), request_hash]
    died = subprocess.run([sys.executable, "-c", crash, *args], check=False, cwd=app.root_path)
    assert died.returncode == 9
    claimed = db.idempotency_keys.find_one({"user": guest.user["_id"]})
    assert claimed["state"] == "in_flight" and claimed["lease_until"] > utcnow()
    retried = guest.post("bookings", body, headers={"Idempotency-Key": "cut-off"})
    assert retried.status_code == 201, retried.json  # not 409 "still in progress"
    again = guest.post("bookings", body, headers={"Idempotency-Key": "cut-off"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert db.bookings.count_documents({}) == 1


def test_a_claim_of_another_host_waits_out_a_lease_of_the_request_deadline(guest, stock, db, app):
    from datetime import timedelta

    from plumbing import idempotency
    from tests.factories import stay

    room_type, start = stock(nights=1)
    body = stay(room_type, start, 1)
    hashed = idempotency.fingerprint("POST", "/api/v1/bookings", body)
    db.idempotency_keys.insert_one(
        {
            "_id": idempotency.record_id(guest.user["_id"], "elsewhere"),
            "user": guest.user["_id"],
            "request_hash": hashed,
            "state": "in_flight",
            "created_at": utcnow(),
            "lease_until": utcnow() + timedelta(seconds=5),
            "owner": "another-host:4242:123456",
        }
    )
    busy = guest.post("bookings", body, headers={"Idempotency-Key": "elsewhere"})
    assert busy.status_code == 409 and "still in progress" in busy.json["_error"]["message"]
    db.idempotency_keys.update_one({}, {"$set": {"lease_until": utcnow() - timedelta(seconds=1)}})
    assert (
        guest.post("bookings", body, headers={"Idempotency-Key": "elsewhere"}).status_code == 201
    )
    # A fresh claim's lease is the request deadline and a little more, not half a minute.
    fresh = guest.post(
        "bookings", stay(room_type, start, 1) | {"adults": 2}, headers={"Idempotency-Key": "new"}
    )
    assert fresh.status_code in (201, 409)
    lease = db.idempotency_keys.find_one({"_id": idempotency.record_id(guest.user["_id"], "new")})
    deadline = app.config["QUERY_TIMEOUT_MS"] / 1000 + idempotency.LEASE_MARGIN_SECONDS
    assert abs((lease["lease_until"] - lease["created_at"]).total_seconds() - deadline) < 1


def test_an_integral_number_is_an_integer_as_json_schema_says(guest, stock, db):
    room_type, start = stock(nights=2)
    stay = {"room_type": room_type["_id"], "check_in": start.isoformat()}
    stay["check_out"] = start.plus(2).isoformat()
    half = guest.post("bookings", {**stay, "adults": 1.5})
    assert half.status_code == 422 and half.json["_issues"] == {"adults": "must be a whole number"}
    whole = guest.post("bookings", {**stay, "adults": 2.0})
    assert whole.status_code == 201, whole.json
    assert db.bookings.find_one()["adults"] == 2
    assert type(db.bookings.find_one()["adults"]) is int
