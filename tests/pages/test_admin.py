"""/admin: admins only; writes go through the API's validation and hooks."""

import html
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from bson import ObjectId

from plumbing.values import Day
from tests.conftest import PASSWORD, make_user, stock_room_type
from tests.factories import book
from tests.support import csrf, sign_in


@pytest.fixture
def admin_panel(app, db):
    user = make_user(db, "admin")
    client = app.test_client()
    assert sign_in(client, user["email"]).status_code == 302
    return client


@pytest.mark.parametrize("role", [None, "guest"])
def test_only_admins_and_managers_get_in(app, db, role):
    client = app.test_client()
    if role:
        user = make_user(db, role)
        response = sign_in(client, user["email"])
        assert "neither an admin nor a hotel manager" in response.text
    for path in ("/admin/", "/admin/hotels/", "/admin/users/", "/admin/calendar/"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_a_manager_sees_and_changes_only_their_hotels(app, db, manager, make_hotel, admin):
    """The same rules as the API: their hotels, room types, calendar and bookings; not
    another manager's, not users."""
    mine = make_hotel(name="Managed Manor")
    theirs = admin.post(
        "hotels",
        {
            "name": "Someone Else's Inn",
            "address": {"city": "Paris", "country": "FR"},
            "currency": "EUR",
            "timezone": "Europe/Paris",
        },
    ).json
    client = app.test_client()
    assert sign_in(client, manager.user["email"]).status_code == 302
    assert client.get("/admin/").status_code == 200
    hotels = client.get("/admin/hotels/").text
    assert "Managed Manor" in hotels and "Someone Else" not in hotels
    # Another hotel's edit form is not there for them: sent back to their list.
    theirs_page = client.get(f"/admin/hotels/edit/?id={theirs['_id']}")
    assert theirs_page.status_code == 302
    assert theirs_page.headers["Location"].endswith("/admin/hotels/")
    assert "Someone Else" not in client.get(theirs_page.headers["Location"]).text
    edit_page = client.get(f"/admin/hotels/edit/?id={mine['_id']}")
    assert edit_page.status_code == 200
    for path in ("/admin/users/", "/admin/inventory/"):
        assert client.get(path).status_code == 403, path
    menu = client.get("/admin/").text
    assert "/admin/users/" not in menu and "/admin/calendar/" in menu
    # The calendar: their hotel by default, listed alone; another's hotel or room type 404.
    calendar = client.get("/admin/calendar/")
    assert calendar.status_code == 200 and "Managed Manor" in calendar.text
    assert "Someone Else" not in calendar.text
    other = admin.post(
        "room-types", {"hotel": theirs["_id"], "name": "Twin", "max_adults": 2, "total_rooms": 1}
    ).json
    for query, what in (
        (f"hotel={theirs['_id']}", f"hotel {theirs['_id']} not found among yours"),
        (f"room_type={other['_id']}", f"room type {other['_id']} not found among yours"),
        ("view=room_type:not-an-id", "room type not-an-id not found among yours"),
    ):
        refused = client.get(f"/admin/calendar/?{query}")
        assert refused.status_code == 404 and what in refused.text, query


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
            "address-country": "FR",  # and no city
        },
        follow_redirects=True,
    )
    assert "max value is 5" in refused.text and "address: {&#39;city&#39;" in refused.text
    assert db.hotels.count_documents({}) == 0
    created = admin_panel.post(
        "/admin/hotels/new/",
        data={
            "csrf_token": csrf(form.text),
            "name": "Good",
            "stars": "4",
            "currency": "EUR",
            "address-city": "Paris",
            "address-country": "FR",
            "location-latitude": "48.8606",
            "location-longitude": "2.3376",
            "amenities": ["wifi", "spa"],
        },
        follow_redirects=True,
    )
    assert created.status_code == 200
    hotel = db.hotels.find_one({"name": "Good"})
    assert hotel["timezone"] == "UTC" and hotel["_etag"]  # Eve's defaults and meta applied
    assert hotel["address"] == {"city": "Paris", "country": "FR"}
    assert hotel["location"] == {"type": "Point", "coordinates": [2.3376, 48.8606]}
    assert hotel["amenities"] == ["wifi", "spa"]


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
    for collection in ("bookings", "payments"):
        refused = admin_panel.get(f"/admin/{collection}/new/")
        assert refused.status_code == 302  # Flask-Admin sends a create it refuses back
        assert refused.headers["Location"].endswith(f"/admin/{collection}/")
        listing = admin_panel.get(f"/admin/{collection}/").text
        assert f"/admin/{collection}/new/" not in listing


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


class _Form(HTMLParser):
    """The values a browser would submit from the page's edit form, unchanged: a name
    checked or selected several times (checkboxes, multi-selects) submits a list."""

    def __init__(self):
        super().__init__()
        self.values, self._textarea, self._select = {}, None, None
        self.multiple = set()

    def _add(self, name, value):
        if name in self.values and name in self.multiple:
            self.values[name].append(value)
        elif name in self.multiple:
            self.values[name] = [value]
        else:
            self.values[name] = value

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") == "checkbox":
            if attrs.get("value", "y") != "y":  # one of a list of checkboxes
                self.multiple.add(name)
                self.values.setdefault(name, [])
            if "checked" in attrs:
                self._add(name, attrs.get("value", "y"))
        elif tag == "input" and name and attrs.get("type") != "submit":
            self.values[name] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""
        elif tag == "select" and name:
            self._select = name
            if "multiple" in attrs:
                self.multiple.add(name)
                self.values.setdefault(name, [])
            else:
                self.values.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self._add(self._select, attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


def test_an_unchanged_save_of_a_hotel_succeeds_with_typed_sub_forms(
    admin_panel, make_hotel, db, manager
):
    hotel = make_hotel(name="Unchanged Palace", amenities=["wifi", "spa"])
    url = f"/admin/hotels/edit/?id={hotel['_id']}"
    form = _Form()
    page = admin_panel.get(url).text
    form.feed(page)
    # Typed boxes, never Python's repr or a JSON blob.
    assert form.values["address-city"] == "Paris" and form.values["address-country"] == "FR"
    assert form.values["location-latitude"] == "48.8606"
    assert sorted(form.values["amenities"]) == ["spa", "wifi"]
    assert form.values["managers"] == [str(manager.user["_id"])]
    assert manager.user["email"] in page  # managers by email, not ids
    assert form.values["cancellation_policy-free_until_hours"]
    before = db.hotels.find_one({"_id": ObjectId(hotel["_id"])})
    saved = admin_panel.post(url, data=form.values)
    assert saved.status_code == 302, saved.text
    after = db.hotels.find_one({"_id": ObjectId(hotel["_id"])})
    fields = (
        "name",
        "address",
        "location",
        "managers",
        "cancellation_policy",
        "stars",
        "amenities",
    )
    for field in fields:
        assert after[field] == before[field], field
    assert after["amenities"] == before["amenities"]
    # A real change: the city and one amenity.
    form.values["address-city"] = "Lyon"
    form.values["amenities"] = ["wifi"]
    assert admin_panel.post(url, data=form.values).status_code == 302
    changed = db.hotels.find_one({"_id": ObjectId(hotel["_id"])})
    assert changed["address"]["city"] == "Lyon" and changed["amenities"] == ["wifi"]


def test_a_hotels_taxes_are_kept_and_extended_in_typed_sub_forms(admin_panel, make_hotel, db):
    """Taxes: a sub-form (city tax) inside a sub-form, and a list of fees, saved unchanged
    and then with a fee added; an empty taxes form on a hotel without any adds none."""
    taxes = {"vat_percent": 10, "city_tax": {"per_person_per_night": "2.88", "max_nights": 7}}
    hotel = make_hotel(name="Taxed Palace", taxes=taxes)
    url = f"/admin/hotels/edit/?id={hotel['_id']}"
    form = _Form()
    form.feed(admin_panel.get(url).text)
    assert form.values["taxes-city_tax-per_person_per_night"] == "2.88"
    before = db.hotels.find_one({"_id": ObjectId(hotel["_id"])})["taxes"]
    assert admin_panel.post(url, data=form.values).status_code == 302
    assert db.hotels.find_one({"_id": ObjectId(hotel["_id"])})["taxes"] == before
    form.values.update(
        {
            "taxes-fees-0-code": "resort",
            "taxes-fees-0-name": "Resort fee",
            "taxes-fees-0-amount": "4.50",
            "taxes-fees-0-per": "night",
        }
    )
    assert admin_panel.post(url, data=form.values).status_code == 302
    after = db.hotels.find_one({"_id": ObjectId(hotel["_id"])})["taxes"]
    assert after["city_tax"] == before["city_tax"]
    assert [(f["code"], str(f["amount"]), f["per"]) for f in after["fees"]] == [
        ("resort", "4.50", "night")
    ]
    plain = make_hotel(name="Untaxed Inn")
    plain_url = f"/admin/hotels/edit/?id={plain['_id']}"
    form = _Form()
    form.feed(admin_panel.get(plain_url).text)
    assert admin_panel.post(plain_url, data=form.values).status_code == 302
    assert "taxes" not in db.hotels.find_one({"_id": ObjectId(plain["_id"])})


def test_a_room_types_hotel_is_chosen_by_name_and_invalid_json_is_named(
    admin_panel, make_room_type, db
):
    room_type = make_room_type(name="Garden Double")
    url = f"/admin/room-types/edit/?id={room_type['_id']}"
    form = _Form()
    page = admin_panel.get(url).text
    form.feed(page)
    assert form.values["hotel"] == room_type["hotel"] and "Hotel Test</option>" in page
    assert admin_panel.post(url, data=form.values).status_code == 302  # unchanged save
    kept = db.room_types.find_one({"_id": ObjectId(room_type["_id"])})
    assert "beds" not in kept and "rate_plans" not in kept  # none declared, none sent
    form.values.update({"name": "Renamed", "beds-0-type": "queen", "beds-0-count": "two"})
    refused = admin_panel.post(url, data=form.values)
    assert refused.status_code == 200 and "Not a valid integer value" in refused.text
    assert db.room_types.find_one({"_id": ObjectId(room_type["_id"])})["name"] == "Garden Double"
    form.values["beds-0-count"] = "2"
    assert admin_panel.post(url, data=form.values).status_code == 302
    kept = db.room_types.find_one({"_id": ObjectId(room_type["_id"])})
    assert kept["beds"] == [{"type": "queen", "count": 2}] and kept["name"] == "Renamed"


def test_the_dashboard_shows_today_the_next_30_days_and_the_latest(admin_panel, db, stock, guest):
    from datetime import datetime

    from plumbing.values import today
    from reporting import kpis
    from tests.factories import book, pay

    room_type, start = stock(nights=3, allotment=2, start=today())
    booking = book(guest, room_type, start, nights=2).json
    assert pay(guest, booking).status_code == 201
    kpis.drain(db)
    page = admin_panel.get("/admin/")
    assert page.status_code == 200
    html = page.text
    arrivals = html.split('id="arrivals"')[1].split("</ul>")[0]
    assert booking["confirmation_code"] in arrivals
    assert "<svg" in html and "50%" in html  # tonight: one room of two sold
    kpi_table = html.split('id="kpis"')[1].split("</table>")[0]
    assert "EUR" in kpi_table and "100.00" in kpi_table  # ADR
    charts = html.split('id="money-EUR"')[1].split("</div>")[0]
    assert f"{start}: ADR 100.00 EUR" in charts and f"{start}: RevPAR 50.00 EUR" in charts
    assert booking["confirmation_code"] in html.split('id="latest-bookings"')[1]
    assert "succeeded" in html.split('id="latest-payments"')[1]
    assert datetime.utcnow().strftime("%Y-%m-%d") in html


def test_the_calendar_shows_a_month_and_sets_a_range_through_the_rules(admin_panel, db, stock):
    from plumbing.values import today

    room_type, start = stock(nights=5, allotment=2, price="100.00")
    month = start.strftime("%Y-%m")
    url = f"/admin/calendar/?room_type={room_type['_id']}&month={month}"
    page = admin_panel.get(url)
    assert page.status_code == 200
    cell = page.text.split(f'id="night-{start.isoformat()}"')[1].split("</td>")[0]
    assert "100.00" in cell and "EUR" in cell and "0/2" in cell
    form = {
        "csrf_token": csrf(page.text),
        "room_type": room_type["_id"],
        "month": month,
        "first": start.isoformat(),
        "last": start.plus(1).isoformat(),
        "price": "135.00",
        "allotment": "4",
        "min_stay": "1",
    }
    saved = admin_panel.post(url, data=form, follow_redirects=True)
    assert "2 nights set" in saved.text
    rows = sorted(
        db.inventory.find({"room_type": ObjectId(room_type["_id"])}), key=lambda r: r["date"]
    )
    assert [str(r["price"]) for r in rows[:3]] == ["135.00", "135.00", "100.00"]
    assert rows[0]["allotment"] == 4 and db.kpi_changes.count_documents({}) > 0
    refused = admin_panel.post(
        url,
        data={**form, "price": "abc", "first": today().plus(-400).isoformat()},
        follow_redirects=True,
    )
    assert "422" in refused.text and "price" in refused.text
    assert (
        str(
            db.inventory.find_one({"room_type": ObjectId(room_type["_id"])}, sort=[("date", 1)])[
                "price"
            ]
        )
        == "135.00"
    )


def test_lists_show_what_an_operator_needs(admin_panel, db, stock, guest):
    from tests.factories import book

    room_type, start = stock(nights=2)
    booking = book(guest, room_type, start).json
    page = admin_panel.get("/admin/bookings/")
    assert page.status_code == 200
    for text in (
        booking["confirmation_code"],
        guest.user["email"],
        "Hotel Test",
        start.isoformat(),
        "pending_payment",
        f"{booking['total_price']} EUR",
    ):
        assert text in page.text, text
    assert " 00:00:00" not in page.text
    inventory = admin_panel.get("/admin/inventory/")
    assert inventory.status_code == 200 and start.isoformat() in inventory.text


def test_bookings_are_found_by_confirmation_code(admin_panel, stock, guest):
    from tests.factories import book

    room_type, start = stock(nights=2, allotment=3)
    first = book(guest, room_type, start).json
    second = book(guest, room_type, start).json
    page = admin_panel.get(f"/admin/bookings/?search={first['confirmation_code']}").text
    assert first["confirmation_code"] in page and second["confirmation_code"] not in page
    assert 'placeholder="search by confirmation code"' in page


def test_rate_plans_are_edited_in_the_admin_under_the_api_rules(admin_panel, make_room_type, db):
    room_type = make_room_type(name="Plan Double")
    url = f"/admin/room-types/edit/?id={room_type['_id']}"
    form = _Form()
    form.feed(admin_panel.get(url).text)
    assert "rate_plans-0-code" in form.values and "rate_plans-1-code" not in form.values
    form.values.update({"rate_plans-0-code": "flexible", "rate_plans-0-name": "Flexible"})
    assert admin_panel.post(url, data=form.values).status_code == 302
    # A typed sub-form per plan, and an empty one under them that adds a plan.
    form = _Form()
    form.feed(admin_panel.get(url).text)
    assert form.values["rate_plans-0-code"] == "flexible"
    assert form.values["rate_plans-1-code"] == ""
    form.values.update(
        {
            "rate_plans-1-code": "breakfast",
            "rate_plans-1-name": "With breakfast",
            "rate_plans-1-supplement_per_person": "12.50",
            "rate_plans-1-meal": "breakfast",
        }
    )
    assert admin_panel.post(url, data=form.values).status_code == 302
    kept = db.room_types.find_one({"_id": ObjectId(room_type["_id"])})["rate_plans"]
    assert [p["code"] for p in kept] == ["flexible", "breakfast"]
    assert kept[1]["supplement_per_person"].to_decimal() == Decimal("12.50")
    assert kept[1]["meal"] == "breakfast"
    # The catalogue's rule holds here too: plan codes are unique.
    form = _Form()
    form.feed(admin_panel.get(url).text)
    assert form.values["rate_plans-1-supplement_per_person"] == "12.50"
    form.values.update({"rate_plans-1-code": "flexible", "rate_plans-1-name": "Again"})
    refused = admin_panel.post(url, data=form.values)
    assert refused.status_code == 200 and "flexible" in refused.text
    kept = db.room_types.find_one({"_id": ObjectId(room_type["_id"])})["rate_plans"]
    assert [p["code"] for p in kept] == ["flexible", "breakfast"]


def _manager_panel(app, manager):
    client = app.test_client()
    assert sign_in(client, manager.user["email"]).status_code == 302
    return client


def _admin_save(client, url, **changes):
    """Submit the edit form at `url` as a browser would, with `changes`; the page after."""
    form = _Form()
    form.feed(client.get(url).text)
    form.values.update(changes)
    return html.unescape(client.post(url, data=form.values, follow_redirects=True).text)


def test_the_api_and_the_admin_refuse_a_manager_alike(app, db, manager, admin, make_hotel, login):
    """One write path: the rules sit on Eve's database events, which the admin's writes
    fire too (it once let a manager edit the managers list and move room types)."""
    mine, second = make_hotel(name="First Manor"), make_hotel(name="Second Manor")
    other = login("manager")
    url = f"hotels/{mine['_id']}"
    by_api = manager.patch_item(url, {"managers": [str(other.user["_id"])]})
    message = "only an admin may change a hotel's managers"
    assert by_api.status_code == 403 and by_api.json["_error"]["message"] == message
    panel = _manager_panel(app, manager)
    page = _admin_save(
        panel, f"/admin/hotels/edit/?id={mine['_id']}", managers=[str(other.user["_id"])]
    )
    assert f"403: {message}" in page
    assert db.hotels.find_one({"_id": ObjectId(mine["_id"])})["managers"] == [manager.user["_id"]]

    room_type = admin.post(
        "room-types", {"hotel": mine["_id"], "name": "Double", "max_adults": 2, "total_rooms": 2}
    ).json
    moved = manager.patch_item(f"room-types/{room_type['_id']}", {"hotel": second["_id"]})
    message = "a room type cannot move to another hotel"
    assert moved.status_code == 422 and moved.json["_error"]["message"] == message
    page = _admin_save(
        panel, f"/admin/room-types/edit/?id={room_type['_id']}", hotel=second["_id"]
    )
    assert f"422: {message}" in page
    assert db.room_types.find_one({"_id": ObjectId(room_type["_id"])})["hotel"] == ObjectId(
        mine["_id"]
    )

    deleted = manager.delete_item(url)
    message = "only an admin may replace or delete a hotel"
    assert deleted.status_code == 403 and deleted.json["_error"]["message"] == message
    listing = panel.get("/admin/hotels/").text
    panel.post("/admin/hotels/delete/", data={"id": mine["_id"], "csrf_token": csrf(listing)})
    assert db.hotels.count_documents({"_id": ObjectId(mine["_id"])}) == 1


def test_nobody_deletes_a_hotel_with_live_bookings(app, db, admin_panel, admin, guest, stock):
    from tests.factories import book, pay

    room_type, start = stock(nights=4, allotment=2)
    confirmed = book(guest, room_type, start, nights=2).json
    assert pay(guest, confirmed).status_code == 201
    assert book(guest, room_type, start.plus(2), nights=2).status_code == 201  # pending
    hotel = room_type["hotel"]
    message = (
        "this hotel has 2 live bookings (pending payment or confirmed); cancel them, or "
        "close its inventory and let them end, before deleting it"
    )
    by_api = admin.delete_item(f"hotels/{hotel}")
    assert by_api.status_code == 409 and by_api.json["_error"]["message"] == message
    listing = admin_panel.get("/admin/hotels/").text
    page = admin_panel.post(
        "/admin/hotels/delete/",
        data={"id": hotel, "csrf_token": csrf(listing)},
        follow_redirects=True,
    ).text
    assert f"409: {message}" in page
    assert db.hotels.count_documents({"_id": ObjectId(hotel)}) == 1
    assert db.bookings.count_documents({"status": {"$in": ["confirmed", "pending_payment"]}}) == 2


def test_admin_pages_say_their_language_and_the_session_cookie_is_strict(app, db):
    user = make_user(db, "admin")
    client = app.test_client()
    page = client.get("/admin/login")
    signed = client.post(
        "/admin/login",
        data={"email": user["email"], "password": PASSWORD, "csrf_token": csrf(page.text)},
    )
    cookie = signed.headers["Set-Cookie"]
    assert "SameSite=Strict" in cookie and "HttpOnly" in cookie
    home = client.get("/admin/")
    assert home.status_code == 200 and '<html lang="en">' in home.text


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("page=-1", "page must be a whole number from 0 to 10000"),
        ("page_size=-3", "page_size must be a whole number"),
        ("page=abc", "page must be a whole number"),
        ("search=" + "x" * 5000, "a search is at most 200 characters; yours was cut"),
    ],
)
def test_a_list_url_typed_wrong_is_shown_again_never_a_500(admin_panel, make_hotel, query, said):
    make_hotel()
    answer = admin_panel.get(f"/admin/hotels/?{query}")
    assert answer.status_code == 302
    again = admin_panel.get(answer.headers["Location"])
    assert again.status_code == 200 and said in again.text
    assert "page=-1" not in answer.headers["Location"]
    assert len(answer.headers["Location"]) < 400  # the search was cut to 200 characters


def _filtered(endpoint, app, field, value):
    """A list's URL with its equality filter on `field` (flt0_<the filter's index>)."""
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == endpoint)
    index = next(i for i, flt in enumerate(view._filters) if flt.column == field)
    return f"{view.url}/?flt0_{index}={value}"


def test_filters_on_ids_numbers_and_dates_find_their_rows(
    admin_panel, app, make_hotel, stock, guest
):
    from tests.factories import make_booking

    make_hotel(name="Two Star Inn", stars=2)
    room_type, start = stock(nights=2)
    booking = make_booking(guest, room_type, start, nights=2)
    cases = [
        ("admin_hotels", "stars", "2", "Two Star Inn"),
        ("admin_bookings", "hotel", room_type["hotel"], booking["confirmation_code"]),
        ("admin_bookings", "check_in", start.isoformat(), booking["confirmation_code"]),
        ("admin_room_types", "hotel", room_type["hotel"], room_type["name"]),
    ]
    for endpoint, field, value, expected in cases:
        url = _filtered(endpoint, app, field, value)
        listing = admin_panel.get(url)
        assert listing.status_code == 200 and expected in listing.text, url
    # A value that cannot be the field's type is not applied, never a 500.
    bad = admin_panel.get(_filtered("admin_bookings", app, "hotel", "nope"))
    assert bad.status_code == 200
    five_stars = admin_panel.get(_filtered("admin_hotels", app, "stars", 5)).text
    assert "Two Star Inn" not in five_stars


def test_the_payments_list_shows_the_booking_code_and_what_was_refunded(admin_panel, guest, stock):
    from tests.factories import make_booking, pay

    room_type, start = stock(nights=2)
    booking = make_booking(guest, room_type, start, nights=2)
    assert pay(guest, booking).status_code == 201
    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200 and cancelled.json["refund_amount"] == "200.00"
    listing = admin_panel.get("/admin/payments/").text
    code = booking["confirmation_code"]
    row = re.search(r'col-booking">\s*' + code + r".*?</tr>", listing, re.S)
    assert row and "Refunded" in listing
    assert re.search(r'col-refunded_amount">\s*200.00 EUR', row.group())


def test_the_front_desk_works_from_a_bookings_detail_page(app, manager, guest, stock, db):
    """A manager opens a booking, reads what cancelling it would do, checks the guest in
    and then out through the page's forms; the booking area's rules answer."""
    from plumbing.values import today
    from tests.factories import make_booking, pay

    room_type, start = stock(nights=2, start=today())
    booking = make_booking(guest, room_type, start, nights=2)
    assert pay(guest, booking).status_code == 201
    panel = app.test_client()
    assert sign_in(panel, manager.user["email"]).status_code == 302
    details = f"/admin/bookings/details/?id={booking['_id']}"

    def step(name):
        page = panel.get(details).text
        form = re.search(r'<form method="POST" action="([^"]+)".*?</form>', page, re.S)
        assert form, page
        fields = dict(re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', form.group()))
        assert fields["step"] == name, fields
        done = panel.post(form.group(1), data=fields)
        assert done.status_code == 302
        return panel.get(done.headers["Location"]).text

    home = panel.get("/admin/").text  # today's arrivals lead to the booking's page
    assert f'href="/admin/bookings/details/?id={booking["_id"]}"' in home
    page = panel.get(details).text
    assert "Cancelling now refunds" in page and "check in" in page and "record a no-show" in page
    assert f"{booking['confirmation_code']} checked in" in step("check_in")
    assert db.bookings.find_one({"_id": ObjectId(booking["_id"])})["status"] == "checked_in"
    assert f"{booking['confirmation_code']} checked out" in step("check_out")
    assert db.bookings.find_one({"_id": ObjectId(booking["_id"])})["status"] == "checked_out"
    assert "No front-desk step for a checked_out booking" in panel.get(details).text


def test_todays_arrivals_are_checked_in_from_the_dashboard(app, manager, guest, stock, db):
    """The dashboard's arrivals are a worklist: each confirmed arrival has a check-in
    form that goes through the front desk's write path and comes back to the dashboard,
    where the stay now shows as checked in."""
    from plumbing.values import today
    from tests.factories import make_booking, pay

    room_type, start = stock(nights=2, start=today())
    booking = make_booking(guest, room_type, start, nights=2)
    assert pay(guest, booking).status_code == 201
    panel = app.test_client()
    assert sign_in(panel, manager.user["email"]).status_code == 302
    home = panel.get("/admin/").text
    arrivals = re.search(r'<ul id="arrivals">.*?</ul>', home, re.S).group()
    form = re.search(r'<form method="POST" action="([^"]+)".*?</form>', arrivals, re.S)
    fields = dict(re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', form.group()))
    assert (fields["step"], fields["back"], fields["booking"]) == (
        "check_in",
        "dashboard",
        booking["_id"],
    )
    done = panel.post(form.group(1), data=fields)
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/")
    after = panel.get("/admin/").text
    assert f"{booking['confirmation_code']} checked in" in after
    arrivals = re.search(r'<ul id="arrivals">.*?</ul>', after, re.S).group()
    assert "checked in</span>" in arrivals and "<form" not in arrivals
    assert db.bookings.find_one({"_id": ObjectId(booking["_id"])})["status"] == "checked_in"


def test_the_desk_refuses_as_the_api_does(app, manager, login, guest, stock, db):
    from plumbing.values import today
    from tests.factories import make_booking, pay

    room_type, start = stock(nights=2, start=today().plus(3))
    booking = make_booking(guest, room_type, start, nights=2)
    assert pay(guest, booking).status_code == 201
    panel = app.test_client()
    assert sign_in(panel, manager.user["email"]).status_code == 302
    page = panel.get(f"/admin/bookings/details/?id={booking['_id']}").text
    form = re.search(r'<form method="POST" action="([^"]+)".*?</form>', page, re.S)
    fields = dict(re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', form.group()))
    early = panel.post(form.group(1), data=fields, follow_redirects=True).text
    assert f"from the arrival day on: {start.isoformat()}" in early
    stale = panel.post(form.group(1), data={**fields, "etag": "0" * 40}, follow_redirects=True)
    assert "the booking changed since you read it" in stale.text
    forged = panel.post(form.group(1), data={**fields, "csrf_token": "x"}, follow_redirects=True)
    assert "the form has expired" in forged.text
    assert db.bookings.find_one({"_id": ObjectId(booking["_id"])})["status"] == "confirmed"


def test_admins_and_the_hotels_managers_cancel_a_booking_after_reading_its_refund(
    app, admin_panel, manager, guest, stock, db
):
    """The page says what cancelling does; the box must be ticked; the cancellation goes
    through Eve's PATCH events, so the refund is made as the guest's own cancel makes it.
    The hotel's manager cancels too (as in the API); another hotel's manager cannot."""
    from tests.factories import make_booking, pay

    room_type, start = stock(nights=2)
    booking = make_booking(guest, room_type, start, nights=2)
    assert pay(guest, booking).status_code == 201
    details = f"/admin/bookings/details/?id={booking['_id']}"
    page = admin_panel.get(details).text
    assert "Cancelling now refunds all 200.00 EUR." in page
    form = re.search(r'<form method="POST" action="([^"]+/desk/cancel/)".*?</form>', page, re.S)
    fields = dict(re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', form.group()))
    unticked = admin_panel.post(form.group(1), data=fields, follow_redirects=True).text
    assert "nothing cancelled: tick the box" in unticked
    assert db.bookings.find_one({"_id": ObjectId(booking["_id"])})["status"] == "confirmed"
    stale = admin_panel.post(
        form.group(1), data={**fields, "etag": "0" * 40, "confirmed": "y"}, follow_redirects=True
    ).text
    assert "the booking changed since you read it" in stale
    done = admin_panel.post(
        form.group(1), data={**fields, "confirmed": "y"}, follow_redirects=True
    ).text
    assert f"{booking['confirmation_code']} cancelled, 200.00 EUR refunded" in done
    cancelled = db.bookings.find_one({"_id": ObjectId(booking["_id"])})
    assert cancelled["status"] == "cancelled"
    (paid,) = db.payments.find({"booking": cancelled["_id"]})
    assert (paid["status"], str(paid["refunded_amount"])) == ("refunded", "200.00")
    panel = app.test_client()
    assert sign_in(panel, manager.user["email"]).status_code == 302
    other = make_booking(guest, room_type, start, nights=2)
    assert pay(guest, other).status_code == 201
    page = panel.get(f"/admin/bookings/details/?id={other['_id']}").text
    assert "Cancelling now refunds all 200.00 EUR." in page and "/desk/cancel/" in page
    outsider = app.test_client()
    stranger = make_user(db, "manager", email="stranger-manager@example.com")
    assert sign_in(outsider, stranger["email"]).status_code == 302
    fields = {**fields, "booking": other["_id"], "etag": other["_etag"], "confirmed": "y"}
    refused = outsider.post(
        form.group(1),
        data={**fields, "csrf_token": csrf(outsider.get("/admin/login").text)},
        follow_redirects=True,
    ).text
    assert f"booking {other['_id']} not found" in refused
    assert db.bookings.find_one({"_id": ObjectId(other["_id"])})["status"] == "confirmed"
    other = db.bookings.find_one({"_id": ObjectId(other["_id"])})
    done = panel.post(
        form.group(1),
        data={**fields, "etag": other["_etag"], "csrf_token": csrf(page)},
        follow_redirects=True,
    ).text
    assert f"{other['confirmation_code']} cancelled, 200.00 EUR refunded" in done


def test_a_payments_page_links_its_booking_and_lists_the_providers_events(
    app, admin_panel, client, guest, stock, db
):
    from tests.factories import make_booking, pay
    from tests.support import deliver, event

    booking = make_booking(guest, *stock(nights=2))
    paid = pay(guest, booking, "pm_card_authenticationRequired")
    assert paid.status_code == 202
    assert deliver(client, app, event(paid.json["_id"])).json["outcome"] == "confirmed"
    page = admin_panel.get(f"/admin/payments/details/?id={paid.json['_id']}")
    assert page.status_code == 200
    booking_page = (
        f'href="/admin/bookings/details/?id={booking["_id"]}">{booking["confirmation_code"]}<'
    )
    assert booking_page in page.text
    assert "payment.succeeded" in page.text and "confirmed" in page.text
    assert "200.00 EUR" in page.text


def test_the_dashboards_charts_have_labelled_axes():
    """Each chart says its range and its nights: 0 and the highest value on the value
    axis, the first and last night under the bars."""
    from pages.admin.home import occupancy_chart

    days = [
        {"date": "2026-12-03", "occupancy": 0.5, "rooms_sold": 5, "rooms_available": 10},
        {"date": "2026-12-04", "occupancy": 0.8, "rooms_sold": 8, "rooms_available": 10},
    ]
    svg = str(occupancy_chart(days))
    ticks = re.findall(r"<text[^>]*>([^<]+)</text>", svg)
    assert ticks == ["80%", "0%", "2026-12-03", "2026-12-04"]
    assert svg.count("<line") == 2 and svg.count("<rect") == 2


def test_the_calendar_closes_nights_alone_and_changes_only_a_price(admin_panel, db, stock):
    room_type, start = stock(nights=3, allotment=2, price="100.00")
    month = start.strftime("%Y-%m")
    url = f"/admin/calendar/?room_type={room_type['_id']}&month={month}"
    page = admin_panel.get(url)
    base = {"csrf_token": csrf(page.text), "room_type": room_type["_id"], "month": month}
    span = {"first": start.isoformat(), "last": start.plus(1).isoformat()}
    closed = admin_panel.post(
        url, data={**base, **span, "closed": "closed"}, follow_redirects=True
    )
    assert "2 nights set (0 new, 2 changed)" in closed.text
    priced = admin_panel.post(url, data={**base, **span, "price": "90.00"}, follow_redirects=True)
    assert "2 nights set" in priced.text
    rows = sorted(db.inventory.find(), key=lambda r: r["date"])
    assert [(str(r["price"]), r["allotment"], r["closed"]) for r in rows] == [
        ("90.00", 2, True),
        ("90.00", 2, True),
        ("100.00", 2, False),
    ]
    later = {"first": start.plus(2).isoformat(), "last": start.plus(5).isoformat()}
    missing = admin_panel.post(
        url, data={**base, **later, "closed": "closed"}, follow_redirects=True
    )
    assert "409" in missing.text and "PUT the range with allotment and price" in missing.text


def test_the_hotel_calendar_shows_every_room_type_and_sets_them_together_or_not_at_all(
    admin_panel, db, stock, make_hotel, guest
):
    """One row per room type with the hotel's currency; a range closes the ticked room
    types in one transaction, and one room type's refusal changes neither."""
    hotel = make_hotel()
    double, start = stock(nights=3, allotment=2, price="100.00", hotel=hotel, name="Double")
    single, _ = stock(
        nights=3, allotment=2, price="80.00", hotel=hotel, name="Single", start=start
    )
    assert book(guest, single, start, nights=1).status_code == 201
    month = start.strftime("%Y-%m")
    url = f"/admin/calendar/?hotel={hotel['_id']}&month={month}"
    page = admin_panel.get(url)
    assert page.status_code == 200
    grid = page.text.split('id="calendar"')[1].split("</table>")[0]
    assert grid.index("Double") < grid.index("Single")
    cell = grid.split(f'id="night-{single["_id"]}-{start.isoformat()}"')[1].split("</td>")[0]
    assert "80.00" in cell and "1/2" in cell
    row = grid.split(f'id="room-type-{single["_id"]}"')[1].split("</th>")[0]
    assert "Single" in row and "EUR" in row  # the row names its currency
    base = {
        "csrf_token": csrf(page.text),
        "room_type": [double["_id"], single["_id"]],
        "first": start.isoformat(),
        "last": start.plus(1).isoformat(),
    }
    refused = admin_panel.post(url, data={**base, "allotment": "0"}, follow_redirects=True)
    assert "409" in refused.text and "below the rooms already booked" in refused.text
    assert "of Single" in refused.text
    assert {r["allotment"] for r in db.inventory.find({"hotel": ObjectId(hotel["_id"])})} == {2}
    closed = admin_panel.post(url, data={**base, "closed": "closed"}, follow_redirects=True)
    assert "2 nights of 2 room types set (0 new, 4 changed)" in closed.text
    rows = db.inventory.find({"hotel": ObjectId(hotel["_id"])})
    assert sorted(
        (r["room_type"] == ObjectId(single["_id"]), (Day.of(r["date"]) - start).days, r["closed"])
        for r in rows
    ) == [
        (False, 0, True),
        (False, 1, True),
        (False, 2, False),
        (True, 0, True),
        (True, 1, True),
        (True, 2, False),
    ]
    grid = closed.text.split('id="calendar"')[1]
    assert 'id="room-type-' in grid and "closed" in grid
    unknown = ObjectId()
    missing = admin_panel.get(f"/admin/calendar/?hotel={unknown}")
    assert missing.status_code == 404 and f"hotel {unknown} not found among yours" in missing.text
    shut = {**base, "closed": "open"}  # refused, so the nights stay closed
    none = admin_panel.post(url, data={**shut, "room_type": []}, follow_redirects=True)
    assert "422: tick at least one room type" in none.text
    many = [str(ObjectId()) for _ in range(51)]
    crowd = admin_panel.post(url, data={**shut, "room_type": many}, follow_redirects=True)
    assert "422: room_type at most 50 room types at once (51 given)" in crowd.text
    assert {r["closed"] for r in db.inventory.find({"date": start})} == {True}  # as it was


def test_a_bookings_page_shows_what_its_all_in_total_is_made_of(
    admin_panel, make_hotel, make_room_type, admin, guest
):
    taxes = {"vat_percent": 10, "city_tax": {"per_person_per_night": "2.88"}}
    kind = make_room_type(make_hotel(taxes=taxes))
    start = stock_room_type(admin, kind, nights=3, price="120.00")
    made = book(guest, kind, start, nights=3, adults=2)
    assert made.status_code == 201, made.json
    page = html.unescape(admin_panel.get(f"/admin/bookings/details/?id={made.json['_id']}").text)
    # 360.00 with 32.73 VAT in it; city tax 2.88 x 2 x 3 = 17.28; all in 377.28
    assert "377.28 EUR (rooms 360.00; VAT 10 % (included) 32.73; City tax 17.28)" in page


def test_an_admin_keeps_the_exchange_rates_in_the_admin(admin_panel, db):
    form = admin_panel.get("/admin/exchange-rates/new/")
    assert form.status_code == 200
    saved = admin_panel.post(
        "/admin/exchange-rates/new/",
        data={
            "csrf_token": csrf(form.text),
            "currency": "USD",
            "rate": "1.0812",
            "as_of": "2026-12-01",
        },
    )
    assert saved.status_code == 302, saved.text
    kept = db.exchange_rates.find_one({"currency": "USD"})
    assert (str(kept["rate"]), kept["as_of"].date().isoformat()) == ("1.0812", "2026-12-01")
    listed = html.unescape(admin_panel.get("/admin/exchange-rates/").text)
    assert "Units per euro" in listed and "1.0812" in listed and "2026-12-01" in listed
