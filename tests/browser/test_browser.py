"""Headless Chromium (Debian's package, driven by Playwright) uses the docs page, the
browsable API and the admin of a live server, as a person would. Screenshots land in
test-artifacts/."""

import json
import urllib.request

from identity.tokens import issue_token
from tests.browser.support import looked_at, shot, sign_in_to_admin
from tests.conftest import PASSWORD


def token_for(live):
    request = urllib.request.Request(
        live["base"] + "/api/v1/auth/token",
        method="POST",
        data=json.dumps({"email": live["admin"]["email"], "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())["access_token"]


def test_docs_page_login_and_try_it_out_search(page, live):
    page.goto("/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    page.click("button.authorize")
    page.fill(".modal-ux input[type=text]", token_for(live))
    page.click(".modal-ux button.authorize")
    page.click(".modal-ux button.btn-done")
    operation = page.locator("#operations-availability-get_api_v1_availability")
    operation.locator(".opblock-summary").click()
    try_out = operation.locator("button.try-out__btn")
    if try_out.inner_text().strip().lower().startswith("try it out"):
        try_out.click()  # the page opens operations in try-out mode already
    start = live["start"]
    operation.locator("tr[data-param-name=check_in] input").fill(start.isoformat())
    operation.locator("tr[data-param-name=check_out] input").fill(start.plus(2).isoformat())
    operation.locator("tr[data-param-name=city] input").fill("Paris")
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=30_000)
    assert status.inner_text().strip().startswith("200")
    assert "Double" in operation.locator(".live-responses-table").inner_text()
    shot(page, "docs-try-it-out")


def test_browsable_walk_from_the_front_door_to_a_hotels_room_types(page, live):
    response = page.goto("/")  # the front door sends a browser to the browsable index
    assert response.ok and page.url.endswith("/api/v1/")
    looked_at(page, "front door")
    page.click('text="hotels"')
    page.wait_for_url("**/api/v1/hotels")
    page.locator("#body a[href*='/api/v1/hotels/']").first.click()
    page.wait_for_selector("nav.related")
    page.click("text=room types of this hotel")
    assert "Double" in page.locator("#body").inner_text()
    looked_at(page, "browsable room types")
    shot(page, "browsable-room-types")


def test_browsable_form_shows_validation_errors_by_field(page, live):
    from playwright.sync_api import expect

    page.goto("/api/v1/hotels")
    page.fill("#login-email", live["admin"]["email"])
    page.fill("#login-password", PASSWORD)
    page.click("#login button[type=submit]")
    # The header says who is signed in, and as what; the sign-in boxes are gone.
    expect(page.locator("#login-state")).to_have_text(
        "signed in as browser-admin@example.com (admin)"
    )
    expect(page.locator("#login-email")).to_be_hidden()
    form = page.locator("form.api-form[data-method=POST]")
    form.locator("#f-name").fill("Browser Hotel")
    form.locator("#f-stars").fill("9")
    # Nested fields are their own inputs; their errors land beside them.
    form.locator("#f-address-city").fill("Paris")
    form.locator("#f-address-country").fill("XX")
    form.locator("#f-location-lat").fill("48.86")
    form.locator("#f-location-lng").fill("2.34")
    form.locator("input[name=amenities][value=spa]").check()
    form.locator("button[type=submit]").click()
    expect(form.locator("[data-error=stars]")).to_contain_text("max value is 5")
    expect(form.locator('[data-error="address.country"]')).to_contain_text("ISO 3166-1")
    looked_at(page, "browsable form with errors")
    shot(page, "browsable-validation-error")
    form.locator("#f-stars").fill("4")
    form.locator("#f-address-country").fill("FR")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/api/v1/hotels/*")
    body = page.locator("#body").inner_text()
    assert '"Browser Hotel"' in body and '"spa"' in body and "48.86" in body


def test_admin_operator_walk_dashboard_edits_calendar_and_a_managers_view(page, live):
    """The flows of issue 14 in one browser session: the dashboard, an unchanged save and
    a real change of a hotel and a room type, a calendar range edit, then a manager's
    restricted view; axe-core on each page."""
    from playwright.sync_api import expect

    page.goto("/admin/")  # signed out: the sign-in page first
    page.wait_for_url("**/admin/login**")
    sign_in_to_admin(page, live["admin"]["email"])
    expect(page.locator("#occupancy-chart svg")).to_be_visible()
    looked_at(page, "dashboard")
    shot(page, "admin-dashboard")

    page.goto("/admin/hotels/")
    page.locator("a[title='Edit Record']").first.click()
    expect(page.locator("#address-city")).to_have_value("Paris")
    looked_at(page, "hotel edit")
    page.click("input[type=submit][value='Save']")
    expect(page.locator(".alert-success")).to_be_visible()
    page.locator("a[title='Edit Record']").first.click()
    page.fill("#address-postal_code", "75001")
    page.check("input[name=amenities][value=spa]")
    page.click("input[type=submit][value='Save']")
    expect(page.locator(".alert-success")).to_be_visible()
    shot(page, "admin-hotel-saved")

    page.goto("/admin/room-types/")
    page.locator("a[title='Edit Record']").first.click()
    expect(page.locator("#hotel option[selected]")).to_have_text("Hotel Test")
    page.fill("#name", "Double Deluxe")
    page.click("input[type=submit][value='Save']")
    expect(page.locator("text=Double Deluxe").first).to_be_visible()

    start = live["start"]
    room_type = live["room_type"]["_id"]
    page.goto(f"/admin/calendar/?room_type={room_type}&month={start.strftime('%Y-%m')}")
    cell = page.locator(f"#night-{start.isoformat()}")
    expect(cell).to_contain_text("100.00")
    looked_at(page, "calendar")
    page.fill("#range-first", start.isoformat())
    page.fill("#range-last", start.plus(2).isoformat())
    page.fill("#range-price", "149.00")
    page.fill("#range-allotment", "3")
    page.click("#range-submit")
    expect(page.locator(".alert-success")).to_contain_text("3 nights set")
    expect(page.locator(f"#night-{start.isoformat()}")).to_contain_text("149.00")
    shot(page, "admin-calendar")

    page.goto("/admin/outbox/")
    expect(page.locator("h1")).to_have_text("Outbox")
    looked_at(page, "outbox")

    page.goto("/admin/logout")
    sign_in_to_admin(page, live["manager"]["email"])
    page.goto("/admin/hotels/")
    assert "Hotel Test" in page.content()
    menu = page.locator("nav").inner_text()
    assert "users" not in menu.lower() and "calendar" in menu.lower()
    assert page.goto("/admin/users/").status == 403
    shot(page, "admin-manager-hotels")


def test_browsable_search_book_pay_and_cancel(page, live):
    """A client developer's walk in the browsable API: sign in, search, book an offer,
    pay it, cancel it - through the action buttons, never a hand-written body."""
    from playwright.sync_api import expect

    page.goto("/api/v1/availability")
    page.fill("#login-email", live["guest"]["email"])
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#login-state")).to_contain_text("(guest)")
    start = live["start"]
    page.fill("#s-check_in", start.isoformat())
    page.fill("#s-check_out", start.plus(2).isoformat())
    page.fill("#s-city", "Paris")
    page.click("#search button[type=submit]")
    book = page.locator("form.action[data-title=book]").first
    expect(book).to_contain_text("Hotel Test")
    looked_at(page, "search results")
    shot(page, "browsable-search")
    book.locator("button").click()
    page.wait_for_url("**/api/v1/bookings/*")
    expect(page.locator("#body")).to_contain_text("pending_payment")
    assert page.locator("form.api-form[data-method=PATCH]").count() == 0  # no generic form
    pay = page.locator("form.action[data-title=pay]")
    pay.locator("select").select_option("pm_card_visa")
    looked_at(page, "booking")
    pay.locator("button").click()
    # The page reloads: paid, changing and cancelling are left.
    expect(page.locator("form.action[data-title=pay]")).to_have_count(0)
    expect(page.locator("#body")).to_contain_text('"confirmed"')
    expect(page.locator("#live")).to_have_text("live status: confirmed")
    # The front desk shortens the stay elsewhere: the open page hears it and reloads.
    booking_id = page.url.rstrip("/").rsplit("/", 1)[1]
    admin = {"Authorization": f"Bearer {token_for(live)}", "Content-Type": "application/json"}
    with urllib.request.urlopen(  # noqa: S310
        urllib.request.Request(f"{live['base']}/api/v1/bookings/{booking_id}", headers=admin),
        timeout=10,
    ) as response:
        etag = json.loads(response.read())["_etag"]
    changed = urllib.request.Request(
        f"{live['base']}/api/v1/bookings/{booking_id}/change",
        data=json.dumps({"check_out": start.plus(1).isoformat()}).encode(),
        headers={**admin, "If-Match": etag},
        method="POST",
    )
    with urllib.request.urlopen(changed, timeout=10) as response:  # noqa: S310
        assert response.status == 200
    expect(page.locator("#live")).to_contain_text("live status: modified, refunded")
    expect(page.locator("#body")).to_contain_text(f'"check_out": "{start.plus(1).isoformat()}"')
    expect(page.locator("#live")).to_have_text("live status: confirmed")
    page.locator("form.action[data-title=cancel] button").click()
    expect(page.locator("form.action")).to_have_count(0)  # cancelled: nothing left to do
    page.wait_for_load_state()
    assert '"cancelled_at"' in page.locator("#body").inner_text()
    shot(page, "browsable-cancelled")


def _api(live, method, path, body, token, etag=None):
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    if etag:
        headers["If-Match"] = etag
    request = urllib.request.Request(
        live["base"] + "/api/v1/" + path,
        method=method,
        data=json.dumps(body).encode(),
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def test_a_manager_checks_a_guest_in_at_the_front_desk(page, live):
    """The hotel's manager opens today's arrival from the dashboard, reads what
    cancelling would do, checks the guest in and then out; axe-core on the page."""
    from playwright.sync_api import expect

    from plumbing.values import today

    admin_token = token_for(live)
    room_type = live["room_type"]
    tonight = today()
    _api(
        live,
        "PUT",
        f"room-types/{room_type['_id']}/inventory",
        {
            "from": tonight.isoformat(),
            "to": tonight.plus(2).isoformat(),
            "allotment": 3,
            "price": "90.00",
        },
        admin_token,
    )
    guest_token = issue_token(live["guest"], live["secret"], 600)
    booking = _api(
        live,
        "POST",
        "bookings",
        {
            "room_type": room_type["_id"],
            "check_in": tonight.isoformat(),
            "check_out": tonight.plus(2).isoformat(),
        },
        guest_token,
    )
    _api(
        live,
        "POST",
        "payments",
        {"booking": booking["_id"], "payment_method": "pm_card_visa"},
        guest_token,
    )

    sign_in_to_admin(page, live["manager"]["email"])
    page.click(f"#arrivals a:has-text('{booking['confirmation_code']}')")
    expect(page.locator("#cancel-terms")).to_contain_text("Cancelling now refunds")
    looked_at(page, "booking details")
    shot(page, "admin-front-desk")
    page.click("button:has-text('check in')")
    expect(page.locator(".alert-success")).to_contain_text(
        f"{booking['confirmation_code']} checked in"
    )
    page.click("button:has-text('check out')")
    expect(page.locator(".alert-success")).to_contain_text("checked out")
    expect(page.locator("text=No front-desk step for a checked_out booking")).to_be_visible()
