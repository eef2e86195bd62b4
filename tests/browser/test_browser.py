"""Headless Chromium (Debian's package, driven by Playwright) uses the docs page, the
browsable API and the admin of a live server, as a person would. Screenshots land in
test-artifacts/."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from plumbing.embedded import free_port
from tests.conftest import PASSWORD, make_user

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live(app_config, db, stock, make_hotel):
    """`python run.py` on the test database, with one admin and a stocked hotel."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's package")
        pytest.skip("chromium not installed (apt-get install chromium)")
    admin = make_user(db, "admin", email="browser-admin@example.com")
    room_type, start = stock(nights=10)
    env = dict(os.environ, **{k: str(v) for k, v in app_config.items() if k != "TESTING"})
    env.update(SEED_DEMO="0", PORT=str(free_port()))
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/health", timeout=2)  # noqa: S310
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
    yield {"base": base, "admin": admin, "room_type": room_type, "start": start}
    process.terminate()
    process.wait(20)


@pytest.fixture
def page(live):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(base_url=live["base"])
        page = context.new_page()
        yield page
        context.close()
        browser.close()


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


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


def test_browsable_walk_from_the_root_to_a_hotels_room_types(page, live):
    page.goto("/api/v1/")
    page.click('text="hotels"')
    page.wait_for_url("**/api/v1/hotels")
    page.locator("#body a[href*='/api/v1/hotels/']").first.click()
    page.wait_for_selector("nav.related")
    page.click("text=room types of this hotel")
    assert "Double" in page.locator("#body").inner_text()
    shot(page, "browsable-room-types")


def test_browsable_form_shows_validation_errors_by_field(page, live):
    from playwright.sync_api import expect

    page.goto("/api/v1/hotels")
    page.fill("#login-email", live["admin"]["email"])
    page.fill("#login-password", PASSWORD)
    page.click("#login button[type=submit]")
    # Exactly "signed in": "not signed in" contains it, and the sign-in reloads the page.
    expect(page.locator("#login-state")).to_have_text("signed in")
    form = page.locator("form.api-form[data-method=POST]")
    form.locator("#f-name").fill("Browser Hotel")
    form.locator("#f-stars").fill("9")
    form.locator("#f-address").fill('{"city": "Paris", "country": "FR"}')
    form.locator("button[type=submit]").click()
    expect(form.locator("[data-error=stars]")).to_contain_text("max value is 5")
    shot(page, "browsable-validation-error")


def test_admin_sign_in(page, live):
    page.goto("/admin/")
    page.wait_for_url("**/admin/login**")
    page.fill("#admin-email", live["admin"]["email"])
    page.fill("#admin-password", PASSWORD)
    page.click("#admin-submit")
    page.wait_for_url("**/admin/")
    page.goto("/admin/hotels/")
    assert "Hotel Test" in page.content()
    shot(page, "admin-hotels")
