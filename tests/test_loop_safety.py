"""No loops and no backscatter, against real Dovecot and aiosmtpd: what gets no reply, bounces, rate limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ingest.demo import application_email, complete_values, to_bytes
from storage import InboundMessage, Reply

pytestmark = pytest.mark.servers
ON_TIME = datetime(2019, 9, 2, 9, 0, tzinfo=UTC)

LOOP_CASES = {
    "auto-replied": {"Auto-Submitted": "auto-replied"},
    "auto-generated": {"Auto-Submitted": "auto-generated"},
    "precedence bulk": {"Precedence": "bulk"},
    "precedence list": {"Precedence": "list"},
    "precedence junk": {"Precedence": "junk"},
    "list header": {"List-Id": "<kommuner.lists.dk>"},
    "suppress all": {"X-Auto-Response-Suppress": "All"},
    "suppress oof": {"X-Auto-Response-Suppress": "OOF"},
    "null return path": {"Return-Path": "<>"},
}
ROBOT_SENDERS = ["MAILER-DAEMON@mx.aarhus.dk", "postmaster@odense.dk", "noreply@vejle.dk", "owner-liste@lists.dk",
                 "liste-request@lists.dk", "Socialstyrelsen <uip-imp2@socialstyrelsen.dk>"]


def test_auto_replies_lists_robots_and_ourselves_get_no_reply_and_are_recorded_as_ignored(intake, imap, smtp):
    sink, _ = smtp
    n = 0
    for name, headers in LOOP_CASES.items():
        n += 1
        imap.append("INBOX", to_bytes(application_email(complete_values(), extra_headers=headers,
                                                        message_id=f"<loop-{n}@k.dk>", subject=name)), msg_time=ON_TIME)
    for sender in ROBOT_SENDERS:
        n += 1
        imap.append("INBOX", to_bytes(application_email(complete_values(), sender=sender,
                                                        message_id=f"<loop-{n}@k.dk>")), msg_time=ON_TIME)
    n += 1
    imap.append("INBOX", to_bytes(application_email(complete_values(),
                                                    message_id=f"<echo-{n}@socialstyrelsen.dk>")), msg_time=ON_TIME)
    report = intake.poll_once()
    assert report.outcomes == {"ignored": n}
    assert sink.messages == []
    with intake.db.session() as session:
        rows = session.scalars(select(InboundMessage)).all()
        assert all(r.reason.code == "not_answered" and not r.reason.answered for r in rows)
        assert session.scalars(select(Reply)).all() == []


def dsn_for(reply_message_id: str, to: str) -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes it, returning our reply's headers."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.odense.dk>\r\nTo: uip-imp2@socialstyrelsen.dk\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.odense.dk>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.odense.dk\r\n\r\n"
        f"Final-Recipient: rfc822; {to}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: uip-imp2@socialstyrelsen.dk\r\nTo: {to}\r\nMessage-ID: {reply_message_id.strip()}\r\n"
        "Subject: Kvittering\r\n--b1--\r\n").encode()


def test_a_bounce_of_our_reply_marks_that_reply_failed_and_gets_no_reply(intake, imap, smtp):
    sink, _ = smtp
    first = application_email(complete_values(), sender="Lone <lone@odense.dk>")
    imap.append("INBOX", to_bytes(first), msg_time=ON_TIME)
    intake.poll_once()
    (sent,) = sink.messages
    imap.append("INBOX", dsn_for(sent["Message-ID"], "lone@odense.dk"), msg_time=ON_TIME)
    report = intake.poll_once()
    assert report.outcomes == {"ignored": 1} and len(sink.messages) == 1
    with intake.db.session() as session:
        reply = session.scalars(select(Reply)).one()
        assert reply.status == "failed" and "550 5.1.1 user unknown" in reply.last_error
        bounce = session.scalars(select(InboundMessage).where(InboundMessage.message_id == "<dsn-1@mx.odense.dk>")
                                 ).one()
        assert bounce.application_id == reply.application_id
        assert bounce.reason.params["bounced_reply"] == reply.message_id_header


def test_replies_beyond_the_rate_limit_are_held_for_staff_not_sent(intake, imap, smtp):
    sink, _ = smtp
    intake.settings.smtp.max_per_recipient_per_hour = 3
    for n in range(5):
        imap.append("INBOX", to_bytes(application_email(None, sender="Bo <bo@viborg.dk>", subject=f"spørgsmål {n}",
                                                        message_id=f"<rate-{n}@viborg.dk>")), msg_time=ON_TIME)
    intake.poll_once()
    assert len(sink.messages) == 3
    with intake.db.session() as session:
        statuses = [r.status for r in session.scalars(select(Reply).order_by(Reply.id))]
        held = session.scalars(select(Reply).where(Reply.status == "held")).first()
        assert statuses == ["sent", "sent", "sent", "held", "held"]
        assert held is not None and "rate limit" in held.last_error


def test_the_per_recipient_limit_ignores_case_and_the_overall_limit_counts_every_recipient(intake, imap, smtp):
    intake.settings.smtp.max_per_recipient_per_hour, intake.settings.smtp.max_per_hour = 2, 4
    senders = ["bo@viborg.dk", "BO@Viborg.dk", "bo@viborg.dk", "anne@aarhus.dk", "carl@vejle.dk", "dina@odder.dk"]
    for n, sender in enumerate(senders):
        imap.append("INBOX", to_bytes(application_email(None, sender=sender, subject=f"spørgsmål {n}",
                                                        message_id=f"<limits-{n}@k.dk>")), msg_time=ON_TIME)
    intake.poll_once()
    with intake.db.session() as session:
        replies = list(session.scalars(select(Reply).order_by(Reply.id)))
    assert [r.status for r in replies] == ["sent", "sent", "held", "sent", "sent", "held"]
    assert "2 replies to bo@viborg.dk" in replies[2].last_error
    assert "4 replies in the last hour" in replies[5].last_error


def test_crlf_in_an_encoded_subject_cannot_inject_a_header_into_the_reply(intake, imap, smtp):
    sink, _ = smtp
    message = application_email(None, message_id="<crlf@aarhus.dk>")  # no form: the reply quotes the subject
    raw = to_bytes(message).replace(b"Subject: ", b"Subject: =?utf-8?q?Ans=C3=B8gning=0D=0ABcc:_evil@x.dk?= ", 1)
    imap.append("INBOX", raw, msg_time=ON_TIME)
    report = intake.poll_once()
    assert report.errors == 0 and report.outcomes == {"rejected": 1}
    (reply,) = sink.messages
    subject = " ".join(str(reply["Subject"]).split())
    assert reply["Bcc"] is None and "Ansøgning Bcc: evil@x.dk" in subject
    assert [to for _, tos in sink.envelopes for to in tos] == ["mette.jensen@aarhus.dk"]
