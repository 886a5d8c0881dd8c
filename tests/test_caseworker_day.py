"""The caseworker's day on the demo's real mail: "Til behandling" lists what needs a person, every email is read
in the browser (never the sender's HTML), answered, forwarded, linked or marked handled, each audited; emails
and applications are given to a caseworker and filtered as "mine"."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import select
from web_support import EMAIL, client_for, deliver, sign_in

from ingest.demo import INTAKE_ADDRESS, to_bytes
from notifications.compose import build_email
from storage import Application, InboundMessage, Reply
from storage.models import AuditEntry, utcnow
from storage.passwords import hash_password
from storage.staff import add_staff
from storage.states import Handled, ReplyKind, ReplyStatus

COLLEAGUE = "bo@socialstyrelsen.dk"


def email(subject: str, text: str | None = None, html: str | None = None, sender: str = "Rikke Bak <rikke@kolding.dk>",
          message_id: str = "<q1@kolding.dk>") -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, INTAKE_ADDRESS, subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    return to_bytes(message)


def message_by_id(bench, message_id: str) -> InboundMessage:
    with bench.db.session() as session:
        row = session.scalars(select(InboundMessage).where(InboundMessage.message_id == message_id)).one()
        session.expunge(row)
        return row


def waiting_count(page: str) -> int:
    match = re.search(r'data-count="waiting">(\d+)<', page)
    assert match, "the menu shows no count"
    return int(match.group(1))


def actions(bench) -> list[str]:
    with bench.db.session() as session:
        return [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_the_start_page_lists_the_demo_question_and_the_unreviewed_applications_oldest_first(bench):
    client = client_for(bench)
    sign_in(client)
    response = client.get("/")
    assert response.status_code == 303 and response.headers["location"] == "/til-behandling"
    page = client.get("/til-behandling").text
    assert "Spørgsmål uden skema" in page and "Spørgsmål om målgruppen" in page and "Karen Hald" in page
    assert "Ikke gennemgået" in page and "AD-2019-0001" in page
    with bench.db.session() as session:
        unreviewed = session.scalars(select(Application).where(Application.reviewed_at.is_(None),
                                                               Application.rejected_reason.is_(None))).all()
    listed = re.findall(r'<li class="at-(\w+)">', page)
    assert listed.count("not_reviewed") == len(unreviewed) > 0  # the demo has one round
    assert waiting_count(page) == len(listed)  # the menu counts what the page lists
    # oldest first: the question (5 September) comes after Aarhus (2 September) and before Herning (6 September)
    assert page.index("AD-2019-0001") < page.index("Spørgsmål om målgruppen") < page.index("Herning")
    # the auto-reply, the oversized email and the duplicate need nobody
    assert "Fraværende" not in page and "sofie@horsens.dk" not in page


def test_a_question_is_read_in_the_browser_answered_with_a_preview_and_leaves_the_list(bench):
    client = client_for(bench)
    csrf = sign_in(client)
    question = message_by_id(bench, "<demo-q@esbjerg.dk>")
    before = waiting_count(client.get("/til-behandling").text)
    page = client.get(f"/messages/{question.id}").text
    assert "Må vi regne borgere på venteliste til bostøtte med i målgruppen (punkt 4.1)?" in page
    text = "Kære Karen Hald\n\nJa, borgere på venteliste kan regnes med.\nSkriv antallet i punkt 4.1."
    preview = client.post(f"/messages/{question.id}/reply", data={"csrf_token": csrf, "text": text,
                                                                  "action": "preview"})
    assert preview.status_code == 200
    assert "Ja, borgere på venteliste kan regnes med.\nSkriv antallet i punkt 4.1." in preview.text  # lines kept
    assert "&gt; Vi overvejer at søge. Må vi regne borgere" in preview.text  # the question quoted below the answer
    with bench.db.session() as session:  # a preview queues nothing
        assert not session.scalars(select(Reply).where(Reply.kind == ReplyKind.STAFF_REPLY)).all()
    sent = client.post(f"/messages/{question.id}/reply", data={"csrf_token": csrf, "text": text, "action": "send"})
    assert sent.status_code == 303
    with bench.db.session() as session:
        reply = session.scalars(select(Reply).where(Reply.kind == ReplyKind.STAFF_REPLY)).one()
        row = session.get(InboundMessage, question.id)
        assert (reply.to_addr, reply.in_reply_to, reply.status, reply.author) == (
            "karen@esbjerg.dk", "<demo-q@esbjerg.dk>", ReplyStatus.PENDING, EMAIL)
        assert reply.subject == "Sv: Spørgsmål om målgruppen" and "<demo-q@esbjerg.dk>" in reply.references
        assert reply.body.startswith(text) and f"Med venlig hilsen\n{EMAIL}\nSocialstyrelsen" in reply.body
        assert (row.handled_how, row.handled_by) == (Handled.ANSWERED, EMAIL)
        built = build_email(reply, bench.settings.smtp.sender)
        assert built["Auto-Submitted"] is None  # a person's reply (RFC 3834)
        assert built["In-Reply-To"] == "<demo-q@esbjerg.dk>"
    assert "reply_message" in actions(bench)
    after = client.get("/til-behandling").text
    assert waiting_count(after) == before - 1 and "Spørgsmål om målgruppen" not in after
    # answering again is refused unless asked for: two caseworkers never both answer by accident
    again = client.post(f"/messages/{question.id}/reply", data={"csrf_token": csrf, "text": "Igen", "action": "send"})
    assert again.status_code == 409 and "har allerede behandlet" in again.text
    with bench.db.session() as session:
        assert len(session.scalars(select(Reply).where(Reply.kind == ReplyKind.STAFF_REPLY)).all()) == 1


def test_an_html_only_email_is_shown_as_its_text_with_links_inert_and_nothing_of_its_markup(bench):
    html = ('<html><head><style>body{color:red}</style><script>alert(1)</script></head><body>'
            '<p>Hej</p><p>Se vores <a href="https://evil.example/track?id=1">budget</a> og '
            '<img src="https://tracker.example/pixel.gif" alt="logo"></p><!-- skjult -->'
            '<ul><li>punkt et</li><li>punkt to</li></ul><div onclick="x()">Venlig hilsen<br>Rikke</div></body></html>')
    deliver(bench, email("Spørgsmål i HTML", html=html))
    client = client_for(bench)
    sign_in(client)
    row = message_by_id(bench, "<q1@kolding.dk>")
    page = client.get(f"/messages/{row.id}").text
    shown = page[page.index('<pre class="mail-text"'):page.index("</pre>", page.index('<pre class="mail-text"'))]
    assert "Se vores budget [https://evil.example/track?id=1] og [logo]" in shown
    assert "• punkt et\n• punkt to" in shown and "Venlig hilsen\nRikke" in shown
    for markup in ("<script", "alert(1)", "color:red", "skjult", 'href="https://evil', "tracker.example", "onclick"):
        assert markup not in page, markup
    assert "læst ud af e-mailens HTML" in page


def test_a_forward_goes_to_the_questions_address_with_answers_to_the_municipality(bench):
    client = client_for(bench)
    csrf = sign_in(client)
    question = message_by_id(bench, "<demo-q@esbjerg.dk>")
    response = client.post(f"/messages/{question.id}/forward", data={"csrf_token": csrf, "note": "Kan I svare?"})
    assert response.status_code == 303
    with bench.db.session() as session:
        forward = session.scalars(select(Reply).where(Reply.kind == ReplyKind.FORWARD)).one()
        assert forward.to_addr == bench.settings.call.questions_address
        assert forward.reply_to == "karen@esbjerg.dk" and forward.author == EMAIL
        assert "Kommentar: Kan I svare?" in forward.body and "Må vi regne borgere på venteliste" in forward.body
        assert forward.subject == "VS: Spørgsmål om målgruppen"
        built = build_email(forward, bench.settings.smtp.sender)
        assert built["Reply-To"] == "karen@esbjerg.dk" and built["Auto-Submitted"] is None
        assert session.get(InboundMessage, question.id).handled_how == Handled.FORWARDED
        automatic = session.scalars(select(Reply).where(Reply.kind == ReplyKind.ACKNOWLEDGEMENT)).first()
        assert build_email(automatic, bench.settings.smtp.sender)["Auto-Submitted"] == "auto-replied"
    assert "forward_message" in actions(bench)


def test_marking_handled_needs_a_note_is_audited_and_can_be_undone(bench):
    client = client_for(bench)
    csrf = sign_in(client)
    question = message_by_id(bench, "<demo-q@esbjerg.dk>")
    refused = client.post(f"/messages/{question.id}/handled", data={"csrf_token": csrf, "note": " "})
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    done = client.post(f"/messages/{question.id}/handled", data={"csrf_token": csrf, "note": "Besvaret i telefonen"})
    assert done.status_code == 303 and done.headers["location"].startswith("/til-behandling")
    assert "Spørgsmål om målgruppen" not in client.get("/til-behandling").text
    page = client.get(f"/messages/{question.id}").text
    assert "markeret som behandlet af anna@socialstyrelsen.dk" in page and "Besvaret i telefonen" in page
    client.post(f"/messages/{question.id}/handled", data={"csrf_token": csrf, "undo": "1"})
    assert "Spørgsmål om målgruppen" in client.get("/til-behandling").text
    assert actions(bench)[-2:] == ["handle_message", "reopen_message"]


def test_linking_a_question_to_an_application_puts_it_in_the_application_s_conversation(bench):
    client = client_for(bench)
    csrf = sign_in(client)
    question = message_by_id(bench, "<demo-q@esbjerg.dk>")
    wrong = client.post(f"/messages/{question.id}/link", data={"csrf_token": csrf, "reference": "AD-2019-9999"})
    assert wrong.status_code == 422 and "AD-2019-9999" in wrong.text
    client.post(f"/messages/{question.id}/link", data={"csrf_token": csrf, "reference": "ad-2019-0001"})
    page = client.get("/applications/AD-2019-0001").text
    assert "Spørgsmål om målgruppen" in page and "Må vi regne borgere på venteliste" in page
    with bench.db.session() as session:
        row = session.get(InboundMessage, question.id)
        assert row.application.reference == "AD-2019-0001" and row.handled_how == Handled.LINKED
    assert "link_message" in actions(bench)


def test_a_follow_up_after_the_decision_letter_is_listed_as_such(bench):
    with bench.db.session() as session:
        application = session.scalars(select(Application).where(Application.reference == "AD-2019-0001")).one()
        message = application.messages[0]
        session.add(Reply(message_id_header="<decision-1@socialstyrelsen.dk>", kind=ReplyKind.DECISION,
                          to_addr="mette.jensen@aarhus.dk", subject="Afgørelse", body="…", status=ReplyStatus.SENT,
                          message=message, application=application, created_at=utcnow() - timedelta(days=1)))
    deliver(bench, email("SV: [AD-2019-0001] Afgørelse", "Må vi stadig sende et bilag?",
                         sender="Mette Jensen <mette.jensen@aarhus.dk>", message_id="<after@aarhus.dk>"))
    client = client_for(bench)
    sign_in(client)
    page = client.get("/til-behandling?kind=after_decision").text
    assert "Henvendelse efter afgørelsen" in page and "SV: [AD-2019-0001] Afgørelse" in page
    with bench.db.session() as session:
        receipt = session.scalars(select(Reply).join(InboundMessage, Reply.inbound_message_id == InboundMessage.id)
                                  .where(InboundMessage.message_id == "<after@aarhus.dk>")).one()
        assert "Vi har modtaget jeres svar" not in receipt.subject  # the case is decided: not "your answer"
        assert "En sagsbehandler læser jeres e-mail og svarer jer" in receipt.body


def test_assignment_is_audited_and_mine_filters_the_queue_and_the_start_page(bench):
    with bench.db.session() as session:
        add_staff(session, COLLEAGUE, hash_password("another-long-password"))
    client = client_for(bench)
    csrf = sign_in(client)
    unknown = client.post("/applications/AD-2019-0001/assign", data={"csrf_token": csrf, "to": "x@evil.example"})
    assert unknown.status_code == 422
    client.post("/applications/AD-2019-0001/assign", data={"csrf_token": csrf, "to": EMAIL})
    client.post("/applications/AD-2019-0002/assign", data={"csrf_token": csrf, "to": COLLEAGUE})
    mine = client.get("/queue?mine=yes").text
    assert "AD-2019-0001" in mine and "AD-2019-0002" not in mine
    start = client.get("/til-behandling?mine=yes").text
    assert "AD-2019-0001" in start and "AD-2019-0002" not in start and "Spørgsmål om målgruppen" not in start
    question = message_by_id(bench, "<demo-q@esbjerg.dk>")
    client.post(f"/messages/{question.id}/assign", data={"csrf_token": csrf, "to": EMAIL})
    assert "Spørgsmål om målgruppen" in client.get("/til-behandling?mine=yes").text
    with bench.db.session() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "assign")).all()
        assert [e.detail["assigned_to"] for e in entries] == [EMAIL, COLLEAGUE, EMAIL]
    assert "Tildelte sagsbehandler" in client.get("/audit").text


def test_the_queue_filters_applications_not_reviewed(bench):
    client = client_for(bench)
    csrf = sign_in(client)
    client.post("/applications/AD-2019-0001/review", data={"csrf_token": csrf, "reviewed": "yes"})
    unreviewed = client.get("/queue?reviewed=no").text
    assert "AD-2019-0001" not in unreviewed and "AD-2019-0002" in unreviewed
    assert "AD-2019-0001" in client.get("/queue?reviewed=yes").text
    assert "AD-2019-0001" not in client.get("/til-behandling").text


def test_the_source_of_a_value_is_said_in_words_with_the_form_s_own_label(bench):
    client = client_for(bench)
    sign_in(client)
    page = client.get("/applications/AD-2019-0001").text
    assert "Word-dokument, indholdskontrol »1.1 Ansøgende kommune«" in page
    assert "»municipality«" not in page and "docx:" not in page
