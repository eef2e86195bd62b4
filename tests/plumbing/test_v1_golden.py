"""Version 1 stays as it is: a guest's journey (search, book, pay, change, cancel, and
the errors on the way) answers, field by field, what it answered when version 2 shipped
(tests/plumbing/golden/v1_journey.json, recorded on 2026-12-04 from the code before
version 2 existed). Ids, etags, times,
codes and dates are written as placeholders; everything else must be identical.
Re-record only for a deliberate change of version 1: GOLDEN_RECORD=1 pytest this file."""

import json
import os
import re
from pathlib import Path

from tests.conftest import stock_room_type

GOLDEN = Path(__file__).parent / "golden" / "v1_journey.json"
_PLACEHOLDERS = [
    (re.compile(r"\b[0-9a-f]{40}\b"), "<etag>"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<request-id>"),
    (re.compile(r"\b[0-9a-f]{24}\b"), "<id>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?\b"), "<time>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "<day>"),
    (re.compile(r"\b(pi|pm|ch|re|seti|cus)_[A-Za-z0-9_]+\b"), "<provider-ref>"),
]
_VARYING_KEYS = {"confirmation_code": "<code>", "hold_expires_at": "<time>"}


def _normalized(value, key=None):
    if key in _VARYING_KEYS and value is not None:
        return _VARYING_KEYS[key]
    if isinstance(value, dict):
        return {k: _normalized(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_normalized(item) for item in value]
    if isinstance(value, str):
        for pattern, placeholder in _PLACEHOLDERS:
            value = pattern.sub(placeholder, value)
    return value


def _answer(response):
    return {
        "status": response.status_code,
        "content_type": response.headers.get("Content-Type"),
        "body": _normalized(response.get_json(silent=True)),
    }


def _journey(client, guest, kind, start):
    stay = {"check_in": str(start), "check_out": str(start.plus(2))}
    answers = {}
    answers["search"] = client.get(
        "availability", query_string={**stay, "hotel": kind["hotel"], "adults": 2}
    )
    answers["search_bad_parameter"] = client.get(
        "availability", query_string={**stay, "adults": "many"}
    )
    answers["book_too_many_adults"] = guest.post(
        "bookings", {"room_type": kind["_id"], **stay, "adults": 9}
    )
    made = guest.post("bookings", {"room_type": kind["_id"], **stay, "adults": 2})
    answers["book"] = made
    booking = made.get_json()
    answers["booking"] = guest.get(f"bookings/{booking['_id']}")
    answers["pay"] = guest.post(
        "payments", {"booking": booking["_id"], "payment_method": "pm_card_visa"}
    )
    current = guest.get(f"bookings/{booking['_id']}").get_json()
    answers["change"] = guest.post(
        f"bookings/{booking['_id']}/change",
        {"check_out": str(start.plus(1))},
        headers={"If-Match": current["_etag"]},
    )
    answers["change_stale_etag"] = guest.post(
        f"bookings/{booking['_id']}/change",
        {"check_out": str(start.plus(2))},
        headers={"If-Match": current["_etag"]},
    )
    current = guest.get(f"bookings/{booking['_id']}").get_json()
    answers["cancel"] = guest.patch(
        f"bookings/{booking['_id']}", {"status": "cancelled"}, etag=current["_etag"]
    )
    answers["cancelled"] = guest.get(f"bookings/{booking['_id']}")
    answers["missing_booking"] = guest.get("bookings/6740f0c2a1b2c3d4e5f60718")
    return answers


def test_version_1_answers_a_journey_as_it_did(client, guest, make_hotel, make_room_type, admin):
    taxes = {"vat_percent": 10, "city_tax": {"per_person_per_night": "2.88"}}
    kind = make_room_type(make_hotel(taxes=taxes), name="Double", max_adults=2)
    start = stock_room_type(admin, kind, nights=3, price="120.00")
    responses = _journey(client, guest, kind, start)
    recorded = {name: _answer(response) for name, response in responses.items()}
    if os.environ.get("GOLDEN_RECORD"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert sorted(recorded) == sorted(golden)
    for step, answer in golden.items():
        assert recorded[step] == answer, step
    # ... and every answer now says when version 1 goes, and where to read how to move
    for step, response in responses.items():
        assert response.headers["API-Version"] == "1", step
        assert response.headers["Sunset"] == "Fri, 31 Dec 2027 23:59:59 GMT", step
        assert 'rel="deprecation"' in response.headers["Link"], step
