"""The staff web app over HTTP: who may see what, CSRF, and every page and action on the demo's real data."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from web_support import EMAIL, PASSWORD, client_for, csrf_of, sign_in

from storage import Application, Attachment, Reply
from storage.models import AuditEntry, FieldCorrection, StaffNote, StaffSession, utcnow
from storage.passwords import hash_password
from storage.staff import add_staff, record_poll
from web.downloads import ascii_filename, safe_filename

PAGES = ["/", "/queue", "/messages", "/ranking", "/audit", "/applications/AD-2019-0001", "/queue.csv",
         "/queue.xlsx", "/ranking.csv", "/ranking.xlsx", "/messages/1/raw", "/files/1",
         "/applications/AD-2019-0001/sagsmappe.zip"]
POSTS = ["/logout", "/messages/1/retry", "/applications/AD-2019-0002/corrections", "/applications/AD-2019-0002/notes",
         "/applications/AD-2019-0002/review", "/applications/AD-2019-0002/reject",
         "/applications/AD-2019-0002/clarification", "/ranking/select", "/replies/1/release"]


def audit_actions(bench) -> list[tuple[str, str, str | None]]:
    with bench.db.session() as session:
        return [(e.actor, e.action, e.reference) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_anonymous_requests_to_every_page_are_redirected_to_login(bench):
    client = client_for(bench)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path


def test_anonymous_posts_are_refused_and_change_nothing(bench):
    client = client_for(bench)
    for path in POSTS:
        assert client.post(path, data={"csrf_token": "x", "key": "population", "value": "1"}).status_code == 401
    with bench.db.session() as session:
        assert session.scalar(select(func.count(FieldCorrection.id))) == 0


def test_health_check_needs_no_session_and_reports_poll_and_outbox(bench):
    client = client_for(bench)
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["last_successful_poll"] is not None and body["poll_overdue"] is False
    assert (body["outbox_pending"], body["outbox_held"]) == (0, 0)
    with bench.db.session() as session:
        session.scalars(select(Reply)).first().status = "pending"
        record_poll(session, error="MailboxError: connection refused")
    body = client.get("/healthz").json()
    assert body["outbox_pending"] == 1 and body["last_poll_failed"] is True
    assert "last_poll_error" not in body  # an anonymous caller never reads error text (hosts, user names)
    sign_in(client)
    assert client.get("/healthz").json()["last_poll_error"] == "MailboxError: connection refused"


def test_health_check_says_503_when_the_database_is_unreachable(bench, tmp_path):
    from fastapi.testclient import TestClient
    from web_support import demo_settings

    from storage import Database
    from web import create_app

    settings = demo_settings(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    client = TestClient(create_app(settings, Database(settings.database.url)))
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["database"] == "unreachable"


def test_login_with_a_wrong_password_is_refused_in_danish_and_audited(bench):
    client = client_for(bench)
    page = client.get("/login")
    response = client.post("/login", data={"email": EMAIL, "password": "wrong-password-123",
                                           "csrf_token": csrf_of(page.text)})
    assert response.status_code == 401 and "Forkert e-mailadresse eller adgangskode" in response.text
    assert "uip_session" not in response.cookies
    assert (EMAIL, "login_failed", None) in audit_actions(bench)


def test_failed_logins_are_rate_limited_even_for_the_right_password(bench):
    client = client_for(bench)
    for _ in range(5):
        page = client.get("/login")
        client.post("/login", data={"email": EMAIL, "password": "nope-nope-nope", "csrf_token": csrf_of(page.text)})
    page = client.get("/login")
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 429 and "For mange mislykkede forsøg" in response.text
    assert (EMAIL, "login_refused_rate_limit", None) in audit_actions(bench)


def test_failed_logins_from_one_client_across_many_addresses_are_rate_limited(bench):
    client = client_for(bench)
    for n in range(20):
        page = client.get("/login")
        client.post("/login", data={"email": f"guess{n}@example.org", "password": "nope-nope-nope",
                                    "csrf_token": csrf_of(page.text)})
    page = client.get("/login")
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 429


def test_login_form_without_its_csrf_cookie_is_refused(bench):
    client = client_for(bench)
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403 and "uip_session" not in response.cookies


def test_session_cookie_is_httponly_samesite_lax_and_secure_behind_tls(bench):
    client = client_for(bench)
    page = client.get("/login")
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    from fastapi.testclient import TestClient

    from web import create_app

    tls = TestClient(create_app(bench.settings, bench.db), base_url="https://testserver", follow_redirects=False)
    page = tls.get("/login")
    response = tls.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 303 and "Secure" in response.headers["set-cookie"]


def test_login_redirects_only_to_pages_of_this_app(bench):
    client = client_for(bench)
    for target, expected in (("/ranking", "/ranking"), ("//evil.example/x", "/til-behandling"),
                             ("https://evil.example", "/til-behandling")):
        client.cookies.clear()
        page = client.get("/login")
        response = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "next_page": target,
                                               "csrf_token": csrf_of(page.text)})
        assert response.headers["location"] == expected


def test_signed_in_staff_see_every_page_and_logout_ends_the_session_on_the_server(bench):
    client = client_for(bench)
    token = sign_in(client)
    for path in PAGES:
        assert client.get(path).status_code in (200, 303), path
    cookie = client.cookies.get("uip_session")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    with bench.db.session() as session:
        assert session.scalar(select(func.count(StaffSession.id))) == 0
    client.cookies.set("uip_session", cookie)  # a copied cookie is worth nothing after logout
    assert client.get("/queue").status_code == 303
    assert [a for _, a, _ in audit_actions(bench)] == [
        "login", "export", "export", "export", "export", "download_message", "download_file",
        "download_case_file", "logout"]


def test_an_expired_session_is_over(bench):
    client = client_for(bench)
    sign_in(client)
    with bench.db.session() as session:
        session.scalars(select(StaffSession)).one().expires_at = utcnow() - timedelta(seconds=1)
    assert client.get("/queue").status_code == 303


def test_every_post_without_the_csrf_token_or_from_another_origin_is_refused(bench):
    client = client_for(bench)
    token = sign_in(client)
    for path in POSTS:
        assert client.post(path, data={"key": "population", "value": "1"}).status_code == 403, path
        assert client.post(path, data={"csrf_token": "wrong", "key": "population"}).status_code == 403, path
        response = client.post(path, data={"csrf_token": token, "key": "population", "value": "1"},
                               headers={"Origin": "http://evil.example"})
        assert response.status_code == 403, path
    with bench.db.session() as session:
        assert session.scalar(select(func.count(FieldCorrection.id))) == 0
        assert session.scalar(select(func.count(StaffNote.id))) == 0


def test_queue_counts_each_status_filters_searches_and_sorts(bench):
    client = client_for(bench)
    sign_in(client)
    page = client.get("/queue").text
    assert 'data-count="complete">5<' in page and 'data-count="needs_clarification">2<' in page
    assert 'data-count="late">1<' in page
    awaiting = client.get("/queue?status=needs_clarification").text
    assert "AD-2019-0002" in awaiting and "AD-2019-0006" in awaiting and "AD-2019-0001" not in awaiting
    late = client.get("/queue?late=yes").text
    assert "AD-2019-0007" in late and "AD-2019-0001" not in late
    assert "AD-2019-0003" in client.get("/queue?q=fredericia").text  # a partner municipality is found too
    assert "AD-2019-0001" not in client.get("/queue?q=fredericia").text
    by_name = client.get("/queue?sort=municipality&dir=desc").text
    assert by_name.index("Viborg") < by_name.index("Aarhus")
    assert 'aria-sort="descending"' in by_name


def queue_problems(page: str, reference: str) -> int:
    found = re.search(rf">{reference}</a>.*?<td class=\"num\">(\d+)</td>", page, re.DOTALL)
    assert found, f"{reference} is not on the page"
    return int(found.group(1))


def test_the_queue_counts_and_searches_what_staff_corrected_not_what_was_read(bench):
    client = client_for(bench)
    token = sign_in(client)
    assert queue_problems(client.get("/queue").text, "AD-2019-0006") >= 1
    assert "AD-2019-0003" not in client.get("/queue?q=kolding").text
    client.post("/applications/AD-2019-0006/corrections",
                data={"csrf_token": token, "key": "director_approved", "value": "Ja"})
    client.post("/applications/AD-2019-0003/corrections", data={
        "csrf_token": token, "key": "partners", "value": "Fredericia; 150; 51.000; Nej\nKolding; 200; 94.000"})
    page = client.get("/queue?sort=problems&dir=desc").text
    assert queue_problems(page, "AD-2019-0006") == 0
    assert page.index("AD-2019-0002") < page.index("AD-2019-0006")  # sorted by the corrected count
    assert "AD-2019-0003" in client.get("/queue?q=kolding").text


def test_messages_page_shows_every_email_with_its_outcome_and_reason(bench):
    client = client_for(bench)
    sign_in(client)
    page = client.get("/messages").text
    assert page.count('<tr class="oc-') == 11
    assert "Ignoreret" in page and "Dublet" in page and "Afvist" in page
    # the oversized email's reason; just over the limit, so in bytes (in MB both would read "10 MB")
    assert "e-mailen var 10.485.761 bytes, over grænsen på 10.485.760 bytes; ikke hentet" in page
    assert "intet automatisk svar: Auto-Submitted: auto-replied" in page and "ingen vedhæftede filer" in page
    assert client.get("/messages?outcome=ignored").text.count('<tr class="oc-') == 1


def test_application_page_shows_label_value_source_problems_and_conversation(bench):
    client = client_for(bench)
    sign_in(client)
    page = client.get("/applications/AD-2019-0002").text
    assert "2.1 Kontaktperson, navn" in page and "Mette Jensen" in page
    assert "Word-dokument, tabel" in page and "docx:" not in page  # where the value was read, in words
    assert "4.2 Antal indbyggere" in page and "Feltet er ikke udfyldt" in page
    assert "Anmodning om oplysninger" in page and "sendt" in page
    assert client.get("/applications/AD-2019-9999").status_code == 404


def test_correcting_a_field_keeps_the_original_revalidates_and_is_audited(bench):
    client = client_for(bench)
    token = sign_in(client)
    url = "/applications/AD-2019-0006/corrections"
    assert client.post(url, data={"csrf_token": token, "key": "director_approved", "value": "Ja",
                                  "reason": "bekræftet i telefonen"}).status_code == 303
    page = client.get("/applications/AD-2019-0006").text
    assert "Rettet af anna@socialstyrelsen.dk" in page and "<del>Nej</del>" in page
    with bench.db.session() as session:
        app = session.scalar(select(Application).where(Application.reference == "AD-2019-0006"))
        assert app.status == "complete"
        read = {v.key: v.value for v in app.current_submission.values}
        assert read["director_approved"] is False  # what the form said is kept
    assert (EMAIL, "correct_field", "AD-2019-0006") in audit_actions(bench)
    assert "AD-2019-0006" not in client.get("/ranking").text.split("Ikke med i rangordenen</h2>")[1]


def test_a_correction_that_does_not_read_is_refused_with_the_reason(bench):
    client = client_for(bench)
    token = sign_in(client)
    response = client.post("/applications/AD-2019-0002/corrections",
                           data={"csrf_token": token, "key": "population", "value": "mange"})
    assert response.status_code == 422 and "er ikke et tal" in response.text
    partners = client.post("/applications/AD-2019-0003/corrections",
                           data={"csrf_token": token, "key": "partners", "value": "Atlantis; 10; 100"})
    assert partners.status_code == 422 and "ikke navnet på en dansk kommune" in partners.text


def test_correcting_partners_changes_the_joint_ranking_inputs(bench):
    client = client_for(bench)
    token = sign_in(client)
    client.post("/applications/AD-2019-0003/corrections", data={
        "csrf_token": token, "key": "partners", "value": "Fredericia; 150; 51.000; Nej\nKolding; 200; 94.000"})
    page = client.get("/ranking").text
    assert "Kolding Kommune: 200 / 94.000" in page and "750" in page  # 400 + 150 + 200


def test_notes_review_reject_and_reopen_are_stored_and_audited(bench):
    client = client_for(bench)
    token = sign_in(client)
    base = "/applications/AD-2019-0001"
    client.post(f"{base}/notes", data={"csrf_token": token, "text": "Ringet til Mette <b>fredag</b>."})
    client.post(f"{base}/review", data={"csrf_token": token, "reviewed": "yes"})
    assert client.post(f"{base}/reject", data={"csrf_token": token, "reason": ""}).status_code == 422
    # both texts are required: the internal note, and the ground the municipality's letter gives
    only_note = client.post(f"{base}/reject", data={"csrf_token": token, "reason": "Mette ringede", "action": "reject"})
    assert only_note.status_code == 422 and "begrundelsen til kommunen" in only_note.text
    texts = {"csrf_token": token, "reason": "Mette ringede fredag og trak den", "ground": "Kommunen har trukket "
             "ansøgningen tilbage."}
    preview = client.post(f"{base}/reject", data={**texts, "action": "preview"})
    assert "Socialstyrelsen har afvist ansøgningen: Kommunen har trukket ansøgningen tilbage." in preview.text
    with bench.db.session() as session:  # a preview changes nothing
        row = session.scalar(select(Application).where(Application.reference == "AD-2019-0001"))
        assert row.rejected_reason is None
    client.post(f"{base}/reject", data={**texts, "action": "reject"})
    page = client.get(base).text
    assert "Ringet til Mette &lt;b&gt;fredag&lt;/b&gt;." in page  # escaped, never markup
    assert "Gennemgået af anna@socialstyrelsen.dk" in page
    assert "Intern note: Mette ringede fredag og trak den" in page
    assert "Til kommunen: Kommunen har trukket ansøgningen tilbage." in page
    assert "AD-2019-0001" in client.get("/queue?status=rejected").text
    client.post(f"{base}/reject", data={"csrf_token": token, "undo": "1"})
    assert "AD-2019-0001" not in client.get("/queue?status=rejected").text
    assert [a for _, a, r in audit_actions(bench) if r == "AD-2019-0001"] == [
        "add_note", "mark_reviewed", "reject", "reopen"]


def test_a_clarification_is_previewed_then_queued_in_the_same_outbox_with_staff_text(bench):
    client = client_for(bench)
    token = sign_in(client)
    url = "/applications/AD-2019-0002/clarification"
    preview = client.post(url, data={"csrf_token": token, "text": "Send også budgettet.", "action": "preview"})
    assert preview.status_code == 200 and "Send også budgettet." in preview.text
    assert "[AD-2019-0002] Manglende oplysninger" in preview.text
    with bench.db.session() as session:
        before = session.scalar(select(func.count(Reply.id)))
    assert client.post(url, data={"csrf_token": token, "text": "Send også budgettet.",
                                  "action": "send"}).status_code == 303
    with bench.db.session() as session:
        assert session.scalar(select(func.count(Reply.id))) == before + 1
        reply = session.scalars(select(Reply).order_by(Reply.id.desc())).first()
        assert (reply.status, reply.kind, reply.to_addr) == ("pending", "clarification", "lone@odense.dk")
        assert "Send også budgettet." in reply.body and "4.2 Antal indbyggere" in reply.body
    assert (EMAIL, "send_clarification", "AD-2019-0002") in audit_actions(bench)


def test_a_held_reply_is_released_by_staff_and_audited(bench):
    client = client_for(bench)
    token = sign_in(client)
    with bench.db.session() as session:
        reply = session.scalars(select(Reply).where(Reply.kind == "clarification")).first()
        reply.status, reply_id = "held", reply.id
    assert "Send alligevel" in client.get("/messages").text
    assert client.post(f"/replies/{reply_id}/release", data={"csrf_token": token}).status_code == 303
    with bench.db.session() as session:
        assert session.get(Reply, reply_id).status == "pending"
    assert client.post(f"/replies/{reply_id}/release", data={"csrf_token": token}).status_code == 404


def test_ranking_shows_both_criteria_and_the_reasons_for_the_rest(bench):
    client = client_for(bench)
    sign_in(client)
    page = client.get("/ranking").text
    ranked, rest = page.split("Ikke med i rangordenen</h2>")
    positions = [ranked.index(f'id="r-AD-2019-000{n}"') for n in (3, 1, 4, 5)]
    assert positions == sorted(positions)
    assert "0,500 %" in ranked and "0,354 %" in ranked and "0,333 %" in ranked and ranked.count(">lige<") == 2
    assert "Vejle Kommune: 400 / 59.000, erfaring Ja" in ranked and "Fredericia Kommune: 150 / 51.000" in ranked
    assert 'title="Lige med Holbæk Kommune (AD-2019-0005)"' in ranked
    assert "AD-2019-0002" in rest and "Ikke komplet" in rest
    assert "AD-2019-0006" in rest and "Ikke direktørgodkendt (8.1): opslagets minimumskriterium" in rest
    # the late one (call.late_policy = "exclude") is listed with why, and how staff may admit it
    assert "AD-2019-0007" not in ranked and "Modtaget 9. september 2019 kl. 12.30, efter fristen" in rest


def admit_late_viborg(client, token: str) -> None:
    """The demo's late application (AD-2019-0007, 12.30 on the deadline day) admitted to the ranking by staff."""
    response = client.post("/applications/AD-2019-0007/admit-late", data={
        "csrf_token": token, "reason": "Mailen lå i Socialstyrelsens spamfilter fra kl. 11.55"})
    assert "flash=late_admitted" in response.headers["location"]


def test_staff_select_up_to_five_eligible_applications(bench):
    client = client_for(bench)
    token = sign_in(client)
    admit_late_viborg(client, token)
    for reference in ("AD-2019-0001", "AD-2019-0003", "AD-2019-0004", "AD-2019-0005", "AD-2019-0007"):
        client.post("/ranking/select", data={"csrf_token": token, "reference": reference})
    page = client.get("/ranking").text
    assert 'data-selected="5"' in page
    assert client.post("/ranking/select", data={"csrf_token": token, "reference": "AD-2019-0002"}
                       ).headers["location"] == "/ranking?flash=not_eligible"
    client.post("/ranking/select", data={"csrf_token": token, "reference": "AD-2019-0001", "selected": "no"})
    assert 'data-selected="4"' in client.get("/ranking").text


def test_the_ranking_and_the_others_come_a_page_at_a_time_each_keeping_its_place(bench, monkeypatch):
    monkeypatch.setattr("web.pages.PAGE_SIZE", 1)
    client = client_for(bench)
    token = sign_in(client)
    admit_late_viborg(client, token)
    first = client.get("/ranking").text
    assert first.count('<tr id="r-') == 1 and 'id="r-AD-2019-0003"' in first  # the first of 3, 1, 7, 4, 5
    assert "5 ansøgninger opfylder kriterierne (side 1 af 5)" in first and "(side 1 af 2)" in first
    assert 'aria-label="Sider, ikke med i rangordenen"' in first
    page = client.get("/ranking?page=2&other_page=2").text
    ranked, rest = page.split("Ikke med i rangordenen</h2>")
    assert 'id="r-AD-2019-0001"' in ranked and "AD-2019-0006" in rest and "AD-2019-0002" not in rest
    assert "?other_page=2&amp;page=3#rangorden" in ranked  # the other list keeps its page, and back
    assert "?page=2&amp;other_page=1#ikke-med" in rest
    assert client.get("/ranking?page=99").text.count('id="r-AD-2019-0005"') == 1  # beyond the end: the last
    chosen = client.post("/ranking/select", data={"csrf_token": token, "reference": "AD-2019-0004"})
    assert chosen.headers["location"] == "/ranking?page=4&flash=selected#r-AD-2019-0004"  # back where it was
    assert '<a href="?page=4#r-AD-2019-0004">AD-2019-0004</a>' in client.get("/ranking").text


def test_a_sixth_selection_is_refused(bench):
    client = client_for(bench)
    token = sign_in(client)
    admit_late_viborg(client, token)
    with bench.db.session() as session:
        for app in session.scalars(select(Application)):
            app.selected = app.status == "complete"
            app.rejected_reason = None
        session.flush()
        session.execute(Application.__table__.update().where(Application.reference == "AD-2019-0006")
                        .values(status="complete"))
    # five complete ones are selected; AD-2019-0006 is not eligible, so correct it to be
    client.post("/applications/AD-2019-0006/corrections", data={"csrf_token": token, "key": "director_approved",
                                                                "value": "Ja"})
    response = client.post("/ranking/select", data={"csrf_token": token, "reference": "AD-2019-0006"})
    assert response.headers["location"] == "/ranking?flash=too_many"


def test_exports_are_csv_for_danish_excel_and_real_xlsx(bench):
    client = client_for(bench)
    admit_late_viborg(client, sign_in(client))
    response = client.get("/ranking.csv")
    assert response.headers["content-disposition"] == 'attachment; filename="rangorden.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Placering", "Lige med andre", "Reference"]
    # Vejle+Fredericia 0,5 %; Aarhus and Viborg tie at 0,354 %; Herning and Holbæk tie at 0,333 %
    assert [(r[0], r[1], r[2]) for r in rows[1:]] == [
        ("1", "Nej", "AD-2019-0003"), ("2", "Ja", "AD-2019-0001"), ("2", "Ja", "AD-2019-0007"),
        ("4", "Ja", "AD-2019-0004"), ("4", "Ja", "AD-2019-0005"), ("", "", "AD-2019-0002"), ("", "", "AD-2019-0006")]
    assert rows[3][11] == "Ja"  # Viborg's is marked late
    book = load_workbook(io.BytesIO(client.get("/queue.xlsx").content))
    sheet = book.active
    assert sheet.cell(1, 1).value == "Reference" and sheet.max_row == 8
    assert {sheet.cell(r, 1).value for r in range(2, 9)} == {f"AD-2019-000{n}" for n in range(1, 8)}


def test_a_formula_typed_into_the_form_is_exported_as_text(bench):
    client = client_for(bench)
    token = sign_in(client)
    client.post("/applications/AD-2019-0001/corrections",
                data={"csrf_token": token, "key": "department", "value": '=HYPERLINK("http://evil.example")'})
    csv_text = client.get("/queue.csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text
    book = load_workbook(io.BytesIO(client.get("/queue.xlsx").content))
    cell = next(c for row in book.active.iter_rows() for c in row if "HYPERLINK" in str(c.value))
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")  # typed as text, never a formula


def test_the_xlsx_export_reads_as_typed_in_danish_excel(bench):
    from datetime import datetime

    client = client_for(bench)
    sign_in(client)
    sheet = load_workbook(io.BytesIO(client.get("/queue.xlsx").content)).active
    header = [c.value for c in sheet[1]]
    aarhus = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "AD-2019-0001")
    phone = aarhus[header.index("2.4 Kontaktperson, telefon")]
    assert phone.value == "+4541872000" and phone.data_type == "s"  # no apostrophe to see, still not a formula
    received = aarhus[header.index("Modtaget (dansk tid)")]
    assert isinstance(received.value, datetime) and received.number_format == "dd-mm-yyyy hh:mm"
    approved = aarhus[header.index("8.4 Dato for godkendelse")]
    assert approved.value.date().isoformat() == "2019-09-02" and approved.number_format == "dd-mm-yyyy"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}8"
    csv_text = client.get("/queue.csv").content.decode("utf-8-sig")
    assert ";02-09-2019 10:15;" in csv_text and "'+4541872000" in csv_text  # CSV keeps its formula guard


def test_downloads_are_attachments_with_safe_names_never_inline(bench):
    client = client_for(bench)
    sign_in(client)
    with bench.db.session() as session:
        form = session.scalars(select(Attachment).where(Attachment.role == "form")).first()
        form.filename, form_id = '../../"><script>alert(1)</script>.html', form.id
    response = client.get(f"/files/{form_id}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == \
        "attachment; filename=\"script_.html\"; filename*=UTF-8''script_.html"
    assert response.headers["content-security-policy"] == "sandbox"
    assert response.headers["x-content-type-options"] == "nosniff"
    eml = client.get("/messages/1/raw")
    assert eml.headers["content-disposition"].startswith('attachment; filename="AD-2019-0001-1.eml"')
    assert b"Message-ID: <demo-aarhus@aarhus.dk>" in eml.content


def test_staff_download_the_case_file_and_the_download_is_audited(bench):
    import io
    import json
    import zipfile

    client = client_for(bench)
    sign_in(client)
    response = client.get("/applications/AD-2019-0001/sagsmappe.zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/octet-stream"
    assert 'filename="AD-2019-0001-sagsmappe.zip"' in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
        metadata = json.loads(bundle.read("metadata.json"))
        assert metadata["reference"] == "AD-2019-0001"
        assert {"annex", "form", "inbound_mail", "reply", "summary"} <= {f["role"] for f in metadata["files"]}
    assert audit_actions(bench)[-1][1:] == ("download_case_file", "AD-2019-0001")
    assert client.get("/applications/AD-2019-9999/sagsmappe.zip").status_code == 404


@pytest.mark.parametrize(("name", "safe", "ascii_name"), [
    ("Ansøgning Åben Dialog.docx", "Ansøgning Åben Dialog.docx", "Ansoegning_Aaben_Dialog.docx"),
    ("..\\..\\windows\\evil.exe", "evil.exe", "evil.exe"),
    ('a"b\r\nX-Evil: 1.pdf', "a_b X-Evil_ 1.pdf", "a_b_X-Evil__1.pdf"),  # the line break a space
    ("bilag/../../etc/passwd", "passwd", "passwd"),
    ("...", "fil", "fil"),
])
def test_download_names_lose_paths_quotes_and_line_breaks(name, safe, ascii_name):
    assert safe_filename(name) == safe
    assert ascii_filename(safe_filename(name)) == ascii_name


def test_a_second_staff_members_actions_are_audited_under_their_own_name(bench):
    with bench.db.session() as session:
        add_staff(session, "Bo@Socialstyrelsen.dk", hash_password("another-long-password"))
    client = client_for(bench)
    token = sign_in(client, "bo@socialstyrelsen.dk", "another-long-password")
    client.post("/applications/AD-2019-0003/review", data={"csrf_token": token})
    assert ("bo@socialstyrelsen.dk", "mark_reviewed", "AD-2019-0003") in audit_actions(bench)
    assert "bo@socialstyrelsen.dk" in client.get("/audit").text


def test_pages_forbid_framing_scripts_and_caching(bench):
    client = client_for(bench)
    sign_in(client)
    headers = client.get("/queue").headers
    assert "default-src 'none'" in headers["content-security-policy"] and "script-src" not in \
        headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"


def test_a_corrected_form_from_the_municipality_supersedes_staff_corrections_of_the_old_version(bench):
    import mailbox as stdlib_mailbox

    from ingest.demo import application_email, complete_values, to_bytes
    from ingest.poller import Intake

    client = client_for(bench)
    token = sign_in(client)
    client.post("/applications/AD-2019-0002/corrections",
                data={"csrf_token": token, "key": "population", "value": "200.000"})
    assert '<span class="v">200.000</span>' in client.get("/applications/AD-2019-0002").text
    answer = application_email(complete_values(municipality="Odense Kommune", contact_email="lone@odense.dk",
                                               population="204.895", cvr="29189986"),
                               sender="Lone Friis <lone@odense.dk>",
                               subject="SV: [AD-2019-0002] Manglende oplysninger")
    stdlib_mailbox.Maildir(bench.settings.mailbox.maildir_path).add(to_bytes(answer))
    intake = Intake.from_settings(bench.settings)
    intake.poll_once()
    intake.close()
    page = client.get("/applications/AD-2019-0002").text
    assert '<span class="v">204.895</span>' in page and "Rettet af" not in page.split("Korrespondance")[0]
    with bench.db.session() as session:
        assert session.scalar(select(func.count(FieldCorrection.id))) == 1  # kept in the history
        assert session.scalar(select(Application.status).where(Application.reference == "AD-2019-0002")) == \
            "complete"


def test_disabling_an_account_or_resetting_its_password_from_the_cli_ends_its_sessions(bench):
    from typer.testing import CliRunner

    from cli.main import app

    env = {"UIP_INTAKE_DATABASE__URL": bench.settings.database.url}
    client = client_for(bench)
    sign_in(client)
    result = CliRunner().invoke(app, ["staff", "disable", EMAIL], env=env)
    assert result.exit_code == 0, result.output
    assert client.get("/queue").status_code == 303
    page = client.get("/login")
    refused = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 401
    result = CliRunner().invoke(app, ["staff", "password", EMAIL],
                                env={**env, "UIP_INTAKE_STAFF_PASSWORD": "a-brand-new-password"})
    assert result.exit_code == 0, result.output
    sign_in(client, EMAIL, "a-brand-new-password")
    listing = CliRunner().invoke(app, ["staff", "list"], env=env).output
    assert EMAIL in listing and "active" in listing
    assert [action for _, action, _ in audit_actions(bench) if action.startswith("staff_")] == [
        "staff_disable", "staff_password"]


def test_a_message_the_worker_gave_up_on_is_shown_with_its_error_and_retried_on_request(bench):
    from storage import InboundMessage

    client = client_for(bench)
    token = sign_in(client)
    with bench.db.session() as session:
        failed = session.get(InboundMessage, 4)
        failed.state, failed.attempts, failed.error = "error", 3, "OperationalError: disk I/O error"
    page = client.get("/messages?outcome=error").text
    assert "OperationalError: disk I/O error" in page and "ligger stadig i indbakken" in page and "Prøv igen" in page
    assert client.post("/messages/4/retry", data={"csrf_token": token}).status_code == 303
    with bench.db.session() as session:
        assert session.get(InboundMessage, 4).attempts == 0
    assert client.post("/messages/5/retry", data={"csrf_token": token}).status_code == 404  # not in error
    assert (EMAIL, "retry_message", None) in audit_actions(bench)


def test_behind_a_proxy_under_a_path_every_link_redirect_and_cookie_keeps_the_prefix(bench):
    """uvicorn with --root-path /intake behind a proxy that strips /intake: the app's own URLs carry it."""
    import httpx
    from web_support import serving

    with serving(bench, root_path="/intake") as url, httpx.Client(base_url=url) as client:
        assert client.get("/ranking?x=1").headers["location"] == "/intake/login?next=/ranking%3Fx%3D1"
        page = client.get("/login?next=/ranking")
        assert 'href="/intake/static/style.css"' in page.text and client.get("/static/style.css").status_code == 200
        assert "Path=/intake" in page.headers["set-cookie"]
        client.cookies.clear()  # this client talks to uvicorn directly; a browser sends it under /intake
        client.cookies.set("uip_login_csrf", page.cookies["uip_login_csrf"])
        response = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "next_page": "/ranking",
                                               "csrf_token": csrf_of(page.text)})
        assert response.headers["location"] == "/intake/ranking"
        assert "Path=/intake" in response.headers["set-cookie"]
        client.cookies.set("uip_session", response.cookies["uip_session"])
        ranking = client.get("/ranking").text
        assert 'action="/intake/ranking/select"' in ranking and 'href="/intake/applications/AD-2019-0001"' in ranking


def test_an_unknown_address_costs_the_same_password_check_as_a_known_one(bench, monkeypatch):
    import storage.passwords

    checked: list[str] = []
    real = storage.passwords._hasher

    class Counting:
        def verify(self, hashed: str, password: str) -> bool:
            checked.append(hashed)
            return real.verify(hashed, password)

        def __getattr__(self, name: str):
            return getattr(real, name)

    monkeypatch.setattr(storage.passwords, "_hasher", Counting())
    client = client_for(bench)
    for email in ("nobody@socialstyrelsen.dk", EMAIL):
        page = client.get("/login")
        client.post("/login", data={"email": email, "password": "wrong-password-123", "csrf_token": csrf_of(page.text)})
    assert len(checked) == 2 and checked[0] == storage.passwords._DUMMY_HASH and checked[1] != checked[0]


def test_statistics_show_each_figure_as_a_chart_and_a_table_and_as_csv(bench):
    client = client_for(bench)
    sign_in(client)
    page = client.get("/statistik").text
    assert page.count("<svg role=\"img\"") == 4 and "<script" not in page
    assert "Ansøgninger pr. dag frem til fristen" in page and "9. september" in page  # up to the deadline's day
    for region in ("Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland"):
        assert region in page
    with bench.db.session() as session:
        total = session.scalar(select(func.count(Application.id)))
    rows = client.get("/statistik.csv").content.decode("utf-8-sig").splitlines()
    per_day = sum(int(line.split(";")[2]) for line in rows if line.startswith("Ansøgninger pr. dag"))
    per_status = sum(int(line.split(";")[2]) for line in rows if line.startswith("Status;"))
    assert per_day == per_status == total
    midtjylland = next(line for line in rows if line.startswith("Region;Midtjylland: ansøgninger"))
    assert int(midtjylland.split(";")[2]) >= 1  # Aarhus, Vejle, Herning, Viborg in the demo
    assert audit_actions(bench)[-1][1] == "export"


def test_the_queue_and_the_emails_come_a_page_at_a_time_with_the_filters_kept(bench, monkeypatch):
    monkeypatch.setattr("web.pages.PAGE_SIZE", 3)
    client = client_for(bench)
    sign_in(client)
    first = client.get("/queue?sort=reference").text
    assert first.count("<tr>\n      <td><a href=") == 3 and 'aria-label="Sider"' in first
    assert "?sort=reference&amp;page=2" in first and "(side 1 af 3)" in first
    last = client.get("/queue?sort=reference&page=3").text
    assert "AD-2019-0007" in last and "AD-2019-0001" not in last
    assert client.get("/queue?page=99").status_code == 200  # beyond the last page: the last page
    emails = client.get("/messages").text
    assert emails.count('<tr class="oc-') == 3 and "(side 1 af 4)" in emails
    assert client.get("/messages?page=4").text.count('<tr class="oc-') == 2  # 11 e-mails: 3 + 3 + 3 + 2


def test_an_unknown_address_gets_a_danish_page_not_the_frameworks_english(bench):
    client = client_for(bench)
    sign_in(client)
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "Not Found" not in missing.text
    assert "Siden findes ikke" in missing.text and "Adressen findes ikke" in missing.text
    wrong_method = client.get("/ranking/select")
    assert wrong_method.status_code == 405 and "Method Not Allowed" not in wrong_method.text


def test_region_figures_read_corrected_values_and_count_each_partner_in_its_own_region(bench):
    """Counted by hand from the demo's forms: a correction (Odense's population) and a partner in another region
    (Roskilde, Sjælland, added to Vejle's joint application) are in the figures."""
    client = client_for(bench)
    token = sign_in(client)
    client.post("/applications/AD-2019-0002/corrections",
                data={"csrf_token": token, "key": "population", "value": "205.978"})
    client.post("/applications/AD-2019-0003/corrections", data={
        "csrf_token": token, "key": "partners", "value": "Fredericia; 150; 51.000; Ja\nRoskilde; 100; 90.000; Nej"})
    rows = client.get("/statistik.csv").content.decode("utf-8-sig").splitlines()
    figures = {line.split(";")[1]: line.split(";")[2] for line in rows if line.startswith("Region;")}
    expected = {  # applications; target group / population
        "Midtjylland": (3, 1250 + 300 + 1250, 352_751 + 90_000 + 352_751),  # Aarhus, Herning, Viborg
        # Odense, Vejle and Fredericia, Svendborg
        "Syddanmark": (3, 1250 + 400 + 150 + 500, 205_978 + 59_000 + 51_000 + 58_000),
        "Sjælland": (2, 240 + 100, 72_000 + 90_000),  # Holbæk, and Vejle's partner Roskilde
        "Hovedstaden": (0, 0, 0), "Nordjylland": (0, 0, 0)}
    for region, (count, target, population) in expected.items():
        assert int(figures[f"{region}: ansøgninger"]) == count, region
        assert int(figures[f"{region}: borgere i målgruppen"]) == target, region
        assert int(figures[f"{region}: indbyggere"]) == population, region
        share = figures[f"{region}: målgruppens andel af indbyggerne"]
        assert share == ("" if not population else f"{round(target / population, 6):.6f}".replace(".", ","))
    page = client.get("/statistik").text
    assert '<text x=' in page and 'class="value"' in page  # every bar carries its value ...
    assert page.count('class="label"') == page.count('class="bar"')  # ... and its label


def test_the_log_is_filtered_by_person_action_and_day_and_names_fields_and_statuses_in_danish(bench):
    client = client_for(bench)
    token = sign_in(client)
    client.post("/applications/AD-2019-0002/corrections",
                data={"csrf_token": token, "key": "approval_date", "value": "2-9-2019"})
    client.post("/applications/AD-2019-0002/notes", data={"csrf_token": token, "text": "Ringede"})
    log = client.get("/audit").text
    assert "felt: 8.4 Dato for godkendelse" in log and "approval_date" not in log
    only = client.get("/audit?action=add_note").text.split("<tbody>")[1]
    assert "Tilføjede note" in only and "Rettede felt" not in only and "Logget ind" not in only
    assert "Logget ind" in client.get(f"/audit?actor={EMAIL}&action=login").text.split("<tbody>")[1]
    assert "Ingen handlinger endnu" in client.get("/audit?until=2019-01-01").text
    today = client.get("/audit?since=2019-01-01").text.split("<tbody>")[1]
    assert "Tilføjede note" in today


def test_the_xlsx_export_has_one_row_per_municipality_of_a_joint_application_in_a_second_sheet(bench):
    client = client_for(bench)
    sign_in(client)
    book = load_workbook(io.BytesIO(client.get("/queue.xlsx").content))
    assert book.sheetnames == ["Ansøgninger", "Kommuner"]
    sheet = book["Kommuner"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    vejle = [row for row in rows if row[0] == "AD-2019-0003"]
    assert [row[1:5] for row in vejle] == [["Vejle Kommune", "Ansøgende kommune", 400, 59000],
                                           ["Fredericia Kommune", "Samarbejdskommune", 150, 51000]]
    with bench.db.session() as session:
        assert len(rows) == session.scalar(select(func.count(Application.id))) + 1  # one partner in the demo
    assert sheet.auto_filter.ref == f"A1:G{len(rows) + 1}"
