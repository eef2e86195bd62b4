"""After booking: who sees it, cancelling it, holds that lapse, idempotent retries, reconcile."""

import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from bson import ObjectId

from booking import holds, reservations
from cli import run_jobs
from plumbing.values import Day
from tests.factories import book, booked, stay
from tests.support import _race


@pytest.fixture
def pending(guest, stock):
    room_type, start = stock(nights=3, allotment=2)
    response = book(guest, room_type, start, nights=3)
    assert response.status_code == 201
    return response.json


def test_guest_sees_only_own_bookings(pending, login, guest):
    other = login("guest")
    assert guest.get(f"bookings/{pending['_id']}").status_code == 200
    assert other.get(f"bookings/{pending['_id']}").status_code == 404
    assert other.get("bookings").json["_meta"]["total"] == 0
    probe = other.get(f'bookings?where={{"guest": "{guest.user["_id"]}"}}')
    assert probe.json["_meta"]["total"] == 0
    assert guest.get("bookings").json["_meta"]["total"] == 1


def test_managers_read_and_cancel_their_hotels_bookings_only(pending, manager, login, admin):
    assert manager.get(f"bookings/{pending['_id']}").status_code == 200
    assert manager.get("bookings").json["_meta"]["total"] == 1
    outsider = login("manager")
    assert outsider.get(f"bookings/{pending['_id']}").status_code == 404
    assert admin.get("bookings").json["_meta"]["total"] == 1
    path = f"bookings/{pending['_id']}"
    refused = outsider.patch(path, {"status": "cancelled"}, etag=pending["_etag"])
    assert refused.status_code == 404 and refused.json["_error"]["code"] == 404
    # A guest who calls the front desk: the hotel's manager cancels, as the guest would;
    # the booking's links offer them that and nothing of the guest's own (pay, change).
    links = manager.get(path).json["_links"]
    assert "cancel" in links and "pay" not in links and "change" not in links
    assert "cancel" in manager.get("bookings").json["_items"][0]["_links"]
    cancelled = manager.patch(path, {"status": "cancelled"}, etag=pending["_etag"])
    assert cancelled.status_code == 200, cancelled.json
    assert manager.get(path).json["status"] == "cancelled"
    again = outsider.patch(path, {"status": "cancelled"}, etag=cancelled.json["_etag"])
    assert again.status_code == 404


def test_cancel_frees_the_nights(guest, pending, db):
    response = guest.patch(
        f"bookings/{pending['_id']}", {"status": "cancelled"}, etag=pending["_etag"]
    )
    assert response.status_code == 200, response.json
    assert response.json["status"] == "cancelled"
    assert [b for _, b in booked(db)] == [0, 0, 0]
    stored = db.bookings.find_one({"_id": ObjectId(pending["_id"])})
    assert stored["status"] == "cancelled" and stored["cancelled_at"]
    again = guest.patch_item(f"bookings/{pending['_id']}", {"status": "cancelled"})
    assert again.status_code == 409
    assert "is cancelled" in again.json["_error"]["message"]
    assert [b for _, b in booked(db)] == [0, 0, 0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "confirmed"}, "status"),
        ({"check_out": "2030-01-01"}, "check_out"),
        ({"status": "cancelled", "adults": 2}, "adults"),
        ({}, "status"),
    ],
)
def test_only_cancellation_may_be_patched(guest, pending, db, body, field):
    response = guest.patch(f"bookings/{pending['_id']}", body, etag=pending["_etag"])
    assert response.status_code == 422
    assert field in response.json["_issues"]
    assert db.bookings.find_one({"_id": ObjectId(pending["_id"])})["status"] == "pending_payment"
    assert [b for _, b in booked(db)] == [1, 1, 1]


def test_cancel_needs_if_match(guest, pending):
    assert guest.patch(f"bookings/{pending['_id']}", {"status": "cancelled"}).status_code == 428
    stale = guest.patch(f"bookings/{pending['_id']}", {"status": "cancelled"}, etag="0" * 40)
    assert stale.status_code == 412


def test_holds_expire_without_any_request(app, pending, db):
    # The hold lapses; only the sweeper thread (as `make run` runs it) touches the booking.
    db.bookings.update_one(
        {"_id": ObjectId(pending["_id"])},
        {"$set": {"hold_expires_at": datetime.utcnow() - timedelta(seconds=1)}},
    )
    stop = threading.Event()
    sweeper = threading.Thread(target=run_jobs, args=(app, stop, 0.05), daemon=True)
    sweeper.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if db.bookings.find_one({"_id": ObjectId(pending["_id"])})["status"] == "expired":
                break
            time.sleep(0.05)
    finally:
        stop.set()
        sweeper.join(5)
    stored = db.bookings.find_one({"_id": ObjectId(pending["_id"])})
    assert stored["status"] == "expired" and stored["expired_at"]
    assert [b for _, b in booked(db)] == [0, 0, 0]
    # Releasing is idempotent: sweeping again changes nothing.
    assert holds.expire_due(db.client, db) == 0
    assert [b for _, b in booked(db)] == [0, 0, 0]


def test_a_live_hold_is_not_expired(pending, db):
    assert holds.expire_due(db.client, db) == 0
    assert [b for _, b in booked(db)] == [1, 1, 1]


def test_expired_booking_cannot_be_cancelled(guest, pending, db):
    db.bookings.update_one(
        {"_id": ObjectId(pending["_id"])},
        {"$set": {"hold_expires_at": datetime.utcnow() - timedelta(1)}},
    )
    holds.expire_due(db.client, db)
    response = guest.patch_item(f"bookings/{pending['_id']}", {"status": "cancelled"})
    assert response.status_code == 409
    assert "is expired" in response.json["_error"]["message"]
    assert [b for _, b in booked(db)] == [0, 0, 0]


def test_worker_command_sweeps_once(app, pending, db):
    db.bookings.update_one(
        {"_id": ObjectId(pending["_id"])},
        {"$set": {"hold_expires_at": datetime.utcnow() - timedelta(1)}},
    )
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "expired 1 bookings" in result.output
    assert db.bookings.find_one()["status"] == "expired"


def test_idempotent_replay_and_reuse(guest, stock, db, login):
    room_type, start = stock(nights=2)
    key = {"Idempotency-Key": "order-42"}
    body = stay(room_type, start, 2)
    first = guest.post("bookings", body, headers=key)
    again = guest.post("bookings", body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json["_id"] == first.json["_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.bookings.count_documents({}) == 1
    assert [b for _, b in booked(db)] == [1, 1]
    other_body = guest.post("bookings", dict(body, adults=2), headers=key)
    assert other_body.status_code == 422
    assert "different request" in other_body.json["_error"]["message"]
    # Keys are scoped to the user: someone else's "order-42" is their own.
    other = login("guest").post("bookings", body, headers=key)
    assert other.status_code == 201 and other.json["_id"] != first.json["_id"]


def test_idempotent_refusal_is_replayed_too(guest, stock, db):
    room_type, start = stock(nights=1, allotment=1)
    db.inventory.update_many({}, {"$set": {"closed": True}})
    key = {"Idempotency-Key": "k-409"}
    first = book(guest, room_type, start, nights=1, headers=key)
    assert first.status_code == 409
    db.inventory.update_many({}, {"$set": {"closed": False}})
    again = book(guest, room_type, start, nights=1, headers=key)
    assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"


def test_request_in_flight_with_the_same_key_is_409(guest, stock, db):
    room_type, start = stock(nights=1)
    from plumbing import idempotency

    body = stay(room_type, start, 1)
    idempotency.claim(
        db,
        guest.user["_id"],
        "slow-one",
        idempotency.fingerprint("POST", "/api/v1/bookings", body),
        "bookings",
    )
    response = guest.post("bookings", body, headers={"Idempotency-Key": "slow-one"})
    assert response.status_code == 409
    assert "still in progress" in response.json["_error"]["message"]
    assert db.bookings.count_documents({}) == 0


def test_idempotency_keys_expire_after_a_day(db, app):
    ttl = db.idempotency_keys.index_information()["ttl"]
    assert ttl["expireAfterSeconds"] == 24 * 3600


def test_reconcile_finds_and_fixes_drift(app, pending, db):
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["reconcile"])
    assert clean.exit_code == 0 and "0 inventory rows with drift" in clean.output
    db.inventory.update_one({}, {"$inc": {"booked": 1}})
    found = runner.invoke(args=["reconcile"])
    assert found.exit_code == 1 and "booked 2, live bookings 1" in found.output
    fixed = runner.invoke(args=["reconcile", "--fix"])
    assert "1 inventory rows with drift fixed" in fixed.output
    assert [b for _, b in booked(db)] == [1, 1, 1]


@pytest.mark.parametrize(
    ("now", "currency", "total", "refund"),
    [
        # Deadline: 2027-03-10 15:00 Paris (14:00 UTC) less 48 h = 2027-03-08 14:00 UTC.
        (datetime(2027, 3, 8, 13, 59), "EUR", "301.00", "301.00"),
        (datetime(2027, 3, 8, 14, 0), "EUR", "301.00", "150.50"),
        (datetime(2027, 3, 9, 0, 0), "EUR", "300.01", "150.01"),  # 150.005 rounds half-up
        (datetime(2027, 3, 9, 0, 0), "JPY", "15001", "7501"),  # 7500.5 -> 7501
        (datetime(2027, 3, 8, 0, 0), "JPY", "15001", "15001"),
    ],
)
def test_refund_by_policy_snapshot(now, currency, total, refund):
    booking = {
        "check_in": Day(2027, 3, 10),
        "total_price": Decimal(total),
        "currency": currency,
        "cancellation_policy": {
            "free_until_hours": 48,
            "penalty_percent": 50,
            "timezone": "Europe/Paris",
            "check_in_time": "15:00",
        },
    }
    assert reservations.refund_due(booking, now) == Decimal(refund)


def test_every_server_side_change_changes_the_etag(guest, stock, db, client):
    """If-None-Match must never answer 304 on availability that changed underneath."""
    room_type, start = stock(nights=2)
    row_id = str(db.inventory.find_one({"date": start})["_id"])
    first = client.get(f"inventory/{row_id}")
    etag = first.headers["ETag"]
    assert client.get(f"inventory/{row_id}", headers={"If-None-Match": etag}).status_code == 304

    booking = book(guest, room_type, start, nights=2).json  # booked 0 -> 1
    after_booking = client.get(f"inventory/{row_id}", headers={"If-None-Match": etag})
    assert after_booking.status_code == 200 and after_booking.json["booked"] == 1
    assert after_booking.json["_updated"] >= first.json["_updated"]

    etag = after_booking.headers["ETag"]
    cancelled = guest.patch(
        f"bookings/{booking['_id']}", {"status": "cancelled"}, etag=booking["_etag"]
    )
    assert cancelled.status_code == 200
    after_cancel = client.get(f"inventory/{row_id}", headers={"If-None-Match": etag})
    assert after_cancel.status_code == 200 and after_cancel.json["booked"] == 0

    etag = after_cancel.headers["ETag"]
    book(guest, room_type, start, nights=2)
    db.bookings.update_one(
        {"status": "pending_payment"}, {"$set": {"hold_expires_at": datetime(2000, 1, 1)}}
    )
    assert holds.expire_due(db.client, db) == 1
    after_expiry = client.get(f"inventory/{row_id}", headers={"If-None-Match": etag})
    assert after_expiry.status_code == 200 and after_expiry.json["booked"] == 0


def test_a_repair_never_fixes_away_a_booking_it_did_not_see(guest, stock, db):
    """reconcile --fix on a live system: drift computed before a booking committed must
    not be applied after it (the room would then be sold twice)."""
    from booking import reconcile

    room_type, start = stock(nights=1, allotment=2)
    row = db.inventory.find_one({"date": start})
    stale = {"_id": row["_id"], "room_type": row["room_type"], "date": start, "expected": 0}
    assert book(guest, room_type, start, nights=1).status_code == 201  # commits "meanwhile"
    assert reconcile.repair_row(db.client, db, stale) is None  # the live count agrees
    assert db.inventory.find_one({"_id": row["_id"]})["booked"] == 1


def test_reconcile_fix_while_guests_book(login, stock, db):
    """Real concurrency: repairs run in a loop while guests race for the rooms."""
    from booking import reconcile

    room_type, start = stock(nights=2, allotment=5)
    db.inventory.update_many({}, {"$set": {"booked": 3}})  # planted drift
    guests = [login("guest") for _ in range(8)]
    stop = threading.Event()
    repairs = []

    def repairer():
        while not stop.is_set():
            repairs.append(len(reconcile.reconcile(db, fix=True)))

    thread = threading.Thread(target=repairer)
    thread.start()
    statuses = _race([lambda g=g: book(g, room_type, start, nights=2).status_code for g in guests])
    stop.set()
    thread.join()
    reconcile.reconcile(db, fix=True)
    live = db.bookings.count_documents({"status": "pending_payment"})
    assert statuses.count(201) == live <= 5
    assert all(r["booked"] == live for r in db.inventory.find())
    assert reconcile.find_drift(db) == []


def _crashed_claim(db, guest, key, body, resource="bookings"):
    """What a process killed mid-request leaves: a claim in flight whose lease passed."""
    from plumbing import idempotency

    path = f"/api/v1/{resource}"
    idempotency.claim(
        db, guest.user["_id"], key, idempotency.fingerprint("POST", path, body), resource
    )
    db.idempotency_keys.update_one(
        {"_id": idempotency.record_id(guest.user["_id"], key)},
        {"$set": {"lease_until": datetime.utcnow() - timedelta(seconds=1)}},
    )
    return idempotency.record_id(guest.user["_id"], key)


def test_a_retry_after_a_crash_that_committed_replays_the_booking(guest, stock, db):
    """Killed after the booking committed, before its response was recorded: the
    retry answers with that booking, and books nothing more."""
    room_type, start = stock(nights=2)
    body = stay(room_type, start, 2)
    first = guest.post("bookings", body, headers={"Idempotency-Key": "crash-after"})
    assert first.status_code == 201
    db.idempotency_keys.delete_many({})  # the response was never recorded...
    rid = _crashed_claim(db, guest, "crash-after", body)  # ...and the claim is stuck
    db.bookings.update_one({}, {"$set": {"idempotency_key": rid}})
    retry = guest.post("bookings", body, headers={"Idempotency-Key": "crash-after"})
    assert retry.status_code == 201, retry.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json["_id"] == first.json["_id"]
    assert retry.json["confirmation_code"] == first.json["confirmation_code"]
    assert db.bookings.count_documents({}) == 1
    assert [r["booked"] for r in db.inventory.find()] == [1, 1]
    again = guest.post("bookings", body, headers={"Idempotency-Key": "crash-after"})
    assert again.status_code == 201 and again.json["_id"] == first.json["_id"]


def test_a_retry_after_a_crash_before_commit_books_once(guest, stock, db):
    room_type, start = stock(nights=1)
    body = stay(room_type, start, 1)
    rid = _crashed_claim(db, guest, "crash-before", body)
    retry = guest.post("bookings", body, headers={"Idempotency-Key": "crash-before"})
    assert retry.status_code == 201, retry.json
    assert db.bookings.find_one()["idempotency_key"] == rid
    replay = guest.post("bookings", body, headers={"Idempotency-Key": "crash-before"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert db.bookings.count_documents({}) == 1


def test_one_key_never_makes_two_bookings(guest, stock, db):
    """Even if a claim were taken over while its first request still ran, the unique
    index on idempotency_key refuses the second document."""
    from plumbing import idempotency

    room_type, start = stock(nights=1, allotment=3)
    body = stay(room_type, start, 1)
    assert guest.post("bookings", body, headers={"Idempotency-Key": "twice"}).status_code == 201
    rid = idempotency.record_id(guest.user["_id"], "twice")
    db.idempotency_keys.delete_many({})  # as if the key were freed while its booking stayed
    duplicate = guest.post("bookings", body, headers={"Idempotency-Key": "twice"})
    assert duplicate.status_code in (201, 409), duplicate.json
    assert db.bookings.count_documents({"idempotency_key": rid}) == 1
    assert db.bookings.count_documents({}) == 1
