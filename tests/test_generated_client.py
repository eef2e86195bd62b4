"""A client generated from each version's live OpenAPI document with
openapi-python-client (PyPI) searches, books, pays and cancels through its typed models
alone: request bodies per operation (a booking's PATCH is only {"status": "cancelled"}),
typed offers; version 2's with money as objects and rooms as a list."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD, make_user

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture
def generated(client, tmp_path):
    """The package generated from GET /api/v1/openapi.json, imported."""
    yield from _generate(client, tmp_path, "openapi.json")


@pytest.fixture
def generated_v2(client, tmp_path):
    """The package generated from GET /api/v2/openapi.json, imported."""
    yield from _generate(client, tmp_path, "/api/v2/openapi.json")


def _generate(client, tmp_path, path):
    document = client.get(path)
    assert document.status_code == 200
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document.json))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"post_hooks": [], "project_name_override": "innkeeper"}))
    done = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(tmp_path / "innkeeper_client"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ, PATH=f"{GENERATOR.parent}:{os.environ.get('PATH', '')}"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout, done.stdout  # every schema became a model
    sys.path.insert(0, str(tmp_path))
    try:
        yield lambda name: importlib.import_module(f"innkeeper_client.{name}")
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m.startswith("innkeeper_client")]:
            del sys.modules[module]


def _clients(app, db, generated, version):
    """(an anonymous client, a guest's signed in through the generated token call), both
    of the generated package, talking to the app in-process."""
    email = f"typed{version}@example.com"
    make_user(db, "guest", email=email)
    transport = httpx.WSGITransport(app=app)
    base = "http://innkeeper.test"
    client_module = generated("client")
    anonymous = client_module.Client(base_url=base, httpx_args={"transport": transport})
    token_api = generated(f"api.auth.post_api_v{version}_auth_token")
    body = getattr(
        generated(f"models.post_api_v{version}_auth_token_body"),
        f"PostApiV{version}AuthTokenBody",
    )
    signed_in = token_api.sync(client=anonymous, body=body(email=email, password=PASSWORD))
    guest = client_module.AuthenticatedClient(
        base_url=base, token=signed_in.access_token, httpx_args={"transport": transport}
    )
    return anonymous, guest


def _pay_change_cancel(generated, version, guest, booking, start, amount, db):
    """The journey's second half, the same in both versions: pay 240.00, read it
    confirmed, a night shorter (120.00, refunded inside the free window), cancel; the
    read call, for more. `amount(money)` is a money value's decimal string."""
    api = f"api_v{version}"
    pay = generated(f"api.payments.post_{api}_payments")
    payments_model = generated("models.payments").Payments
    method = generated("models.payments_payment_method").PaymentsPaymentMethod
    paid = pay.sync_detailed(
        client=guest,
        body=payments_model(booking=booking.field_id, payment_method=method.PM_CARD_VISA),
    )
    assert paid.status_code == 201, paid.content
    assert paid.parsed.status.value == "succeeded" and amount(paid.parsed.amount) == "240.00"

    read = generated(f"api.bookings.get_{api}_bookings_id")
    confirmed = read.sync(client=guest, id=booking.field_id)
    assert confirmed.status.value == "confirmed"

    change = generated(f"api.bookings.post_{api}_bookings_id_change")
    change_body = getattr(
        generated(f"models.post_{api}_bookings_id_change_body"),
        f"PostApiV{version}BookingsIdChangeBody",
    )
    changed = change.sync_detailed(
        client=guest,
        id=booking.field_id,
        body=change_body(check_out=start.plus(1).date()),
        if_match=confirmed.field_etag,
    )
    assert changed.status_code == 200, changed.content
    assert amount(changed.parsed.total_price) == "120.00"
    confirmed = read.sync(client=guest, id=booking.field_id)

    cancel = generated(f"api.bookings.patch_{api}_bookings_id")
    patch_model = generated("models.bookings_patch").BookingsPatch
    cancelled = cancel.sync_detailed(
        client=guest,
        id=booking.field_id,
        body=patch_model(status="cancelled"),
        if_match=confirmed.field_etag,
    )
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.parsed.status.value == "cancelled"
    assert db.bookings.find_one()["status"] == "cancelled"
    return read


def test_a_generated_client_searches_books_pays_and_cancels(app, generated, stock, db):
    room_type, start = stock(nights=3, allotment=2, price="120.00")
    anonymous, guest = _clients(app, db, generated, 1)

    search = generated("api.availability.get_api_v1_availability")
    offers = search.sync(
        client=anonymous, check_in=start.date(), check_out=start.plus(2).date(), city="Paris"
    )
    offer = next(o for o in offers.field_items if o.room_type.field_id == room_type["_id"])
    assert offer.hotel.name and offer.room_type.max_adults == 2  # typed, not a dict
    assert offer.total_price == "240.00" and offer.field_links.book.method == "POST"

    create = generated("api.bookings.post_api_v1_bookings")
    bookings_model = generated("models.bookings").Bookings
    booked = create.sync_detailed(
        client=guest,
        body=bookings_model(
            room_type=offer.room_type.field_id,
            check_in=offer.check_in,
            check_out=offer.check_out,
        ),
    )
    assert booked.status_code == 201, booked.content
    booking = booked.parsed
    assert booking.status.value == "pending_payment" and booking.total_price == "240.00"

    _pay_change_cancel(generated, 1, guest, booking, start, lambda money: money, db)


def test_a_client_generated_from_version_2_drives_the_same_journey(app, generated_v2, stock, db):
    room_type, start = stock(nights=3, allotment=2, price="120.00")
    anonymous, guest = _clients(app, db, generated_v2, 2)

    search = generated_v2("api.availability.get_api_v2_availability")
    found = search.sync_detailed(
        client=anonymous, check_in=start.date(), check_out=start.plus(2).date(), city="paris"
    )
    assert found.status_code == 200, found.content
    offers = found.parsed
    offer = next(o for o in offers.field_items if o.room_type.field_id == room_type["_id"])
    # money is a typed object; the book link an absolute path
    assert (offer.total_price.amount, offer.total_price.currency) == ("240.00", "EUR")
    assert offer.field_links.book.href == "/api/v2/bookings"

    create = generated_v2("api.bookings.post_api_v2_bookings")
    bookings_model = generated_v2("models.bookings").Bookings
    room_model = generated_v2("models.bookings_rooms_item").BookingsRoomsItem
    booked = create.sync_detailed(
        client=guest,
        body=bookings_model(
            rooms=[room_model(room_type=offer.room_type.field_id, adults=2)],
            check_in=offer.check_in,
            check_out=offer.check_out,
        ),
    )
    assert booked.status_code == 201, booked.content
    booking = booked.parsed
    assert booking.total_price.amount == "240.00"

    read = _pay_change_cancel(
        generated_v2, 2, guest, booking, start, lambda money: money.amount, db
    )
    confirmed = read.sync(client=guest, id=booking.field_id)
    assert confirmed.rooms[0].room_type == room_type["_id"]
    refused = read.sync_detailed(client=guest, id="6740f0c2a1b2c3d4e5f60718")
    assert refused.status_code == 404
    assert json.loads(refused.content)["title"] == "Not Found"
