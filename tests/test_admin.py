"""/admin: admins only; writes go through the API's validation and hooks."""

import re

import pytest
from bson import ObjectId

from tests.conftest import PASSWORD, make_user


def csrf(html):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def sign_in(client, email, password=PASSWORD):
    page = client.get("/admin/login")
    return client.post(
        "/admin/login", data={"email": email, "password": password, "csrf_token": csrf(page.text)}
    )


@pytest.fixture
def admin_panel(app, db):
    user = make_user(db, "admin")
    client = app.test_client()
    assert sign_in(client, user["email"]).status_code == 302
    return client


@pytest.mark.parametrize("role", [None, "guest", "manager"])
def test_only_admins_get_in(app, db, role):
    client = app.test_client()
    if role:
        user = make_user(db, role)
        response = sign_in(client, user["email"])
        assert "not an admin" in response.text
    for path in ("/admin/", "/admin/hotels/", "/admin/users/"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_wrong_password_and_missing_csrf_are_refused(app, db):
    user = make_user(db, "admin")
    client = app.test_client()
    assert "incorrect" in sign_in(client, user["email"], "wrong password!").text
    no_token = client.post("/admin/login", data={"email": user["email"], "password": PASSWORD})
    assert no_token.status_code == 200 and client.get("/admin/").status_code == 302


def test_lists_filters_and_search(admin_panel, make_hotel):
    make_hotel(name="Searchable Palace")
    page = admin_panel.get("/admin/hotels/?search=Searchable")
    assert page.status_code == 200 and "Searchable Palace" in page.text
    for path in (
        "/admin/room-types/",
        "/admin/inventory/",
        "/admin/bookings/",
        "/admin/payments/",
        "/admin/users/",
        "/admin/reviews/",
    ):
        assert admin_panel.get(path).status_code == 200, path


def test_admin_writes_meet_the_api_validation(admin_panel, db):
    form = admin_panel.get("/admin/hotels/new/")
    refused = admin_panel.post(
        "/admin/hotels/new/",
        data={
            "csrf_token": csrf(form.text),
            "name": "Bad",
            "stars": "9",
            "address": '{"city": "Paris", "country": "XX"}',
        },
        follow_redirects=True,
    )
    assert "max value is 5" in refused.text and "ISO 3166" in refused.text
    assert db.hotels.count_documents({}) == 0
    created = admin_panel.post(
        "/admin/hotels/new/",
        data={
            "csrf_token": csrf(form.text),
            "name": "Good",
            "stars": "4",
            "currency": "EUR",
            "address": '{"city": "Paris", "country": "FR"}',
        },
        follow_redirects=True,
    )
    assert created.status_code == 200
    hotel = db.hotels.find_one({"name": "Good"})
    assert hotel["timezone"] == "UTC" and hotel["_etag"]  # Eve's defaults and meta applied


def test_admin_cannot_bypass_a_booking_rule(admin_panel, stock, db):
    stock(nights=1, allotment=3)
    row = db.inventory.find_one()
    db.inventory.update_one({"_id": row["_id"]}, {"$set": {"booked": 2}})
    form = admin_panel.get(f"/admin/inventory/edit/?id={row['_id']}")
    response = admin_panel.post(
        f"/admin/inventory/edit/?id={row['_id']}",
        data={
            "csrf_token": csrf(form.text),
            "allotment": "1",
            "price": "100.00",
            "room_type": str(row["room_type"]),
            "date": row["date"].strftime("%Y-%m-%d"),
        },
        follow_redirects=True,
    )
    assert "already booked" in response.text
    assert db.inventory.find_one({"_id": row["_id"]})["allotment"] == 3


def test_bookings_and_payments_are_read_only(admin_panel):
    assert admin_panel.get("/admin/bookings/new/").status_code in (302, 403, 404)
    assert admin_panel.get("/admin/payments/new/").status_code in (302, 403, 404)


def test_role_change_through_the_admin(admin_panel, db):
    user = make_user(db, "guest")
    form = admin_panel.get(f"/admin/users/edit/?id={user['_id']}")
    assert 'name="email"' not in form.text and 'name="password"' not in form.text
    admin_panel.post(
        f"/admin/users/edit/?id={user['_id']}",
        data={"csrf_token": csrf(form.text), "role": "manager", "name": "Promoted"},
    )
    stored = db.users.find_one({"_id": ObjectId(user["_id"])})
    assert (stored["role"], stored["name"]) == ("manager", "Promoted")


def test_a_demoted_admin_is_signed_out(admin_panel, db):
    db.users.update_many({"role": "admin"}, {"$set": {"role": "guest"}})
    assert admin_panel.get("/admin/").status_code == 302
