"""Request bodies are read strictly on every route: a 400 or 413 in the contract's shape,
never a 500, and nothing stored (issue 11: 5, 7)."""

import io
import json

import pytest

from payments import providers
from tests.factories import book

DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        (b'{"name": "\xff\xfe"}', "not valid UTF-8"),
        (b'{"stars": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b'{"stars": 123456789012345678901234567890}', "does not fit in a 64-bit integer"),
        (DEEP.encode(), "nested deeper than 32 levels"),
        (b'{"name": "\\ud800"}', "name: text holds a lone surrogate"),
        (b'{"name": NaN}', "NaN is not a number JSON allows"),
        (b"42", "the body must be a JSON object"),
        (b'"a string"', "the body must be a JSON object"),
    ],
)
@pytest.mark.parametrize("path", ["hotels", "bookings", "auth/register", "auth/token"])
def test_unreadable_bodies_are_400(admin, db, raw, named, path):
    response = admin.flask.post(
        f"/api/v1/{path}",
        data=raw,
        headers={"Authorization": f"Bearer {admin.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.json
    assert named in response.json["_error"]["message"]
    assert db.hotels.count_documents({}) == 0 and db.bookings.count_documents({}) == 0


@pytest.mark.parametrize("field", ["guest_name", "special_requests"])
@pytest.mark.parametrize("text", ["Ada\x00Lovelace", "bell\x07", "esc\x1b[31m"])
def test_control_characters_are_refused_by_field(guest, stock, db, field, text):
    room_type, start = stock()
    response = book(guest, room_type, start, nights=1, **{field: text})
    assert response.status_code == 400
    assert response.json["_issues"][field] == (
        f"{field}: text holds a control character; only tab and newline are allowed"
    )
    assert db.bookings.count_documents({}) == 0


def test_newlines_and_tabs_in_free_text_are_kept(guest, stock):
    room_type, start = stock()
    response = book(
        guest, room_type, start, nights=1, special_requests="quiet room\n\tfeather-free pillows"
    )
    assert response.status_code == 201
    assert response.json["special_requests"] == "quiet room\n\tfeather-free pillows"


def test_a_deep_signed_webhook_is_400_not_500(app, client):
    raw = DEEP.encode()
    signature = providers.sign(app.config["PAYMENT_WEBHOOK_SECRET"], raw)
    response = client.post(
        "webhooks/payments",
        data=raw,
        headers={"Payment-Signature": signature, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.json["_error"]["message"]


@pytest.mark.parametrize("path", ["/api/v1/hotels", "/api/v1/webhooks/payments"])
def test_any_body_over_the_limit_is_413_even_chunked(app, admin, path):
    response = app.test_client().post(
        path,
        input_stream=io.BytesIO(b"x" * 1024 * 1024),
        headers={
            "Authorization": f"Bearer {admin.token}",
            "Content-Type": "application/json",
            "Payment-Signature": "t=1,v1=00",
        },
        # No Content-Length: the body arrives chunked and is only cut while it is read.
        environ_overrides={
            "CONTENT_LENGTH": "",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input_terminated": True,
        },
    )
    assert response.status_code == 413, response.json
    assert response.json["_error"]["message"] == (
        f"the body exceeds {app.config['MAX_BODY_BYTES']} bytes (MAX_BODY_BYTES)"
    )


def test_webhook_with_a_declared_oversize_is_413(app, client):
    raw = json.dumps({"pad": "x" * (app.config["MAX_BODY_BYTES"] + 1)}).encode()
    response = client.post(
        "webhooks/payments",
        data=raw,
        headers={"Payment-Signature": "t=1,v1=00", "Content-Type": "application/json"},
    )
    assert response.status_code == 413
