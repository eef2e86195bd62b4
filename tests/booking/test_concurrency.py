"""No overbooking under real concurrency: threads in one app, and several server processes."""

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.factories import stay
from tests.support import _race, server_processes

ROOT = Path(__file__).resolve().parents[2]
RACERS = 40
ROOMS = 5


def _assert_exactly_allotment_sold(statuses, db, nights):
    assert statuses.count(201) == ROOMS, statuses
    assert set(statuses) <= {201, 409}, statuses
    assert db.bookings.count_documents({}) == ROOMS
    assert [r["booked"] for r in db.inventory.find()] == [ROOMS] * nights


def test_threads_race_for_the_last_rooms(login, stock, db):
    room_type, start = stock(nights=3, allotment=ROOMS)
    body = stay(room_type, start, 3)
    guests = [login("guest") for _ in range(RACERS)]
    responses = _race([lambda g=g: g.post("bookings", body) for g in guests])
    _assert_exactly_allotment_sold([r.status_code for r in responses], db, 3)
    refused = next(r for r in responses if r.status_code == 409)
    assert "not available on" in refused.json["_error"]["message"]


def test_one_guest_racing_themself_stays_under_the_pending_cap(guest, stock, db):
    room_type, start = stock(nights=1, allotment=20)
    body = stay(room_type, start, 1)
    responses = _race([lambda: guest.post("bookings", body) for _ in range(12)])
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 3, statuses
    assert db.bookings.count_documents({"status": "pending_payment"}) == 3
    assert db.inventory.find_one()["booked"] == 3


def test_cancel_racing_the_sweeper_releases_once(guest, stock, db):
    from datetime import datetime, timedelta

    from booking import holds

    room_type, start = stock(nights=2, allotment=3)
    created = guest.post(
        "bookings",
        {
            "room_type": room_type["_id"],
            "check_in": start.isoformat(),
            "check_out": start.plus(2).isoformat(),
        },
    ).json
    db.bookings.update_one({}, {"$set": {"hold_expires_at": datetime.utcnow() - timedelta(1)}})
    _race(
        [
            lambda: guest.patch(
                f"bookings/{created['_id']}", {"status": "cancelled"}, etag=created["_etag"]
            ),
            lambda: holds.expire_due(db.client, db),
        ]
    )
    assert db.bookings.find_one()["status"] in ("cancelled", "expired")
    assert [r["booked"] for r in db.inventory.find()] == [0, 0]


def _http(base, path, body, token):
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
def test_server_processes_race_for_the_last_rooms(app_config, login, stock, db, app):
    from identity.tokens import issue_token

    room_type, start = stock(nights=2, allotment=ROOMS)
    with server_processes(app_config) as bases:
        body = stay(room_type, start, 2)
        tokens = [
            issue_token(login("guest").user, app.config["SECRET_KEY"], 600) for _ in range(RACERS)
        ]
        statuses = _race(
            [
                lambda i=i: _http(bases[i % 2], "/api/v1/bookings", body, tokens[i])
                for i in range(RACERS)
            ]
        )
        _assert_exactly_allotment_sold(statuses, db, 2)
