"""Every page a caseworker reads is in Danish: after a working day on the demo (a decision proposed, approved,
its letters sent; a question answered and one forwarded; fields corrected, notes, assignments), each page is
walked and its readable text (what is shown, and the titles, labels and alternatives read aloud) holds no code
of the service and no English word of the framework — outside ``<code>`` and the senders' own text."""

from __future__ import annotations

import re

import lxml.html
from sqlalchemy import select
from test_decisions import approved, withdraw_open_clarifications
from web_support import EMAIL

from parsers.form_fields import FIELDS
from parsers.problem_codes import ProblemCode, ValueCode
from storage import Application, DecisionLetter, InboundMessage
from storage.reasons import GroundCode, NoReplyCode, QuarantineCode, ReasonCode, ThreadMatch
from storage.states import (
    ApplicationStatus,
    Attention,
    DecisionState,
    Handled,
    LetterState,
    MessageState,
    Outcome,
    ReplyKind,
    ReplyStatus,
)
from web.pages import ACTIONS, DETAIL_LABELS

DANISH_WORDS = {"sent", "held", "form", "status", "reference", "to", "note", "problem", "rate", "login"}  # also Danish
CODES = ({str(v) for enum in (MessageState, Outcome, ApplicationStatus, ReplyStatus, ReplyKind, DecisionState,
                              LetterState, Attention, Handled, ReasonCode, NoReplyCode, QuarantineCode, ThreadMatch,
                              GroundCode, ProblemCode, ValueCode) for v in enum}
         | set(ACTIONS) | set(DETAIL_LABELS) | {spec.key for spec in FIELDS}) - DANISH_WORDS
ENGLISH = {"Not Found", "Method Not Allowed", "Internal Server Error", "Forbidden", "Unauthorized", "None", "True",
           "False", "Submit", "Bad Request", "Unprocessable"}
READ_ALOUD = ("title", "aria-label", "alt", "placeholder")


def readable_text(html: str) -> str:
    """What a person reads on the page: its text and the attributes a screen reader says; not ``<code>``, nor
    ``<pre>`` (an email's or a letter's own text), nor the values forms send."""
    root = lxml.html.document_fromstring(html)
    for hidden in root.xpath("//code|//pre|//script|//style"):
        hidden.drop_tree()
    for element in root.iter():  # every element ends a word: "<td>a</td><td>b</td>" is two
        element.tail = " " + (element.tail or "")
    said = [value for element in root.iter() if isinstance(element.tag, str)
            for name in READ_ALOUD if (value := element.get(name))]
    return root.text_content() + "\n" + "\n".join(said)


def offending(text: str) -> set[str]:
    words = {w for w in re.findall(r"[\w.@/-]+", text) if not re.search(r"[.@/]", w)}  # not addresses, file names
    found = {w for w in words if w in CODES}
    found |= {phrase for phrase in ENGLISH if re.search(rf"\b{re.escape(phrase)}\b", text)}
    return found


def a_working_day(bench) -> tuple[object, list[str]]:
    """The demo through a decision and a day's mail work; returns a signed-in client and every page's path."""
    client, token, boss, boss_token, decision_id = approved(bench)
    with bench.db.session() as session:
        letter = session.scalars(select(DecisionLetter)).first()
        question = session.scalars(select(InboundMessage).where(
            InboundMessage.message_id == "<demo-q@esbjerg.dk>")).one()
        letter_id, question_id = letter.id, question.id
    client.post(f"/decision/{decision_id}/letters/{letter_id}", data={"csrf_token": token, "subject": "Afgørelse",
                                                                      "body": "Rettet tekst.\n"})
    client.post(f"/messages/{question_id}/reply", data={"csrf_token": token, "text": "Ja.", "action": "send"})
    client.post(f"/messages/{question_id}/forward", data={"csrf_token": token, "note": "Til orientering"})
    client.post("/applications/AD-2019-0002/corrections", data={"csrf_token": token, "key": "approval_date",
                                                                "value": "1.9.2019", "reason": "aftalt"})
    client.post("/applications/AD-2019-0002/notes", data={"csrf_token": token, "text": "Ringet op"})
    client.post("/applications/AD-2019-0002/assign", data={"csrf_token": token, "to": EMAIL})
    client.post("/applications/AD-2019-0003/review", data={"csrf_token": token, "reviewed": "yes"})
    withdraw_open_clarifications(client, token)
    boss.post(f"/decision/{decision_id}/letters/{letter_id}/approve", data={"csrf_token": boss_token})
    sent = client.post(f"/decision/{decision_id}/send", data={"csrf_token": token, "confirm": "yes"})
    assert "flash=letters_sent" in sent.headers["location"]
    with bench.db.session() as session:
        references = list(session.scalars(select(Application.reference)))
        messages = list(session.scalars(select(InboundMessage.id)))
    pages = ["/til-behandling", "/til-behandling?mine=yes", "/queue", "/queue?reviewed=no", "/messages", "/ranking",
             "/decision", f"/decision/{decision_id}/letters/{letter_id}", f"/decision/{decision_id}/send",
             "/statistik", "/audit", "/findes-ikke", "/applications/AD-2019-9999",
             *(f"/applications/{r}" for r in references), *(f"/messages/{m}" for m in messages)]
    return client, pages


def test_every_page_of_a_working_day_reads_in_danish_without_codes_or_english(bench):
    client, pages = a_working_day(bench)
    problems = {}
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        found = offending(readable_text(response.text))
        if found:
            problems[path] = sorted(found)
    assert not problems, problems


def test_the_walk_finds_a_code_and_an_english_phrase_when_a_page_shows_one():
    page = ('<html><body><p>Status: needs_clarification</p><p title="Not Found">x</p>'
            '<code>send_letters</code><p>For sent · lone@odense.dk · bilag_1.pdf</p></body></html>')
    assert offending(readable_text(page)) == {"needs_clarification", "Not Found"}
