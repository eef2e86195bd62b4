"""Accept: text/html gives a readable, safe page of the same response, with forms."""

import copy
import re

import domain as domain_package
from identity.tokens import issue_token
from run import close_app, create_app
from tests.conftest import make_user
from tests.support import sign_in

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_json_stays_the_default(client, make_hotel):
    make_hotel()
    response = client.get("hotels")
    assert response.mimetype == "application/json"
    assert client.get("hotels", headers={"Accept": "*/*"}).mimetype == "application/json"


def test_collection_page_has_links_pagination_methods_and_a_post_form(admin, make_hotel):
    hotel = make_hotel()
    page = admin.get("hotels?max_results=1", headers=HTML)
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.text
    assert f'href="/api/v1/hotels/{hotel["_id"]}"' in text
    assert '<span class="badge">POST</span>' in text
    assert 'data-method="POST"' in text and 'name="stars"' in text
    assert 'name="rating"' not in text  # server-owned fields get no input
    assert 'name="_id"' not in text
    assert 'option value="FR"' not in text  # countries are free text, not a 249-item list
    make_hotel(name="Second")
    paged = admin.get("hotels?max_results=1", headers=HTML).text
    assert 'rel="next"' in paged and "(2 items)" in paged


def test_item_page_links_references_and_patches_with_if_match(admin, make_room_type):
    room_type = make_room_type()
    page = admin.get(f"room-types/{room_type['_id']}", headers=HTML).text
    assert f'href="/api/v1/hotels/{room_type["hotel"]}"' in page
    assert 'data-method="PATCH"' in page and f'data-etag="{room_type["_etag"]}"' in page


def test_values_are_escaped(client, make_hotel):
    make_hotel(name='<script>alert("x")</script>', description="<img src=x onerror=alert(1)>")
    text = client.get("hotels", headers=HTML).text
    assert "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert" in text


def test_pages_carry_a_nonce_csp(client):
    response = client.get("hotels", headers=HTML)
    csp = response.headers["Content-Security-Policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in response.text
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp


def test_errors_render_too(client):
    page = client.get("bookings", headers=HTML)
    assert page.status_code == 401 and page.mimetype == "text/html"
    assert "bearer token" in page.text


def test_the_cookie_signs_in_pages_but_never_writes(guest, stock, db):
    room_type, start = stock()
    cookie_client = guest.flask
    cookie_client.set_cookie("innkeeper_token", guest.token, path="/api/v1")
    page = cookie_client.get("/api/v1/bookings", headers=HTML)
    assert page.status_code == 200
    write = cookie_client.post(
        "/api/v1/bookings",
        json={
            "room_type": room_type["_id"],
            "check_in": start.isoformat(),
            "check_out": start.plus(1).isoformat(),
        },
    )
    assert write.status_code == 401  # a cross-site form could not book with the cookie
    assert db.bookings.count_documents({}) == 0


def test_a_field_added_to_the_domain_appears_in_the_forms(app_config, monkeypatch):
    extended = copy.deepcopy(domain_package._DOMAIN)
    extended["hotels"]["schema"]["region"] = {
        "type": "string",
        "allowed": ["EU", "US"],
        "description": "Sales region.",
        "example": "EU",
    }
    monkeypatch.setattr(domain_package, "_DOMAIN", extended)
    app = create_app(app_config)
    try:
        with app.app_context():
            admin = make_user(app.data.driver.db, "admin")
        token = issue_token(admin, app.config["SECRET_KEY"], 3600)
        signed_in = {**HTML, "Authorization": f"Bearer {token}"}
        text = app.test_client().get("/api/v1/hotels", headers=signed_in).text
        assert 'name="region"' in text and '<option value="EU">EU</option>' in text
        spec = app.test_client().get("/api/v1/openapi.json").json
        assert "region" in spec["components"]["schemas"]["Hotels"]["properties"]
        panel = app.test_client()
        sign_in(panel, admin["email"])
        form = panel.get("/admin/hotels/new/").text
        assert 'name="region"' in form and ">EU<" in form
    finally:
        close_app(app)


def test_the_favicon_is_an_icon(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/vnd.microsoft.icon"
    assert icon.data[:4] == b"\x00\x00\x01\x00" and b"PNG" in icon.data[:40]


def test_forms_only_for_what_the_caller_may_do(client, guest, admin, make_hotel):
    hotel = make_hotel()
    anonymous = client.get("hotels", headers=HTML).text
    assert 'data-method="POST"' not in anonymous and 'id="read-only"' in anonymous
    as_guest = guest.get(f"hotels/{hotel['_id']}", headers=HTML).text
    assert 'data-method="PATCH"' not in as_guest  # hotels are changed by their managers
    as_admin = admin.get(f"hotels/{hotel['_id']}", headers=HTML).text
    assert 'data-method="PATCH"' in as_admin and 'id="read-only"' not in as_admin
    assert 'data-method="POST"' in guest.get("bookings", headers=HTML).text  # guests book


def test_a_guest_sees_what_a_book_button_sells_and_what_a_cancel_keeps(guest, stock, client):
    """Offers name their rate plan on the book button; a non-refundable booking's cancel
    says it refunds nothing and asks first; phones get a page at their width; the front
    door's templated search link is shown as a pattern, not a link to follow."""
    from tests.factories import make_booking, pay

    plans = [
        {"code": "flexible", "name": "Flexible"},
        {
            "code": "non-refundable",
            "name": "Non-refundable",
            "discount_percent": 15,
            "cancellation": {"refundable": False},
        },
    ]
    room_type, start = stock(nights=2, price="100.00", rate_plans=plans)
    query = f"check_in={start}&check_out={start.plus(2)}&hotel={room_type['hotel']}"
    offers = guest.get(f"availability?{query}", headers=HTML).text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in offers
    assert "Double, Flexible: 200.00 EUR" in offers
    assert "Double, Non-refundable: 170.00 EUR" in offers
    booking = make_booking(guest, room_type, start, nights=2, rate_plan="non-refundable")
    assert pay(guest, booking).status_code == 201
    page = guest.get(f"bookings/{booking['_id']}", headers=HTML).text
    words = "Cancelling now refunds 0.00 EUR of the 170.00 EUR paid."
    assert words in page and f'data-confirm="{words} Cancel anyway?"' in page
    front = client.get("", headers=HTML).text
    assert "{?" in front and 'href="/api/v1/availability{?' not in front


def test_the_search_form_offers_every_documented_filter(client, stock):
    """The form's inputs are the parameters the OpenAPI document describes (less paging,
    the page's own links), and what a person leaves empty is not sent as a value."""
    room_type, start = stock(nights=2)
    documented = {
        p["name"]
        for p in client.get("openapi.json").json["paths"]["/api/v1/availability"]["get"][
            "parameters"
        ]
    }
    page = client.get("availability", headers=HTML).text
    offered = set(re.findall(r'id="s-(\w+)" name="\1"', page))
    assert offered == documented - {"page", "max_results"}
    assert '<select id="s-country" name="country">' in page and 'value="FR"' in page
    form = {name: "" for name in offered}  # every box left empty but the dates
    form.update(check_in=start.isoformat(), check_out=start.plus(2).isoformat())
    assert client.get("availability", query_string=form).status_code == 200


def test_a_templated_link_is_a_form_that_fills_the_template(client, stock):
    """The front door's `availability{?check_in,...}` is not a link to follow (it would
    lead to a 404) but a GET form to its path with the whole documented search, and its
    pattern is text, not an anchor."""
    room_type, start = stock(nights=2)
    page = client.get("/api/v1/", headers=HTML).text
    template = client.get("/api/v1/").json["_links"]["availability"]["href"]
    assert "{?" in template and f'href="{template}"' not in page
    form = re.search(r'<form id="link-availability"[^>]*action="([^"]+)"(.*?)</form>', page, re.S)
    assert form and form.group(1) == template.split("{")[0]
    inputs = set(re.findall(r'name="(\w+)"', form.group(2)))
    variables = set(template.split("{?")[1].rstrip("}").split(","))
    assert variables <= inputs and {"min_stars", "max_price", "country"} <= inputs
    filled = client.get(
        form.group(1),
        query_string={"check_in": start.isoformat(), "check_out": start.plus(2).isoformat()},
    )
    assert filled.status_code == 200 and filled.json["_items"]
