"""Live status: a booking's changes pushed as Server-Sent Events from the change stream,
in the app and across two server processes."""

import json
import socket
import threading
import urllib.error
import urllib.request

import pytest

from tests.factories import change, make_booking


def read_events(response, count):
    """The next `count` events of a streamed test response: [(name, data, id)]."""
    found, buffer = [], ""
    for chunk in response.response:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            fields = dict(
                line.split(": ", 1)
                for line in block.splitlines()
                if not line.startswith(":") and ": " in line
            )
            if "event" in fields:
                found.append((fields["event"], json.loads(fields["data"]), fields.get("id")))
                if len(found) == count:
                    return found
    return found


def listen(guest, booking, **headers):
    response = guest.get(f"bookings/{booking['_id']}/events", buffered=False, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/event-stream"
    return response


def test_a_listener_hears_each_status_change_once(stock, guest):
    room_type, start = stock(nights=3)
    booking = make_booking(guest, room_type, start)
    stream = listen(guest, booking)
    ((name, data, first_id),) = read_events(stream, 1)
    assert name == "status" and data["status"] == "pending_payment"
    assert data["booking"] == booking["_id"] and data["hold_expires_at"]
    paid = guest.post("payments", {"booking": booking["_id"], "payment_method": "pm_card_visa"})
    assert paid.status_code == 201
    confirmed = guest.get(f"bookings/{booking['_id']}").json
    moved = change(guest, confirmed, {"check_out": start.plus(1).isoformat()})
    assert moved.status_code == 200
    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200
    events = read_events(stream, 5)
    names = [name for name, _data, _id in events]
    assert names == ["confirmed", "modified", "refunded", "cancelled", "refunded"], names
    assert events[1][1]["check_out"] == start.plus(1).isoformat()
    assert events[2][1]["refunded_amount"] == "100.00"  # the night given back
    assert events[3][1]["refund_amount"] == "100.00"
    # The cancelled event carries the etag and time of the cancelled booking, which a
    # client can send back in If-Match (it once carried the etag from before the cancel).
    now = guest.get(f"bookings/{booking['_id']}").json
    assert events[3][1]["_etag"] == now["_etag"] == cancelled.json["_etag"]
    assert events[3][1]["at"] == now["_updated"]
    assert (
        events[4][1]["refunded_amount"] == "200.00"
        and events[4][1]["payment_status"] == "refunded"
    )
    stream.close()


def test_resuming_after_an_event_misses_nothing(stock, guest):
    room_type, start = stock(nights=3)
    booking = make_booking(guest, room_type, start)
    stream = listen(guest, booking)
    ((_name, _data, opened),) = read_events(stream, 1)
    stream.close()
    # While nobody listens, it is paid; a listener resuming from the first id hears it.
    guest.post("payments", {"booking": booking["_id"], "payment_method": "pm_card_visa"})
    resumed = listen(guest, booking, **{"Last-Event-ID": opened})
    ((name, data, _id),) = read_events(resumed, 1)
    assert (name, data["status"]) == ("confirmed", "confirmed")
    resumed.close()


def test_only_the_bookings_own_people_listen(stock, guest, login, app):
    room_type, start = stock(nights=3)
    booking = make_booking(guest, room_type, start)
    other = login("guest").get(f"bookings/{booking['_id']}/events")
    assert other.status_code == 404
    app.config["LIVE_STREAMS"] = 0
    try:
        from routes import live

        app.extensions.pop("live_streams", None)
        full = guest.get(f"bookings/{booking['_id']}/events")
        assert full.status_code == 503 and full.headers["Retry-After"] == "5"
        assert full.json["_error"]["message"] == (
            "too many live status listeners on this server; retry shortly"
        )
    finally:
        app.config["LIVE_STREAMS"] = 256
        live.streams(app).feed.stop()
        app.extensions.pop("live_streams", None)


@pytest.mark.slow
def test_a_change_through_one_process_reaches_a_listener_on_another(app_config, stock, guest, app):
    from identity.tokens import issue_token
    from tests.support import server_processes

    room_type, start = stock(nights=3)
    booking = make_booking(guest, room_type, start)
    token = issue_token(guest.user, app.config["SECRET_KEY"], 600)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    heard, opened = [], threading.Event()

    def listen_on(base):
        request = urllib.request.Request(
            f"{base}/api/v1/bookings/{booking['_id']}/events", headers=auth
        )
        with urllib.request.urlopen(request, timeout=30) as stream:
            name = None
            for raw in stream:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    heard.append((name, json.loads(line[6:])))
                    opened.set()
                    if name == "cancelled":
                        return

    def call(base, method, path, body, **headers):
        request = urllib.request.Request(
            base + path, json.dumps(body).encode(), {**auth, **headers}, method=method
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    with server_processes(app_config, LIVE_STREAM_SECONDS="30") as (one, other):
        listener = threading.Thread(target=listen_on, args=(one,), daemon=True)
        listener.start()
        assert opened.wait(20), "the stream never opened"
        call(
            other,
            "POST",
            "/api/v1/payments",
            {"booking": booking["_id"], "payment_method": "pm_card_visa"},
        )
        etag = call(other, "GET", f"/api/v1/bookings/{booking['_id']}", None)["_etag"]
        call(
            other,
            "PATCH",
            f"/api/v1/bookings/{booking['_id']}",
            {"status": "cancelled"},
            **{"If-Match": etag},
        )
        listener.join(20)
    names = [name for name, _data in heard]
    assert names == ["status", "confirmed", "cancelled"], heard
    assert heard[2][1]["refund_amount"] == "200.00"


def test_head_and_closed_streams_give_their_slot_back(stock, guest, app):
    from routes import live

    room_type, start = stock(nights=3)
    booking = make_booking(guest, room_type, start)
    path = f"bookings/{booking['_id']}/events"
    served = live.streams(app)
    for _ in range(served.per_user + 2):  # werkzeug reads no body of a HEAD: no stream
        head = guest.request("HEAD", path)
        assert head.status_code == 200 and head.data == b""
        assert head.mimetype == "text/event-stream"
    assert served.users == {}
    opened = [listen(guest, booking) for _ in range(served.per_user)]
    refused = guest.get(path)
    assert refused.status_code == 429, refused.json
    assert refused.json["_error"]["message"] == (
        "you already follow 4 live status streams (LIVE_STREAMS_PER_USER); close one first"
    )
    opened.pop().close()  # a client that hangs up, even before reading a byte
    again = listen(guest, booking)
    ((name, data, _id),) = read_events(again, 1)
    assert (name, data["status"]) == ("status", "pending_payment")
    for stream in [again, *opened]:
        stream.close()
    assert served.users == {} and served.feed.listeners() == 0


def _open_stream(port, path, token):
    """A raw socket that has sent the stream's GET: the server holds it open."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    return sock


def _read_until(sock, marker, buffer=b""):
    while marker not in buffer:
        chunk = sock.recv(65536)
        assert chunk, "the stream closed"
        buffer += chunk
    return buffer[buffer.index(marker) + len(marker) :]


def _gauge(base):
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as answer:  # noqa: S310
        text = answer.read().decode()
    line = next(line for line in text.splitlines() if line.startswith("innkeeper_live_streams "))
    return float(line.split()[1])


@pytest.mark.slow
def test_one_process_serves_200_streams_from_one_change_stream(app_config, stock, guest, app):
    from identity.tokens import issue_token
    from tests.support import server_processes

    room_type, start = stock(nights=3)
    booking = make_booking(guest, room_type, start)
    token = issue_token(guest.user, app.config["SECRET_KEY"], 600)
    path = f"/api/v1/bookings/{booking['_id']}/events"
    env = {"LIVE_STREAMS": "200", "LIVE_STREAMS_PER_USER": "201"}
    with server_processes(app_config, count=1, **env) as (base,):
        port = int(base.rsplit(":", 1)[1])
        sockets = []
        try:
            _serve_200(base, port, path, token, guest, booking, sockets)
        finally:
            for sock in sockets:
                sock.close()


def _serve_200(base, port, path, token, guest, booking, sockets):
    from tests.conftest import wait_for

    sockets += [_open_stream(port, path, token) for _ in range(200)]
    rest = [_read_until(s, b"event: status") for s in sockets]
    assert _gauge(base) == 200
    over = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as full:
        urllib.request.urlopen(over, timeout=10)  # noqa: S310
    assert full.value.code == 503
    full.value.close()
    # Another client is served meanwhile, and one payment reaches all 200.
    with urllib.request.urlopen(f"{base}/api/v1/hotels", timeout=10) as hotels:  # noqa: S310
        assert hotels.status == 200
    paid = guest.post("payments", {"booking": booking["_id"], "payment_method": "pm_card_visa"})
    assert paid.status_code == 201
    for sock, buffer in zip(sockets, rest, strict=True):
        _read_until(sock, b"event: confirmed", buffer)
    for sock in sockets:  # clients hang up: every slot comes back within seconds
        sock.close()
    wait_for(lambda: _gauge(base) == 0, seconds=10, what="slots given back")
    head = urllib.request.Request(base + path, method="HEAD", headers=over.headers)
    for _ in range(5):
        with urllib.request.urlopen(head, timeout=10) as answer:  # noqa: S310
            assert answer.status == 200
    assert _gauge(base) == 0


def test_version_2_listeners_hear_money_as_objects(stock, guest):
    room_type, start = stock(nights=3)
    booking = make_booking(guest, room_type, start)
    stream = guest.get(f"/api/v2/bookings/{booking['_id']}/events", buffered=False)
    assert stream.status_code == 200 and stream.headers["API-Version"] == "2"
    ((name, data, _id),) = read_events(stream, 1)
    assert name == "status"
    assert data["total_price"] == {"amount": "200.00", "currency": "EUR"}  # 2 x 100.00
    paid = guest.post("payments", {"booking": booking["_id"], "payment_method": "pm_card_visa"})
    assert paid.status_code == 201
    ((name, data, _id),) = read_events(stream, 1)
    assert name == "confirmed" and data["total_price"]["amount"] == "200.00"
    stream.close()
