"""The member's portal in real headless Chromium: a member signs in by link, claims with a
PDF certificate (a real PDF made with fpdf2), sees the proposal with its rule, submits by
keyboard, sees the claim pending, then, once a secretary accepts it, accepted with its points.
The pages fit a 390-px phone. Screenshots go to ``CPD_SCREENSHOT_DIR`` when it is set (the
ones in docs/screenshots were made so), else to the test's temporary directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpdf import FPDF

from cpd.claims.intake import Sender
from tests.support.browser import browser, screenshot_dir  # noqa: F401  (the fixture)
from tests.web.conftest import Web


def certificate(path: Path) -> Path:
    """A one-page PDF certificate, made with fpdf2."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=18)
    pdf.cell(0, 12, "Certificate of attendance", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 8, "IIMS training day: report writing, 6 hours", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def test_a_member_claims_with_a_pdf_and_sees_it_accepted(
    sqlite_web: Web,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    shots = screenshot_dir(tmp_path)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(sqlite_web.url + sqlite_web.link("M1"))
    page.goto(sqlite_web.url + "/me")
    assert "Your CPD progress" in page.locator("h1").inner_text()
    assert page.locator("header.site .brand").inner_text() == "CPD Claims Assistant"
    page.get_by_role("link", name="Claim an activity").first.click()
    page.get_by_label("What you did").fill("IIMS training day yesterday, 6 hours")
    page.get_by_label("Evidence").set_input_files(str(certificate(tmp_path / "certificate.pdf")))
    page.get_by_role("button", name="Make a draft").click()
    page.wait_for_url("**/me/claims/*")
    assert "draft" in page.locator(".state").inner_text()
    proposal = page.locator(".proposal").inner_text()
    assert "Proposed: 5 points" in proposal and "Rule:" in proposal
    assert page.get_by_role("link", name="certificate.pdf").count() == 1
    page.screenshot(path=str(shots / "portal-claim.png"), full_page=True)
    page.locator("#submit-claim").focus()  # by keyboard
    page.keyboard.press("Enter")
    page.wait_for_selector("text=submitted: it will be verified soon")
    assert page.locator(".state strong").inner_text() == "pending"
    [pending] = sqlite_web.service.pending()
    assert pending.member_no == "M1"
    sqlite_web.service.decide(pending.id, Sender(membership_no="S1"), "accept")
    page.reload()
    assert "Accepted by Sam Secretary" in page.locator(".outcome").inner_text()
    assert "5 points" in page.locator(".outcome").inner_text()
    page.get_by_role("link", name="My claims").click()
    row = page.locator("#claims tbody tr").first
    assert "accepted" in row.inner_text() and "5 points" in row.inner_text()
    page.get_by_label("Status").select_option("pending")  # htmx swaps the table in place
    page.wait_for_selector("#claims >> text=No claims with status pending")
    assert page.url.endswith("/me/claims?status=pending")
    page.get_by_role("link", name="Progress").click()
    page.wait_for_function("document.querySelector('figure.chart img').naturalWidth > 0")
    assert "5 of 10" in page.locator(".big").first.inner_text().replace("\n", " ")
    page.screenshot(path=str(shots / "portal-progress.png"), full_page=True)
    context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    small = phone.new_page()
    small.goto(sqlite_web.url + sqlite_web.link("M1"))
    for path in ("/me", "/me/claims", f"/me/claims/{pending.id}", "/me/claims/new"):
        small.goto(sqlite_web.url + path)
        small.wait_for_load_state("load")
        width = small.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    small.goto(sqlite_web.url + "/me")
    small.wait_for_function("document.querySelector('figure.chart img').naturalWidth > 0")
    small.screenshot(path=str(shots / "portal-phone.png"), full_page=True)
    phone.close()
