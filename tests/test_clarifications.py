"""Clarification requests that make sense: never one with nothing to ask, the receipt time of the email that
brought the current form, an answer-by date (call.clarification_days), overdue in the queue when it passes,
a reminder (previewed, through the outbox), and withdrawal when no answer is awaited any more."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from web_support import client_for, deliver, sign_in

from storage import Application, Reply
from storage.clarifications import open_clarification
from storage.models import AuditEntry, utcnow


def clarifications(bench, reference: str) -> list[Reply]:
    with bench.db.session() as session:
        application = session.scalar(select(Application).where(Application.reference == reference))
        return sorted((r for r in application.replies if r.kind == "clarification"), key=lambda r: r.id)


def test_the_automatic_request_asks_for_an_answer_within_the_calls_days(bench):
    (asked,) = clarifications(bench, "AD-2019-0002")
    days = bench.settings.call.clarification_days
    assert timedelta(days=days - 1) < asked.answer_by - asked.created_at <= timedelta(days=days + 1)
    assert "Vi beder om jeres svar senest" in asked.body


def test_a_request_with_nothing_to_clarify_is_refused_and_a_question_is_asked_as_a_question(bench):
    client = client_for(bench)
    token = sign_in(client)
    url = "/applications/AD-2019-0001/clarification"  # Aarhus: complete, nothing open
    for action in ("preview", "send"):
        refused = client.post(url, data={"csrf_token": token, "text": "  ", "action": action})
        assert refused.status_code == 422 and "Der er intet at afklare" in refused.text
    assert clarifications(bench, "AD-2019-0001") == []
    preview = client.post(url, data={"csrf_token": token, "text": "Hvem bliver mødeledere?", "action": "preview"})
    assert "[AD-2019-0001] Spørgsmål til jeres ansøgning" in preview.text and "Manglende" not in preview.text
    assert "Svar venligst på denne e-mail" in preview.text and "Ret venligst skemaet" not in preview.text


def test_the_request_quotes_when_the_current_form_arrived_not_a_later_duplicate(bench):
    client = client_for(bench)
    token = sign_in(client)
    client.post("/applications/AD-2019-0001/clarification",
                data={"csrf_token": token, "text": "Hvem bliver mødeledere?", "action": "send"})
    (asked,) = clarifications(bench, "AD-2019-0001")
    # the form came at 10.15 on 2 September; the same email arrived again on 6 September at 13.20
    assert "som vi modtog 2. september 2019 kl. 10.15" in asked.body and "13.20" not in asked.body
    assert asked.answer_by is not None and "Vi beder om jeres svar senest" in asked.body


def test_an_overdue_request_shows_in_the_queue_and_gets_a_previewed_reminder_with_a_new_date(bench):
    client = client_for(bench)
    token = sign_in(client)
    (asked,) = clarifications(bench, "AD-2019-0002")
    with bench.db.session() as session:
        session.get(Reply, asked.id).answer_by = utcnow() - timedelta(days=1)
    queue = client.get("/queue").text
    assert 'data-count="overdue">2<' not in queue and 'data-count="overdue">1<' in queue
    overdue = client.get("/queue?overdue=yes").text
    assert "AD-2019-0002" in overdue and "AD-2019-0001" not in overdue and "Svarfrist overskredet" in overdue
    page = client.get("/applications/AD-2019-0002").text
    assert "fristen er overskredet" in page and "Send påmindelse" in page
    url = "/applications/AD-2019-0002/clarification/remind"
    preview = client.post(url, data={"csrf_token": token, "action": "preview"})
    assert "Påmindelse: vi mangler stadig jeres svar" in preview.text and "4.2 Antal indbyggere" in preview.text
    assert len(clarifications(bench, "AD-2019-0002")) == 1  # a preview sends nothing
    client.post(url, data={"csrf_token": token, "action": "send"})
    _first, reminder = clarifications(bench, "AD-2019-0002")
    assert reminder.subject.startswith("[AD-2019-0002] Påmindelse") and reminder.answer_by > utcnow()
    assert reminder.in_reply_to and reminder.status == "pending"
    assert "Vi beder om jeres svar senest" in reminder.body
    with bench.db.session() as session:
        application = session.scalar(select(Application).where(Application.reference == "AD-2019-0002"))
        assert open_clarification(application).id == reminder.id  # the reminder is what is awaited now
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "send_reminder")) is not None
    # a request still within its date gets no reminder
    again = client.post(url, data={"csrf_token": token, "action": "send"})
    assert "flash=no_overdue_clarification" in again.headers["location"]


def test_a_withdrawn_request_is_no_longer_awaited_and_the_withdrawal_is_logged(bench):
    client = client_for(bench)
    token = sign_in(client)
    response = client.post("/applications/AD-2019-0002/clarification/withdraw",
                           data={"csrf_token": token, "reason": "Oplyst i telefonen"})
    assert "flash=clarification_withdrawn" in response.headers["location"]
    (asked,) = clarifications(bench, "AD-2019-0002")
    assert asked.withdrawn_by == "anna@socialstyrelsen.dk" and asked.withdrawn_at is not None
    with bench.db.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "withdraw_clarification"))
        assert entry.reference == "AD-2019-0002" and entry.detail["reason"] == "Oplyst i telefonen"
    assert "venter på svar" not in client.get("/applications/AD-2019-0002").text
    again = client.post("/applications/AD-2019-0002/clarification/withdraw", data={"csrf_token": token})
    assert "flash=no_open_clarification" in again.headers["location"]


def test_an_answer_from_the_municipality_closes_the_request(bench):
    from ingest.demo import sample_answers

    deliver(bench, *(raw for _what, raw, _when in sample_answers()))
    with bench.db.session() as session:
        for reference in ("AD-2019-0002", "AD-2019-0006"):
            application = session.scalar(select(Application).where(Application.reference == reference))
            assert open_clarification(application) is None, reference
