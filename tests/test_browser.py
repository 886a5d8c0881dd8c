"""The staff web app in a real headless Chromium (Debian's, driven by Playwright), served by a real uvicorn.

Each page is saved as a screenshot in test-artifacts/screenshots/ (or $UIP_INTAKE_ARTIFACTS/screenshots/).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import _missing
from sqlalchemy import select
from web_support import EMAIL, PASSWORD, Bench, demo_settings, populate, serving

from storage import Reply
from storage.decision_models import DecisionLetter
from storage.models import AuditEntry, FieldCorrection
from storage.passwords import hash_password
from storage.staff import add_staff
from storage.states import StaffRole

CHROMIUM = os.environ.get("UIP_INTAKE_CHROMIUM", "/usr/bin/chromium")
# Chromium on a machine without internet: no background connections, no first-run, a fresh profile per launch
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("UIP_INTAKE_ARTIFACTS", Path(__file__).parents[1] / "test-artifacts")) / "screenshots"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        _missing(f"Chromium ({CHROMIUM}; Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture()
def site(tmp_path: Path, demo_maildir: Path) -> Iterator[tuple[str, Bench]]:
    """uvicorn serving the app on loopback, over the demo's mail processed into SQLite."""
    settings = demo_settings(tmp_path, f"sqlite:///{tmp_path / 'web.db'}")
    shutil.copytree(demo_maildir, settings.mailbox.maildir_path)
    bench = Bench(settings, populate(settings))
    with serving(bench) as url:
        yield url, bench
    bench.db.dispose()


@pytest.fixture()
def page(browser: object, site: tuple[str, Bench]) -> Iterator[object]:
    context = browser.new_context(base_url=site[0], accept_downloads=True, locale="da-DK",  # type: ignore[attr-defined]
                                  viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


def shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def log_in(page: object, email: str = EMAIL) -> None:
    page.goto("/queue")  # type: ignore[attr-defined]
    assert "/login" in page.url  # type: ignore[attr-defined]
    shot(page, "01-login")
    page.get_by_label("E-mailadresse").fill(email)  # type: ignore[attr-defined]
    page.get_by_label("Adgangskode").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log ind").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/queue")  # type: ignore[attr-defined]


def test_in_chromium_staff_log_in_filter_the_queue_and_open_an_application(page, site):
    log_in(page)
    assert page.locator("table.queue tbody tr").count() == 7
    shot(page, "02-queue")
    page.get_by_label("Status", exact=True).select_option("needs_clarification")
    page.get_by_role("button", name="Vis").click()
    page.wait_for_url("**status=needs_clarification**")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 2 and "Odense Kommune" in rows.first.inner_text()
    shot(page, "03-queue-awaiting-answer")
    page.get_by_role("link", name="AD-2019-0002").click()
    page.wait_for_url("**/applications/AD-2019-0002")
    assert page.get_by_role("heading", name="AD-2019-0002 · Odense Kommune").is_visible()
    assert "Feltet er ikke udfyldt" in page.locator("section", has=page.locator("#problems-h")).inner_text()
    assert page.locator(".conversation li.out").count() == 1
    shot(page, "04-application")


def test_in_chromium_staff_correct_a_field_and_see_the_original_kept(page, site):
    log_in(page)
    page.goto("/applications/AD-2019-0002")
    row = page.locator("#f-population")
    row.locator("summary").click()
    row.get_by_label("Ny værdi").fill("204.895")
    row.get_by_label("Begrundelse").fill("Oplyst i telefonen af Lone Friis")
    row.get_by_role("button", name="Gem rettelse").click()
    page.wait_for_url("**/applications/AD-2019-0002?flash=corrected#f-population")
    assert page.get_by_role("status").inner_text() == "Feltet er rettet. Den oprindelige værdi er gemt."
    assert page.locator("#f-population .v").inner_text() == "204.895"
    assert "Rettet af anna@socialstyrelsen.dk" in page.locator("#f-population").inner_text()
    shot(page, "05-application-corrected")
    with site[1].db.session() as session:
        correction = session.scalars(select(FieldCorrection)).one()
        assert (correction.key, correction.original, correction.value) == ("population", None, 204895)


def test_in_chromium_staff_select_on_the_ranking_page_and_download_the_csv(page, site):
    log_in(page)
    page.get_by_role("link", name="Rangorden").click()
    page.wait_for_url("**/ranking")
    assert page.locator("table.ranking tbody tr").count() == 5
    shot(page, "06-ranking")
    for reference in ("AD-2019-0003", "AD-2019-0001", "AD-2019-0007"):
        page.locator(f"#r-{reference}").get_by_role("button", name="Udvælg").click()
        page.wait_for_url("**/ranking?flash=selected*")
    assert page.locator("p.selection").get_attribute("data-selected") == "3"
    assert page.locator("#r-AD-2019-0003 .tag.sel").is_visible()
    shot(page, "07-ranking-selected")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename == "rangorden.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig")), delimiter=";"))
    selected = {r[2] for r in rows[1:] if r[12] == "Ja"}
    assert selected == {"AD-2019-0003", "AD-2019-0001", "AD-2019-0007"}
    with site[1].db.session() as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["login", "select", "select", "select", "export"]


def test_in_chromium_staff_note_preview_and_queue_a_clarification_see_it_logged_and_log_out(page, site):
    log_in(page)
    page.goto("/applications/AD-2019-0006")
    page.get_by_label("Ny note").fill("Direktøren er på ferie til den 16.; vi venter.")
    page.get_by_role("button", name="Gem note").click()
    page.wait_for_url("**flash=note#notes")
    assert "Direktøren er på ferie" in page.locator("#notes").inner_text()
    page.get_by_label("Jeres egen tekst (valgfri)").fill("Send venligst skemaet med direktørens godkendelse.")
    page.get_by_role("button", name="Vis udkast").click()
    preview = page.get_by_label("Udkast").inner_text()
    assert "Send venligst skemaet med direktørens godkendelse." in preview and "8.1 Ansøgningen" in preview
    shot(page, "10-clarification-preview")
    page.get_by_role("button", name="Læg i udbakken").click()
    page.wait_for_url("**flash=clarification#conversation")
    assert page.locator(".conversation li.out .rs-pending").count() == 1
    page.get_by_role("link", name="Alle e-mails").click()
    assert page.locator("table.messages tbody tr").count() == 11
    shot(page, "08-messages")
    page.get_by_role("link", name="Log", exact=True).click()
    log = page.locator("table.audit").inner_text()
    assert "Logget ind" in log and "Tilføjede note" in log and "Sendte anmodning om oplysninger" in log
    shot(page, "09-audit")
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url("**/login?flash=logged_out")
    assert page.get_by_role("status").inner_text() == "Du er logget ud."
    page.goto("/ranking")
    assert "/login" in page.url


def test_in_chromium_staff_propose_an_approver_approves_previews_edits_and_sends_the_letters(page, site):
    bench = site[1]
    with bench.db.session() as session:
        add_staff(session, "direktoer@socialstyrelsen.dk", hash_password(PASSWORD), StaffRole.APPROVER)
    log_in(page)
    page.get_by_role("link", name="Rangorden").click()
    for reference in ("AD-2019-0003", "AD-2019-0001", "AD-2019-0007"):
        page.locator(f"#r-{reference}").get_by_role("button", name="Udvælg").click()
        page.wait_for_url("**/ranking?flash=selected*")
    page.get_by_label("Bemærkning til godkenderen (valgfri)").fill("De tre med størst målgruppe")
    page.get_by_role("button", name="Indstil udvælgelsen til godkendelse").click()
    page.wait_for_url("**/decision?*flash=proposed*")
    assert page.locator(".decision-state").get_attribute("data-state") == "proposed"
    assert page.get_by_role("button", name="Godkend udvælgelsen").count() == 0  # staff may not approve
    shot(page, "20-decision-proposed")
    page.get_by_role("button", name="Log ud").click()

    log_in(page, "direktoer@socialstyrelsen.dk")
    page.get_by_role("link", name="Afgørelse").click()
    assert "De tre med størst målgruppe" in page.content()
    page.get_by_role("button", name="Godkend udvælgelsen").click()
    page.wait_for_url("**/decision?*flash=approved*")
    assert page.locator(".decision-state").get_attribute("data-state") == "approved"
    rows = page.locator("table.letters tbody tr")
    assert rows.count() == 7  # every application of the round
    shot(page, "21-decision-approved-letters")
    page.locator("table.letters").get_by_role("link").first.click()
    assert page.locator(".letter-preview").is_visible()
    shot(page, "22-letter-preview")
    body = page.get_by_role("textbox", name="Tekst")
    body.fill(body.input_value().replace("Kære", "Kære borgmester og", 1))
    page.get_by_role("button", name="Gem brevet").click()
    page.wait_for_url("**/decision?*flash=letter_saved*")
    page.get_by_role("button", name="Send alle 7 breve").click()
    page.wait_for_url("**/decision?*flash=letters_sent*")
    assert page.locator(".decision-state").get_attribute("data-state") == "sent"
    shot(page, "23-letters-sent")
    with bench.db.session() as session:
        letters = list(session.scalars(select(DecisionLetter).order_by(DecisionLetter.id)))
        assert all(letter.reply_id for letter in letters)
        assert session.get(Reply, letters[0].reply_id).body.startswith("Kære borgmester og")
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert {"propose_selection", "approve_selection", "edit_letter", "send_letters"} <= set(actions)


def test_in_chromium_staff_read_the_statistics_as_charts_and_numbers_and_download_them(page, site):
    log_in(page)
    page.get_by_role("link", name="Statistik").click()
    page.wait_for_url("**/statistik")
    charts = page.get_by_role("img")
    assert charts.count() >= 4 and page.locator("svg rect.bar").count() > 0  # drawn on the server, no script
    status = page.locator("section[aria-labelledby=status-h] table.figures tbody tr")
    counts = {status.nth(i).locator("td").first.inner_text(): status.nth(i).locator("td").last.inner_text()
              for i in range(status.count())}
    assert counts == {"Komplet": "5", "Afventer svar": "2", "Afvist": "0"}, counts
    shot(page, "24-statistics")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="statistik.csv").click()
    rows = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8-sig")),
                           delimiter=";"))
    assert rows[0] == ["Afsnit", "Hvad", "Tal"] and any(r[:2] == ["Udvælgelse", "Udvalgt"] for r in rows)


def test_in_chromium_every_page_passes_axe_core_wcag_a_and_aa_checks(page, site):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    page.set_content('<html><body><img src="x.png"><input type="text"></body></html>')
    assert axe.run(page, options=options).violations_count >= 2  # the checker runs and sees what it should
    page.goto("/login")
    found = {"/login": axe.run(page, options=options)}
    log_in(page)
    for path in ("/queue", "/messages", "/applications/AD-2019-0002", "/applications/AD-2019-0003", "/ranking",
                 "/decision", "/statistik", "/audit"):
        page.goto(path)
        found[path] = axe.run(page, options=options)
    reports = {path: result.generate_report() for path, result in found.items() if result.violations_count}
    assert reports == {}, "\n".join(reports.values())
