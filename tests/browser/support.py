"""What the browser tests share: where Chromium and axe-core are, screenshots, the
accessibility check and the layout check."""

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

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


AXE = ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
LAYOUT = "\n".join(  # the function alone: its comment lines left out
    line
    for line in (Path(__file__).parent / "layout.js").read_text().splitlines()
    if not line.startswith("//")
)
WIDTHS = (1280, 390)  # a desktop, a phone


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def accessible(page, name):
    """axe-core (npm, installed by `make test`) finds no serious or critical violation."""
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail("axe-core is not installed; make test installs it with npm")
        return
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], (name, bad)


def sign_in_to_admin(page, email, password=PASSWORD):
    page.goto("/admin/login")
    page.fill("#admin-email", email)
    page.fill("#admin-password", password)
    page.click("#admin-submit")
    page.wait_for_url("**/admin/")


def laid_out(page, name):
    """At a desktop's and a phone's width: no two boxes a person reads or uses (labels,
    inputs, buttons, headings, help texts, table cells, charts) overlap, and none sticks
    out of the page (a wide table scrolls inside its own box); a screenshot of each. The
    page is left at the desktop's width."""
    for width in reversed(WIDTHS):
        page.set_viewport_size({"width": width, "height": 900})
        problems = page.evaluate(LAYOUT)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        assert problems == [], (name, width, problems[:10])


def looked_at(page, name):
    """axe-core clean, and laid out at both widths (screenshots in test-artifacts/)."""
    accessible(page, name)
    laid_out(page, name)


@contextmanager
def browsing(browser, base):
    """A page of a fresh browser context on `base`: no cookie or storage crosses tests.
    bypass_csp: the accessibility check injects axe-core into pages whose CSP would
    refuse a script the server did not send."""
    context = browser.new_context(base_url=base, bypass_csp=True)
    try:
        yield context.new_page()
    finally:
        context.close()
