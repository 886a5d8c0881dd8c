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
from storage.models import AuditEntry, DecisionLetter, FieldCorrection
from storage.passwords import hash_password
from storage.staff import add_staff
from storage.states import StaffRole

CHROMIUM = os.environ.get("UIP_INTAKE_CHROMIUM", "/usr/bin/chromium")
# Chromium on a machine without internet: no background connections, no first-run, a fresh profile per launch
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("UIP_INTAKE_ARTIFACTS", Path(__file__).parents[1] / "test-artifacts")) / "screenshots"

pytestmark = pytest.mark.servers


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
    assert page.locator("table.ranking tbody tr").count() == 4  # the late one is listed below, not ranked
    assert "efter fristen" in page.locator("table.not-eligible").inner_text()
    shot(page, "06-ranking")
    for reference in ("AD-2019-0003", "AD-2019-0001", "AD-2019-0004", "AD-2019-0005"):
        page.locator(f"#r-{reference}").get_by_role("button", name="Udvælg").click()
        page.wait_for_url("**/ranking?flash=selected*")
    assert page.locator("p.selection").get_attribute("data-selected") == "4"
    assert page.locator("#r-AD-2019-0003 .tag.sel").is_visible()
    assert page.locator("#selection_reason").count() == 0  # the whole tie on rank 3 is selected: no departure
    shot(page, "07-ranking-selected")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename == "rangorden.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig")), delimiter=";"))
    selected = {r[2] for r in rows[1:] if r[12] == "Ja"}
    assert selected == {"AD-2019-0003", "AD-2019-0001", "AD-2019-0004", "AD-2019-0005"}
    with site[1].db.session() as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["login", "select", "select", "select", "select", "export"]


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


def shots(page: object, name: str) -> None:
    """The page at the widths staff use: a laptop (1366 px) and a phone (390 px)."""
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})  # type: ignore[attr-defined]
        shot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})  # type: ignore[attr-defined]


def log_out(page: object) -> None:
    page.get_by_role("button", name="Log ud").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/login?flash=logged_out")  # type: ignore[attr-defined]


def test_in_chromium_the_decision_from_proposal_to_sent_letters_with_four_eyes_on_every_word(page, site):
    from axe_playwright_python.sync_playwright import Axe

    from ingest.poller import Intake

    axe, wcag = Axe(), {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    bench = site[1]
    boss = "direktoer@socialstyrelsen.dk"
    with bench.db.session() as session:
        add_staff(session, boss, hash_password(PASSWORD), StaffRole.APPROVER)
    # staff select the three best ranked: that splits the tie on rank 3, so the proposal needs its reason
    log_in(page)
    page.get_by_role("link", name="Rangorden").click()
    for reference in ("AD-2019-0003", "AD-2019-0001", "AD-2019-0004"):
        page.locator(f"#r-{reference}").get_by_role("button", name="Udvælg").click()
        page.wait_for_url("**/ranking?flash=selected*")
    assert "Holbæk Kommune (AD-2019-0005, plads 3, lige med Herning Kommune" in page.locator("#departure").inner_text()
    shots(page, "20-ranking-tie-split")
    page.get_by_label("Begrundelse for valget").fill("Ved lige placering er den først modtagne ansøgning valgt.")
    page.get_by_label("Bemærkning til godkenderen (valgfri)").fill("De tre med størst målgruppe")
    page.get_by_role("button", name="Indstil udvælgelsen til godkendelse").click()
    page.wait_for_url("**/decision?*flash=proposed*")
    assert page.locator(".decision-state").get_attribute("data-state") == "proposed"
    assert page.get_by_role("button", name="Godkend udvælgelsen").count() == 0  # the proposer may not approve
    assert page.get_by_role("button", name="Træk indstillingen tilbage").is_visible()
    assert "Ved lige placering er den først modtagne" in page.locator(".selection-reason").inner_text()
    shots(page, "21-decision-proposed")
    log_out(page)

    # the approver approves: a letter for every application, approved in the words drafted
    log_in(page, boss)
    page.get_by_role("link", name="Afgørelse").click()
    page.get_by_role("button", name="Godkend udvælgelsen").click()
    page.wait_for_url("**/decision?*flash=approved*")
    states = page.locator("table.letters td.letter-state")
    assert states.count() == 7 and {states.nth(i).get_attribute("data-state") for i in range(7)} == {"approved"}
    shots(page, "22-decision-approved-letters")
    log_out(page)

    # staff edit Holbæk's letter: it waits for an approver again, and the batch send is refused
    log_in(page)
    page.goto("/decision")
    page.locator("table.letters tr", has_text="AD-2019-0005").get_by_role("link").click()
    body = page.get_by_role("textbox", name="Tekst")
    body.fill(body.input_value().replace("Kære Holbæk Kommune", "Kære Ole Ries, Holbæk Kommune", 1))
    page.get_by_role("button", name="Gem brevet").click()
    page.wait_for_url("**/decision?*flash=letter_awaits_approval*")
    assert page.locator("table.letters tr", has_text="AD-2019-0005").locator(".letter-state").get_attribute(
        "data-state") == "drafted"
    page.get_by_role("link", name="Send de 7 breve").click()
    page.wait_for_url("**/decision/*/send")
    assert page.get_by_role("alert").is_visible() and page.get_by_role("button", name="Ja, send").count() == 0
    log_out(page)

    # the approver sees what changed and approves the new words
    log_in(page, boss)
    page.goto("/decision")
    page.locator("table.letters tr", has_text="AD-2019-0005").get_by_role("link").click()
    assert "- Kære Holbæk Kommune" in page.locator(".diff .del").first.inner_text()
    assert "+ Kære Ole Ries, Holbæk Kommune" in page.locator(".diff .add").first.inner_text()
    letter_report = axe.run(page, options=wcag)
    shots(page, "23-letter-changed-after-approval")
    page.get_by_role("button", name="Godkend brevet med den nye tekst").click()
    page.wait_for_url("**/decision?*flash=letter_approved*")
    log_out(page)

    # the batch send waits for the two open clarification requests; staff withdraw them, confirm, send
    log_in(page)
    page.goto("/decision")
    page.get_by_role("link", name="Send de 7 breve").click()
    assert "venter stadig på svar" in page.get_by_role("alert").inner_text()
    for reference in ("AD-2019-0002", "AD-2019-0006"):
        page.goto(f"/applications/{reference}")
        if reference == "AD-2019-0002":
            page.locator("#clarification").scroll_into_view_if_needed()
            shots(page, "26-application-open-clarification")
        page.get_by_label("Hvorfor der ikke længere ventes på svar (valgfri)").fill("Afgøres, som den foreligger")
        page.get_by_role("button", name="Træk anmodningen tilbage").click()
        page.wait_for_url("**flash=clarification_withdrawn*")
    page.goto("/decision")
    page.get_by_role("link", name="Send de 7 breve").click()
    recipients = page.locator("table.recipients").inner_text()
    assert "lone@odense.dk" in recipients and "ib@svendborg.dk" in recipients and "bo@viborg.dk" in recipients
    confirm_report = axe.run(page, options=wcag)
    shots(page, "24-send-confirmation")
    page.get_by_role("button", name="Ja, send 7 breve").click()
    page.wait_for_url("**/decision?*flash=letters_sent*")
    assert page.locator(".decision-state").get_attribute("data-state") == "sent"
    assert page.locator("table.letters .letter-state[data-state=queued]").count() == 7
    intake = Intake.from_settings(bench.settings)  # the worker's next run sends them
    try:
        assert intake.send_replies().sent == 7
    finally:
        intake.close()
    page.reload()
    assert page.locator("table.letters .letter-state[data-state=sent]").count() == 7
    assert "7 sendt" in page.locator(".letter-states").inner_text()
    shots(page, "25-letters-sent")
    with bench.db.session() as session:
        letters = {x.application.reference: x for x in session.scalars(select(DecisionLetter))}
        assert session.get(Reply, letters["AD-2019-0005"].reply_id).body.startswith("Kære Ole Ries, Holbæk Kommune")
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert {"propose_selection", "approve_selection", "edit_letter", "approve_letter", "withdraw_clarification",
            "send_letters"} <= set(actions)
    reports = [r.generate_report() for r in (letter_report, confirm_report) if r.violations_count]
    assert reports == [], "\n".join(reports)


def test_in_chromium_staff_reject_with_a_ground_previewed_as_the_letter_says_it_and_admit_a_late_one(page, site):
    log_in(page)
    page.goto("/applications/AD-2019-0005")
    page.get_by_text("Afvis ansøgningen …").click()
    page.get_by_label("Intern note (ses kun af kolleger og i loggen)").fill("Ole ringede: de trækker den")
    page.get_by_label("Begrundelse til kommunen (står i afgørelsesbrevet)").fill(
        "Kommunen har meddelt, at den trækker ansøgningen tilbage.")
    page.get_by_role("button", name="Vis, som brevet siger det").click()
    preview = page.get_by_label("Sådan står det i brevet").inner_text()
    assert "Socialstyrelsen har afvist ansøgningen: Kommunen har meddelt, at den trækker" in preview
    assert "Ole ringede" not in preview
    shots(page, "27-reject-preview")
    page.get_by_role("button", name="Afvis", exact=True).click()
    page.wait_for_url("**flash=rejected")
    assert "Intern note: Ole ringede: de trækker den" in page.locator(".facts").inner_text()
    page.goto("/applications/AD-2019-0007")
    page.get_by_text("Optag i rangordenen trods fristen …").click()
    page.get_by_label("Begrundelse (står i kommunens afgørelsesbrev og i loggen)").fill(
        "Mailen lå i Socialstyrelsens spamfilter fra kl. 11.55, før fristen.")
    page.get_by_role("button", name="Optag").click()
    page.wait_for_url("**flash=late_admitted")
    page.goto("/ranking")
    assert "optaget: Mailen lå i Socialstyrelsens spamfilter" in page.locator("#r-AD-2019-0007").inner_text()
    assert "AD-2019-0005" in page.locator("table.not-eligible").inner_text()
    shots(page, "28-ranking-late-admitted")


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
    for path in ("/til-behandling", "/queue", "/messages", f"/messages/{question_id(site[1])}",
                 "/applications/AD-2019-0002", "/applications/AD-2019-0003", "/ranking", "/decision", "/statistik",
                 "/audit"):
        page.goto(path)
        found[path] = axe.run(page, options=options)
    reports = {path: result.generate_report() for path, result in found.items() if result.violations_count}
    assert reports == {}, "\n".join(reports.values())


# the elements that reach past the window's right edge, outermost first (what a failure names)
WIDEST = """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right >
  document.documentElement.clientWidth + 1).slice(0, 4).map(e => e.tagName + '.' + e.className + '#' + e.id)"""


def test_in_chromium_no_page_scrolls_sideways_on_a_phone_and_each_is_saved_at_both_widths(page, site):
    from test_decisions import TIE_REASON

    bench = site[1]
    with bench.db.session() as session:
        add_staff(session, "direktoer@socialstyrelsen.dk", hash_password(PASSWORD), StaffRole.APPROVER)
    log_in(page)
    for reference in ("AD-2019-0003", "AD-2019-0001", "AD-2019-0004"):
        page.goto("/ranking")
        page.locator(f"#r-{reference}").get_by_role("button", name="Udvælg").click()
    page.get_by_label("Begrundelse for valget").fill(TIE_REASON)
    page.get_by_role("button", name="Indstil udvælgelsen til godkendelse").click()
    page.wait_for_url("**flash=proposed*")
    log_out(page)
    log_in(page, "direktoer@socialstyrelsen.dk")
    page.goto("/decision")
    page.get_by_role("button", name="Godkend udvælgelsen").click()
    page.wait_for_url("**flash=approved*")
    letter = page.locator("table.letters").get_by_role("link").first.get_attribute("href")
    pages = {"attention": "/til-behandling", "queue": "/queue", "messages": "/messages",
             "message": f"/messages/{question_id(bench)}", "application": "/applications/AD-2019-0003",
             "ranking": "/ranking", "decision": "/decision", "letter": letter, "send": letter.split("/letters")[0] +
             "/send", "statistics": "/statistik", "audit": "/audit", "not-found": "/findes-ikke"}
    wide = {}
    for name, path in pages.items():
        page.goto(path)
        shots(page, f"30-{name}")
        page.set_viewport_size({"width": 390, "height": 844})
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            wide[name] = (overflow, page.evaluate(WIDEST))
        page.set_viewport_size({"width": 1280, "height": 900})
    log_out(page)
    shots(page, "30-login")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    assert wide == {}, f"pages wider than a 390 px phone (px too wide): {wide}"


def question_id(bench: Bench) -> int:
    """The demo's question without a form (Esbjerg's)."""
    from sqlalchemy import select

    from storage import InboundMessage

    with bench.db.session() as session:
        return session.scalars(select(InboundMessage.id).where(
            InboundMessage.message_id == "<demo-q@esbjerg.dk>")).one()


def in_view(page: object, selector: str) -> bool:
    return page.evaluate(  # type: ignore[attr-defined, no-any-return]
        f"(() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect();"
        f" return r.top >= 0 && r.bottom <= window.innerHeight; }})()")


def test_in_chromium_a_caseworker_starts_at_til_behandling_reads_the_question_and_answers_it(page, site):
    log_in(page)
    page.goto("/")
    assert page.url.endswith("/til-behandling")
    waiting = int(page.locator('[data-count="waiting"]').inner_text())
    shots(page, "40-til-behandling")
    page.get_by_role("link", name="Spørgsmål om målgruppen").click()
    page.wait_for_url("**/messages/*")
    assert "Må vi regne borgere på venteliste" in page.locator("pre.mail-text").inner_text()
    shots(page, "41-message")
    page.get_by_label("Svar til karen@esbjerg.dk").fill("Kære Karen Hald\n\nJa, de kan regnes med i punkt 4.1.")
    page.get_by_role("button", name="Vis svaret").click()
    preview = page.locator(".preview pre")
    assert "Ja, de kan regnes med i punkt 4.1." in preview.inner_text()
    assert "> Vi overvejer at søge." in preview.inner_text()
    assert in_view(page, "#answer") or in_view(page, ".preview")  # the answer opens where the form is
    shots(page, "42-reply-preview")
    page.get_by_role("button", name="Send svaret").click()
    page.wait_for_url("**flash=staff_reply*")
    assert "Svaret er lagt i udbakken" in page.get_by_role("status").inner_text()
    assert "Svar fra sagsbehandler" in page.locator("#replies").inner_text()
    shots(page, "43-reply-sent")
    page.get_by_role("link", name="Til behandling").first.click()
    assert int(page.locator('[data-count="waiting"]').inner_text()) == waiting - 1
    assert page.get_by_text("Spørgsmål om målgruppen").count() == 0


def test_in_chromium_an_invalid_correction_opens_at_its_error_with_the_field_focused(page, site):
    log_in(page)
    page.goto("/applications/AD-2019-0002")
    row = page.locator("#f-population")
    row.locator("summary").click()
    row.get_by_label("Ny værdi").fill("mange")
    row.get_by_role("button", name="Gem rettelse").click()
    page.wait_for_load_state()
    # the focus moves to the field (autofocus), which brings it and the error above it into view
    error = page.locator("#err-population")
    assert error.get_attribute("role") == "alert" and error.is_visible()
    assert in_view(page, "#err-population"), "the error is out of sight"
    assert page.evaluate("document.activeElement.id") == "c-population"
    shots(page, "44-correction-error")


def test_in_chromium_a_forged_email_waits_on_til_behandling_marked_and_unanswered(page, site):
    """A form-less email the receiving server found forged (dmarc=fail) gets no reply and is shown, with why."""
    from ingest.demo import application_email, to_bytes
    from ingest.poller import Intake

    _, bench = site
    settings = bench.settings.model_copy(update={"mailbox": bench.settings.mailbox.model_copy(
        update={"trusted_authserv_id": "mx.socialstyrelsen.dk"})})
    raw = (b"Authentication-Results: mx.socialstyrelsen.dk; dmarc=fail (p=reject dis=none) header.from=aarhus.dk\r\n"
           + to_bytes(application_email(None, sender="Borgmesteren <borgmester@aarhus.dk>",
                                        message_id="<forged-demo@aarhus.dk>", subject="Hastende: betal faktura",
                                        body="Betal vedhæftede faktura i dag.\n")))
    maildir = Path(settings.mailbox.maildir_path)
    (maildir / "new" / "9999.forged.eml").write_bytes(raw)
    intake = Intake.from_settings(settings)
    try:
        intake.poll_once()
    finally:
        intake.close()
    log_in(page)
    page.goto("/til-behandling")
    item = page.locator("li.at-forged")
    assert "Mulig forfalsket afsender" in item.inner_text()
    assert "afsenderen er sandsynligvis forfalsket (modtageserverens vurdering: mx.socialstyrelsen.dk: dmarc=fail" \
        in item.inner_text()
    shots(page, "45-forged-sender")
    assert not any(b"forged-demo@aarhus.dk" in path.read_bytes()
                   for path in Path(settings.smtp.outbox_dir).glob("*.eml"))
