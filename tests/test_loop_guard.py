"""RFC 3834: which messages never get an automatic reply."""

from __future__ import annotations

import pytest

from ingest.loop_guard import no_reply_reason
from ingest.mime import parse_message

OWN = "uip-imp2@socialstyrelsen.dk"


def message(headers: str, content_type: str = "text/plain") -> object:
    return parse_message(f"From: Mette <mette@aarhus.dk>\r\nContent-Type: {content_type}\r\n{headers}\r\nx\r\n"
                         .encode())


@pytest.mark.parametrize("headers", [
    "Auto-Submitted: auto-replied\r\n", "Auto-Submitted: auto-generated\r\n", "Precedence: bulk\r\n",
    "Precedence: list\r\n", "Precedence: junk\r\n", "List-Id: <x.lists.dk>\r\n", "List-Unsubscribe: <x>\r\n",
    "X-Auto-Response-Suppress: All\r\n", "X-Auto-Response-Suppress: OOF\r\n", "Return-Path: <>\r\n",
])
def test_auto_replies_lists_and_bounces_get_no_reply(headers):
    assert no_reply_reason(message(headers), OWN) is not None


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.dk", "postmaster@aarhus.dk", "noreply@aarhus.dk",
                                    "owner-liste@lists.dk", "liste-request@lists.dk", OWN])
def test_robot_senders_and_ourselves_get_no_reply(sender):
    assert no_reply_reason(parse_message(f"From: {sender}\r\n\r\nx\r\n".encode()), OWN) is not None


def test_delivery_reports_get_no_reply():
    assert no_reply_reason(message("", "multipart/report; report-type=delivery-status; boundary=b"), OWN)


def test_a_person_writing_gets_a_reply():
    assert no_reply_reason(message("Auto-Submitted: no\r\n"), OWN) is None
    assert no_reply_reason(message(""), OWN) is None
