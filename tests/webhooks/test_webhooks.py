"""Signed webhooks to a hotel's systems, against a real HTTP receiver that verifies every
delivery with the standardwebhooks library: written once from the change stream, sent
by the worker, retried, disabled after three days, replayed; the SSRF guard."""

import dataclasses
import ipaddress
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from bson import ObjectId

import cli
import settings
from plumbing.embedded import free_port
from plumbing.jobs import JobContext
from plumbing.values import utcnow
from settings import ConfigError
from tests.conftest import make_user, stock_room_type, wait_for
from tests.factories import book, pay
from tests.recording import recorded
from tests.support import ROOT, csrf, kill_worker_when, sign_in
from tests.webhook_receiver import Receiver
from webhooks import Settings, delivery, feed, guard

ALL = ["booking.created", "booking.confirmed", "booking.cancelled", "payment.refunded"]


@pytest.fixture
def receiver():
    started = Receiver().start()
    yield started
    started.stop()


def _endpoint(client, hotel_id, receiver, events=ALL):
    created = client.post(
        "webhook-endpoints", {"hotel": hotel_id, "url": receiver.url, "events": events}
    )
    assert created.status_code == 201, created.json
    receiver.secret = created.json["secret"]
    return created.json


def _pass(app, db, now=None):
    """One pass of the worker's webhook jobs, sending here (not on its threads)."""
    feed.drain(db)
    return delivery.deliver(db, app.extensions["webhooks"], now=now)


def test_a_paid_booking_is_told_signed_once_in_commit_order(
    app, db, manager, guest, stock, receiver
):
    feed.drain(db)  # the feed's place: what happens from now on
    room_type, start = stock(nights=2, allotment=2, price="150.25")
    endpoint = _endpoint(manager, room_type["hotel"], receiver)
    assert endpoint["secret"].startswith("whsec_")
    shown = manager.get(f"webhook-endpoints/{endpoint['_id']}")
    assert shown.status_code == 200 and "secret" not in shown.json  # shown once
    booking = book(guest, room_type, start, nights=2).json
    assert pay(guest, booking).status_code == 201
    assert _pass(app, db) == (2, 0)
    assert _pass(app, db) == (0, 0)  # nothing twice
    assert receiver.types() == ["booking.created", "booking.confirmed"]
    (created_id, created), (confirmed_id, confirmed) = receiver.received
    assert created_id != confirmed_id and receiver.unverified == 0
    assert confirmed["data"]["_id"] == booking["_id"]
    assert confirmed["data"]["status"] == "confirmed"
    assert confirmed["data"]["check_in"] == booking["check_in"]  # as the API shows it
    assert confirmed["data"]["total_price"] == "300.50"


def _booked_and_paid(guest, stock, hotel=None):
    """A booking of two nights at 150.25, paid (in `hotel`, or a new one)."""
    extra = {} if hotel is None else {"hotel": {"_id": hotel}}
    room_type, start = stock(nights=2, allotment=2, price="150.25", **extra)
    booking = book(guest, room_type, start, nights=2).json
    assert pay(guest, booking).status_code == 201
    return booking


def test_a_receiver_answering_500_gets_the_same_id_again_after_backoff(
    app, db, manager, guest, stock, make_room_type, receiver
):
    feed.drain(db)
    room_type, start = stock(nights=2, allotment=2, price="150.25")
    endpoint = _endpoint(manager, room_type["hotel"], receiver, ["booking.confirmed"])
    booking = book(guest, room_type, start, nights=2).json
    receiver.answers.append(500)
    assert pay(guest, booking).status_code == 201  # the booking never waits for webhooks
    assert _pass(app, db) == (0, 1)
    waiting = db.webhook_deliveries.find_one()
    assert waiting["status"] == "pending" and waiting["last_status_code"] == 500
    assert 15 <= (waiting["next_at"] - utcnow()).total_seconds() <= 30  # 30 s, jittered
    assert _pass(app, db) == (0, 0)  # not before its time
    assert _pass(app, db, now=waiting["next_at"]) == (1, 0)
    (first_id, first), (second_id, second) = receiver.received
    assert first_id == second_id == waiting["event_id"] and first == second
    listed = manager.get(f"webhook-endpoints/{endpoint['_id']}/deliveries")
    assert listed.status_code == 200
    (item,) = listed.json["_items"]
    assert (item["id"], item["type"], item["status"]) == (
        first_id,
        "booking.confirmed",
        "delivered",
    )
    assert [a["status_code"] for a in item["attempts"]] == [500, 200]
    assert all(a["latency_ms"] >= 0 for a in item["attempts"]) and item["next_retry"] is None
    assert item["event"]["data"]["_id"] == booking["_id"]


def test_three_days_of_failures_disable_the_endpoint_and_tell_its_managers(
    app, db, manager, guest, stock, receiver
):
    feed.drain(db)
    room_type, start = stock(nights=2, allotment=2, price="150.25")
    endpoint = _endpoint(
        manager, room_type["hotel"], receiver, ["booking.confirmed", "booking.cancelled"]
    )
    receiver.answers.extend([500] * 3)
    booking = book(guest, room_type, start, nights=2).json
    assert pay(guest, booking).status_code == 201
    assert _pass(app, db) == (0, 1)
    started = db.webhook_deliveries.find_one()["first_attempt_at"]
    almost = started + delivery.GIVE_UP_AFTER - timedelta(minutes=1)
    assert _pass(app, db, now=almost) == (0, 1)  # still trying
    assert db.webhook_deliveries.find_one()["status"] == "pending"
    late = started + delivery.GIVE_UP_AFTER + timedelta(hours=7)
    assert _pass(app, db, now=late) == (0, 1)
    gone = db.webhook_deliveries.find_one()
    assert (gone["status"], gone["attempt_count"]) == ("failed", 3)
    shown = manager.get(f"webhook-endpoints/{endpoint['_id']}").json
    assert shown["enabled"] is False
    assert shown["disabled_reason"] == "deliveries failed for 3 days (last: HTTP 500)"
    (told,) = db.outbox.find({"kind": "webhook.disabled"})
    assert told["to"] == manager.user["email"] and endpoint["_id"] in told["text"]
    assert told["subject"].startswith("Webhook endpoint disabled")
    # Disabled, it is told nothing; enabled again, the reason goes and it hears again.
    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200
    assert _pass(app, db, now=late) == (0, 0)
    assert db.webhook_deliveries.count_documents({}) == 1
    enabled = manager.patch_item(f"webhook-endpoints/{endpoint['_id']}", {"enabled": True})
    assert enabled.status_code == 200 and enabled.json["disabled_reason"] is None
    again = _booked_and_paid(guest, stock, room_type["hotel"])
    assert _pass(app, db) == (1, 0)
    assert receiver.received[-1][1]["data"]["_id"] == again["_id"]


PRODUCTION = Settings(allowed_networks=(), require_https=True, timeout=5, public_url="")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hooks", "resolves to 127.0.0.1, a loopback, private"),
        ("https://localhost:8443/hooks", "a loopback, private, link-local or reserved"),
        ("https://10.1.2.3/hooks", "resolves to 10.1.2.3"),
        ("https://192.168.0.10/hooks", "resolves to 192.168.0.10"),
        ("https://169.254.169.254/latest/meta-data", "resolves to 169.254.169.254"),
        ("https://[::1]/hooks", "resolves to ::1"),
        ("https://[::ffff:10.0.0.1]/hooks", "resolves to ::ffff:a00:1"),
        ("https://0.0.0.0/hooks", "resolves to 0.0.0.0"),
        ("http://93.184.215.14/hooks", "must be https"),
        ("ftp://93.184.215.14/hooks", "must be an http or https URL"),
        ("https://user:pw@93.184.215.14/hooks", "must not carry a user or password"),
        ("https://no-such-host.invalid/hooks", "does not resolve"),
    ],
)
def test_production_refuses_urls_into_private_networks(url, reason):
    with pytest.raises(guard.Refused, match=reason.replace("[", r"\[").replace(".", r"\.")):
        guard.check(url, PRODUCTION)


def test_a_public_address_and_an_allowed_private_network_are_accepted():
    public = guard.check("https://93.184.215.14:8443/in?x=1", PRODUCTION)
    assert (public.address, public.port, public.path) == ("93.184.215.14", 8443, "/in?x=1")
    office = Settings(
        allowed_networks=(ipaddress.ip_network("10.20.0.0/16"),),
        require_https=True,
        timeout=5,
        public_url="",
    )
    assert guard.check("http://10.20.1.2/pms", office).address == "10.20.1.2"
    with pytest.raises(guard.Refused, match="resolves to 10.21.0.1"):
        guard.check("http://10.21.0.1/pms", office)


def test_endpoints_belong_to_their_hotels_managers(
    app, db, admin, manager, guest, make_hotel, login, receiver
):
    hotel = make_hotel()
    body = {"hotel": hotel["_id"], "url": receiver.url, "events": ["booking.confirmed"]}
    forbidden = guest.post("webhook-endpoints", body)
    assert forbidden.status_code == 403
    assert forbidden.json["_error"]["message"] == (
        "your role (guest) may not POST webhook_endpoints; allowed: manager, admin"
    )
    other = login("manager")
    refused = other.post("webhook-endpoints", body)
    assert refused.status_code == 403, refused.json
    assert refused.json["_error"]["message"] == (
        "only an admin or a manager of this hotel may change it"
    )
    private = manager.post("webhook-endpoints", {**body, "url": "http://10.0.0.7/hooks"})
    assert private.status_code == 422
    assert "10.0.0.7" in private.json["_issues"]["url"]
    unknown = manager.post("webhook-endpoints", {**body, "events": ["booking.eaten"]})
    assert unknown.status_code == 422 and "events" in unknown.json["_issues"]
    mine = manager.post("webhook-endpoints", body).json
    path = f"webhook-endpoints/{mine['_id']}"
    hidden = other.get(path)  # another hotel's: as if it did not exist
    assert hidden.status_code == 404
    assert hidden.json["_error"]["message"] == f"webhook endpoint {mine['_id']} not found"
    assert other.get("webhook-endpoints").json["_items"] == []
    deliveries = other.get(f"{path}/deliveries")
    assert deliveries.status_code == 404
    assert deliveries.json["_error"]["message"] == f"webhook endpoint {mine['_id']} not found"
    assert [e["_id"] for e in admin.get("webhook-endpoints").json["_items"]] == [mine["_id"]]
    moved = manager.patch_item(path, {"hotel": make_hotel()["_id"]})
    assert moved.status_code == 422
    assert moved.json["_issues"] == {"hotel": "cannot change"}
    assert moved.json["_error"]["message"].startswith("an endpoint stays with its hotel")
    bad = manager.patch_item(path, {"url": "https://169.254.169.254/"})
    assert bad.status_code == 422 and "169.254.169.254" in bad.json["_issues"]["url"]
    listed = manager.get(f"{path}/deliveries?status=lost&max_results=101&sort=x")
    assert listed.status_code == 400
    assert set(listed.json["_issues"]) == {"status", "max_results", "sort"}
    assert "delivered" in listed.json["_issues"]["status"]
    assert manager.delete_item(path).status_code == 204


def test_a_range_edit_is_one_inventory_event_with_its_nights(
    app, db, admin, manager, make_room_type, receiver
):
    feed.drain(db)
    room_type = make_room_type()
    _endpoint(manager, room_type["hotel"], receiver, ["inventory.changed"])
    start = stock_room_type(admin, room_type, nights=4, allotment=3, price="99.00")
    assert _pass(app, db) == (1, 0)
    ((_, event),) = receiver.received
    assert event["type"] == "inventory.changed"
    assert event["data"]["room_type"] == room_type["_id"]
    nights = event["data"]["nights"]
    assert [n["date"] for n in nights] == [start.plus(i).isoformat() for i in range(4)]
    assert {(n["allotment"], n["price"]) for n in nights} == {(3, "99.00")}


def test_the_feed_applied_again_writes_no_second_delivery(
    app, db, manager, guest, stock, receiver
):
    """A pass that crashed before saving its position applies the same changes again."""
    feed.drain(db)
    kept = db.feed_positions.find_one({"_id": feed.FEED})
    hotel = stock()[0]["hotel"]
    _endpoint(manager, hotel, receiver)
    _booked_and_paid(guest, stock, hotel)
    feed.drain(db)
    written = db.webhook_deliveries.count_documents({})
    assert written == 2
    db.feed_positions.replace_one({"_id": feed.FEED}, kept)  # as if never saved
    assert feed.drain(db) == 0
    assert _pass(app, db) == (2, 0)
    ids = [webhook_id for webhook_id, _ in receiver.received]
    assert len(ids) == len(set(ids)) == 2


def test_a_slow_receiver_holds_no_worker(app, db, manager, guest, stock, receiver):
    """The job hands deliveries to sender threads and returns while the receiver still
    holds the request; a receiver that never answers is an attempt that timed out."""
    feed.drain(db)
    hotel = stock()[0]["hotel"]
    _endpoint(manager, hotel, receiver, ["booking.confirmed"])
    _booked_and_paid(guest, stock, hotel)
    feed.drain(db)
    receiver.hold = threading.Event()
    context = JobContext(db, app.extensions)
    delivery.JOBS[0].run(context)  # wakes the dispatcher, returns at once
    assert receiver.arrived.wait(10)
    assert db.webhook_deliveries.find_one()["status"] == "sending"  # the job did not wait
    receiver.hold.set()
    wait_for(lambda: db.webhook_deliveries.find_one()["status"] == "delivered")
    app.extensions["webhook_senders"].stop()  # from here on this test sends by itself
    replayed = manager.post(
        f"webhook-endpoints/{db.webhook_deliveries.find_one()['endpoint']}/deliveries/"
        f"{db.webhook_deliveries.find_one()['event_id']}/replay"
    )
    assert replayed.status_code == 202
    receiver.hold, receiver.arrived = threading.Event(), threading.Event()
    impatient = dataclasses.replace(app.extensions["webhooks"], timeout=1)
    assert delivery.deliver(db, impatient) == (0, 1)
    (attempt,) = db.webhook_deliveries.find_one()["attempts"][-1:]
    assert (attempt["status_code"], attempt["error"]) == (None, "no answer within 1 s")
    receiver.hold.set()


def test_a_run_goes_on_one_connection_and_a_silent_receiver_holds_back_the_rest_unsent(
    app, db, manager, guest, stock, receiver
):
    """A sender sends an endpoint's claimed deliveries one after another on one kept-alive
    connection. When one gets no answer, the rest of its run go back unsent (no attempt
    counted) to wait as long as it: a down receiver costs one timeout, not one each."""
    feed.drain(db)
    hotel = stock()[0]["hotel"]
    _endpoint(manager, hotel, receiver, ["booking.confirmed"])
    for _ in range(3):
        _booked_and_paid(guest, stock, hotel)
    feed.drain(db)
    settings_ = app.extensions["webhooks"]
    claimed = delivery.claim_due(db, "test")
    assert len(claimed) == 3 and len({e["_id"] for _, e in claimed}) == 1
    outcomes = delivery.send_run([d for d, _ in claimed], claimed[0][1], settings_)
    delivery.record(db, outcomes, settings_)
    assert [o["delivered"] for o in outcomes] == [True] * 3
    assert len(receiver.peers) == 3 and len(set(receiver.peers)) == 1  # one connection
    assert {d["status"] for d in db.webhook_deliveries.find()} == {"delivered"}

    for _ in range(3):
        _booked_and_paid(guest, stock, hotel)
    feed.drain(db)
    receiver.hold = threading.Event()
    impatient = dataclasses.replace(settings_, timeout=1)
    claimed = delivery.claim_due(db, "test")
    outcomes = delivery.send_run([d for d, _ in claimed], claimed[0][1], impatient)
    delivery.record(db, outcomes, impatient)
    receiver.hold.set()
    first, *rest = (db.webhook_deliveries.find_one({"_id": d["_id"]}) for d, _ in claimed)
    assert (first["attempt_count"], first["attempts"][-1]["error"]) == (1, "no answer within 1 s")
    assert [(d["status"], d["attempt_count"], d["attempts"]) for d in rest] == [
        ("pending", 0, []),
        ("pending", 0, []),
    ]
    assert {d["next_at"] for d in rest} == {first["next_at"]} and first["next_at"] > utcnow()


def test_the_dispatchers_window_claims_in_order_and_a_full_read_finds_what_fell_below(
    app, db, manager, guest, stock, receiver
):
    """Due deliveries are read a window of next_at at a time. A delivery left due (its
    booking's earlier one still going) holds the floor; one written below the floor (a
    race between two workers) is found by the next full read."""
    feed.drain(db)
    hotel = stock()[0]["hotel"]
    _endpoint(manager, hotel, receiver, ["booking.created", "booking.confirmed"])
    _booked_and_paid(guest, stock, hotel)
    feed.drain(db)
    window, settings_ = delivery.Window(), app.extensions["webhooks"]
    # Room for one: the booking's confirmation is left due, and holds the floor.
    first = delivery.claim_due(db, "test", window=window, room=1)  # a full read, first
    assert [d["type"] for d, _ in first] == ["booking.created"]
    confirmed = db.webhook_deliveries.find_one({"type": "booking.confirmed"})
    assert window.floor == confirmed["next_at"]
    delivery.record(db, delivery.send_run([first[0][0]], first[0][1], settings_), settings_)
    second = delivery.claim_due(db, "test", window=window)
    assert [d["type"] for d, _ in second] == ["booking.confirmed"]
    delivery.record(db, delivery.send_run([second[0][0]], second[0][1], settings_), settings_)
    assert delivery.claim_due(db, "test", window=window) == []
    assert window.floor > confirmed["next_at"]  # nothing left below: it moved on

    # A booking's deliveries claimed together go in one run, in order; the first
    # refused, the next is held back unsent to wait as long as it.
    _booked_and_paid(guest, stock, hotel)
    feed.drain(db)
    both = delivery.claim_due(db, "test", window=window)
    assert [d["type"] for d, _ in both] == ["booking.created", "booking.confirmed"]
    ((run, endpoint),) = delivery._runs(both)
    receiver.answers.append(500)
    delivery.record(db, delivery.send_run(run, endpoint, settings_), settings_)
    created, held = (db.webhook_deliveries.find_one({"_id": d["_id"]}) for d, _ in both)
    assert (created["last_status_code"], held["attempt_count"]) == (500, 0)
    assert held["status"] == "pending" and held["next_at"] == created["next_at"]
    assert receiver.types()[-1] == "booking.created"  # the confirmation was not sent
    db.webhook_deliveries.update_many(
        {"_id": {"$in": [created["_id"], held["_id"]]}},
        {"$set": {"status": "delivered", "waiting": False, "next_at": None}},
    )

    below = window.floor - timedelta(seconds=5)
    db.webhook_deliveries.update_one(
        {"_id": confirmed["_id"]},
        {"$set": {"status": "pending", "waiting": True, "next_at": below}},
    )
    assert delivery.claim_due(db, "test", window=window) == []  # under the floor
    window.rescanned -= delivery.Window.RESCAN_SECONDS + 1
    assert [d["_id"] for d, _ in delivery.claim_due(db, "test", window=window)] == [
        confirmed["_id"]
    ]


def test_a_replay_sends_the_same_id_and_a_waiting_one_is_refused(
    app, db, manager, guest, stock, receiver
):
    feed.drain(db)
    hotel = stock()[0]["hotel"]
    endpoint = _endpoint(manager, hotel, receiver, ["booking.confirmed"])
    _booked_and_paid(guest, stock, hotel)
    feed.drain(db)
    sent = db.webhook_deliveries.find_one()
    path = f"webhook-endpoints/{endpoint['_id']}/deliveries/{sent['event_id']}/replay"
    early = manager.post(path)
    assert early.status_code == 409 and "pending" in early.json["_error"]["message"]
    assert _pass(app, db) == (1, 0)
    assert manager.post(path).status_code == 202
    unknown = f"webhook-endpoints/{endpoint['_id']}/deliveries/msg_nope/replay"
    missing = manager.post(unknown)
    assert missing.status_code == 404
    assert missing.json["_error"]["message"] == "delivery msg_nope not found"
    assert _pass(app, db) == (1, 0)
    assert [i for i, _ in receiver.received] == [sent["event_id"]] * 2


def test_a_worker_killed_mid_delivery_loses_nothing(
    app, app_config, db, manager, guest, stock, receiver
):
    """A real `flask --app run worker` process writes the deliveries from the change
    stream and is SIGKILLed while the receiver holds its request: the delivery stays
    `sending` under its lease (with the next about its booking, claimed in the same run),
    then goes again with the same webhook-id, and the next follows in order."""
    feed.drain(db)
    hotel = stock()[0]["hotel"]
    _endpoint(manager, hotel, receiver, ["booking.created", "booking.confirmed"])
    booking = _booked_and_paid(guest, stock, hotel)
    receiver.hold = threading.Event()
    kill_worker_when(app_config, receiver.arrived)  # the receiver holds its request
    sending = sorted(d["type"] for d in db.webhook_deliveries.find({"status": "sending"}))
    assert sending == ["booking.confirmed", "booking.created"]  # one run, held at its first
    assert receiver.types() == []  # the held request never ended: nothing verified yet
    settings = app.extensions["webhooks"]
    assert delivery.deliver(db, settings) == (0, 0)  # its lease holds, the next waits
    receiver.hold.set()  # the dead worker's request is answered to nobody
    later = utcnow() + timedelta(seconds=delivery.LEASE_SECONDS + 1)
    assert delivery.deliver(db, settings, now=later) == (2, 0)
    wait_for(lambda: len(receiver.received) == 3, what="the held request and two more")
    ids = {}
    for webhook_id, event in receiver.received:
        ids.setdefault(event["type"], set()).add(webhook_id)
    assert {kind: len(seen) for kind, seen in ids.items()} == {
        "booking.created": 1,
        "booking.confirmed": 1,  # one id each, however often sent
    }
    assert [t for t in receiver.types() if t == "booking.confirmed"] == ["booking.confirmed"]
    assert receiver.received[-1][1]["data"]["_id"] == booking["_id"]


def test_a_manager_creates_an_endpoint_in_the_admin_and_replays_a_delivery(
    app, db, manager, guest, stock, receiver
):
    feed.drain(db)
    hotel = stock()[0]["hotel"]
    panel = app.test_client()
    assert sign_in(panel, manager.user["email"]).status_code == 302
    form = panel.get("/admin/webhook-endpoints/new/")
    assert form.status_code == 200 and 'name="secret"' not in form.text
    created = panel.post(
        "/admin/webhook-endpoints/new/",
        data={
            "csrf_token": csrf(form.text),
            "hotel": hotel,
            "url": receiver.url,
            "events": ["booking.confirmed"],
            "enabled": "y",
        },
        follow_redirects=True,
    )
    endpoint = db.webhook_endpoints.find_one()
    assert endpoint["secret"] in created.text  # shown once, on creation
    receiver.secret = endpoint["secret"]
    listing = panel.get("/admin/webhook-endpoints/").text
    assert receiver.url in listing and endpoint["secret"] not in listing
    _booked_and_paid(guest, stock, hotel)
    assert _pass(app, db) == (1, 0)
    page = panel.get(f"/admin/webhook-endpoints/deliveries/{endpoint['_id']}")
    assert "booking.confirmed" in page.text and "HTTP 200" in page.text
    sent = db.webhook_deliveries.find_one()
    replayed = panel.post(
        f"/admin/webhook-endpoints/deliveries/{endpoint['_id']}",
        data={"csrf_token": csrf(page.text), "delivery": sent["event_id"]},
        follow_redirects=True,
    )
    assert "goes again on the worker" in replayed.text
    assert _pass(app, db) == (1, 0)
    assert [i for i, _ in receiver.received] == [sent["event_id"]] * 2
    other = app.test_client()
    stranger = make_user(db, "manager")
    assert sign_in(other, stranger["email"]).status_code == 302
    assert other.get(f"/admin/webhook-endpoints/deliveries/{endpoint['_id']}").status_code == 404


def test_the_readmes_receiver_verifies_and_prints_each_event(
    app, db, manager, guest, stock, tmp_path
):
    """docs/webhook_receiver.py, as the README runs it: every delivery verified with the
    secret the endpoint's creation showed, one line per event."""
    feed.drain(db)
    hotel = stock()[0]["hotel"]
    port = free_port()
    secrets = tmp_path / "secrets"
    secrets.write_text("whsec_" + "A" * 32 + "\n")  # another endpoint's: tried, no match
    url = f"http://127.0.0.1:{port}/hooks"
    created = manager.post(
        "webhook-endpoints", {"hotel": hotel, "url": url, "events": ["booking.confirmed"]}
    ).json
    with secrets.open("a") as kept:
        kept.write(created["secret"] + "\n")
    printer = subprocess.Popen(
        [sys.executable, str(ROOT / "docs" / "webhook_receiver.py"), str(port), str(secrets)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert printer.stdout.readline().startswith("listening on")
        booking = _booked_and_paid(guest, stock, hotel)
        assert _pass(app, db) == (1, 0)
        webhook_id, kind, code, status = printer.stdout.readline().split()
        assert (kind, code, status) == (
            "booking.confirmed",
            booking["confirmation_code"],
            "confirmed",
        )
        assert webhook_id == db.webhook_deliveries.find_one()["event_id"]
    finally:
        printer.terminate()
        printer.wait(10)
        printer.stdout.close()


def test_a_worker_skips_the_jobs_it_is_told_to_and_refuses_unknown_ones(
    app, db, manager, guest, stock, receiver, monkeypatch
):
    feed.drain(db)
    hotel = stock()[0]["hotel"]
    _endpoint(manager, hotel, receiver, ["booking.confirmed"])
    _booked_and_paid(guest, stock, hotel)
    stop = threading.Event()
    monkeypatch.setitem(app.config, "WORKER_SKIP_JOBS", ["webhook feed", "webhook delivery"])
    cli.run_jobs(app, stop, once=True, log=lambda line: None)
    assert db.webhook_deliveries.count_documents({}) == 0  # left to another worker
    monkeypatch.setitem(app.config, "WORKER_SKIP_JOBS", ["webhook fed"])
    with pytest.raises(ConfigError, match="WORKER_SKIP_JOBS names no job webhook fed; the jobs"):
        cli.run_jobs(app, stop, once=True)
    monkeypatch.setitem(app.config, "WORKER_SKIP_JOBS", [])
    cli.run_jobs(app, stop, once=True, log=lambda line: None)
    assert db.webhook_deliveries.count_documents({}) == 1


def test_disabling_an_endpoint_cancels_what_it_had_waiting(
    app, db, manager, guest, stock, receiver
):
    feed.drain(db)
    hotel = stock()[0]["hotel"]
    endpoint = _endpoint(manager, hotel, receiver, ["booking.created", "booking.confirmed"])
    _booked_and_paid(guest, stock, hotel)
    feed.drain(db)
    path = f"webhook-endpoints/{endpoint['_id']}"
    assert manager.patch_item(path, {"enabled": False}).status_code == 200
    assert {d["status"] for d in db.webhook_deliveries.find()} == {"cancelled"}
    created = db.webhook_deliveries.find_one({"type": "booking.created"})
    replayed = manager.post(f"{path}/deliveries/{created['event_id']}/replay")
    assert (
        replayed.status_code == 202 and "once the endpoint is enabled" in replayed.json["message"]
    )
    assert _pass(app, db) == (0, 0)  # a disabled endpoint is sent nothing
    assert manager.patch_item(path, {"enabled": True}).status_code == 200
    assert _pass(app, db) == (1, 0)
    assert receiver.types() == ["booking.created"]


def test_booking_and_paying_never_touch_mail_or_webhooks(app, db, manager, guest, stock, receiver):
    """Notifications cost the booking path no command: the feeds find the changes later
    in the change stream. (What they cost the database meanwhile: bench/notifications.py.)"""
    hotel = stock()[0]["hotel"]
    _endpoint(manager, hotel, receiver)
    room_type, start = stock(nights=2, allotment=2, hotel={"_id": hotel})
    with recorded() as commands:
        booking = book(guest, room_type, start, nights=2).json
        assert pay(guest, booking).status_code == 201
        cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
        assert cancelled.status_code == 200
    touched = {command.get(name) for name, command in commands}
    assert "bookings" in touched and "payments" in touched  # the flow was recorded
    assert not touched & {"outbox", "webhook_deliveries", "webhook_endpoints"}


def test_history_written_in_bulk_is_not_news(app, db, manager, guest, stock, receiver):
    """The demo seed writes a year of bookings with their own (past) times: an endpoint
    created meanwhile is not told of last month's stays."""
    feed.drain(db)
    hotel = stock()[0]["hotel"]
    _endpoint(manager, hotel, receiver, ["booking.created", "booking.confirmed"])
    booking = _booked_and_paid(guest, stock, hotel)
    last_month = utcnow() - timedelta(days=30)
    db.bookings.update_one(
        {"_id": ObjectId(booking["_id"])},
        {"$set": {"_created": last_month, "confirmed_at": last_month, "status": "confirmed"}},
    )
    db.webhook_deliveries.delete_many({})
    db.feed_positions.delete_many({})
    feed.drain(db)
    room_type, start = stock(nights=2, allotment=2, hotel={"_id": hotel})
    old = db.bookings.find_one({"_id": ObjectId(booking["_id"])})
    db.bookings.delete_one({"_id": old["_id"]})
    db.bookings.insert_one(old)  # as the seed writes it: now, with last month's times
    fresh = book(guest, room_type, start, nights=2).json
    assert _pass(app, db) == (1, 0)
    assert [e["data"]["_id"] for _, e in receiver.received] == [fresh["_id"]]


def test_webhook_settings_are_refused_naming_what_is_wrong(monkeypatch, tmp_path):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))  # embedded mode keeps its secrets there
    monkeypatch.setenv("WEBHOOK_ALLOWED_NETWORKS", "10.20.0.0/16,office")
    with pytest.raises(ConfigError, match="WEBHOOK_ALLOWED_NETWORKS holds 'office', which is not"):
        settings.load()
    monkeypatch.setenv("WEBHOOK_ALLOWED_NETWORKS", "10.20.0.0/16")
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "90")
    with pytest.raises(ConfigError, match="WEBHOOK_TIMEOUT_SECONDS must be from 1 to 30"):
        settings.load()
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "5")
    loaded = settings.load()
    assert (loaded["WEBHOOK_ALLOWED_NETWORKS"], loaded["WEBHOOK_TIMEOUT_SECONDS"]) == (
        ["10.20.0.0/16"],
        5,
    )


def test_a_slow_name_lookup_never_holds_the_request(app, manager, make_hotel, monkeypatch):
    """A URL whose host takes long to resolve is let through on write (the delivery checks
    it again); the request does not wait for the lookup."""
    released = threading.Event()

    def slow_lookup(*args, **kwargs):
        released.wait(10)  # as a resolver that never answers, until the test ends
        raise OSError("no answer")

    monkeypatch.setattr(guard.socket, "getaddrinfo", slow_lookup)
    try:
        body = {
            "hotel": make_hotel()["_id"],
            "url": "https://slow.example/hooks",
            "events": ["booking.confirmed"],
        }
        created = manager.post("webhook-endpoints", body)
        assert created.status_code == 201, created.json  # answered before the lookup did
        assert not released.is_set()
        with pytest.raises(guard.Refused, match="did not resolve within 0.1 s"):
            guard.check("https://slow.example/hooks", PRODUCTION, resolve_seconds=0.1)
    finally:
        released.set()
