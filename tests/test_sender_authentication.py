"""No automatic reply to a forged sender: the receiving server's Authentication-Results (RFC 8601) is read only
where it can be trusted — the topmost field under the configured authserv-id, or Exchange Online's id-less
topmost field — in the documented formats of Exchange Online, Gmail and Postfix with OpenDKIM/OpenDMARC, with
forged fields above and below the trusted one. End to end: a forged form-less email on Dovecot gets no reply
through aiosmtpd and waits on the caseworker's start page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from config import load_settings
from ingest.checks import Status, check_sender_authentication
from ingest.demo import application_email, to_bytes
from ingest.poller import Intake
from notifications.locale import reason_text
from parsers.authentication_results import EXCHANGE_ONLINE, verdict
from storage import InboundMessage
from storage.attention import attention_items
from storage.states import Attention, Outcome

ON_TIME = datetime(2019, 9, 2, 9, 0, tzinfo=UTC)
OURS = "mx.socialstyrelsen.dk"

# Microsoft's documented forms ("Anti-spam message headers in Microsoft 365": no authserv-id)
EXCHANGE_FAIL = ("spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=aarhus.dk; dkim=none (message not signed) "
                 "header.d=none;dmarc=fail action=oreject header.from=aarhus.dk;compauth=fail reason=000")
EXCHANGE_PASS = ("spf=pass (sender IP is 192.0.2.10) smtp.mailfrom=aarhus.dk; dkim=pass (signature was "
                 "verified) header.d=aarhus.dk;dmarc=pass action=none header.from=aarhus.dk;compauth=pass "
                 "reason=100")
# Gmail's
GMAIL_FAIL = ("mx.google.com; spf=fail (google.com: domain of sag@aarhus.dk does not designate 203.0.113.9 as "
              "permitted sender) smtp.mailfrom=sag@aarhus.dk; dmarc=fail (p=REJECT sp=REJECT dis=REJECT) "
              "header.from=aarhus.dk")
GMAIL_PASS = ("mx.google.com; dkim=pass header.i=@aarhus.dk header.s=sel1 header.b=Ab12Cd34; spf=pass "
              "(google.com: domain of sag@aarhus.dk designates 192.0.2.10 as permitted sender) "
              "smtp.mailfrom=sag@aarhus.dk; dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=aarhus.dk")
# Postfix with OpenDMARC (written last, so on top) and OpenDKIM, both under the server's id
OPENDMARC_PASS = f"{OURS}; dmarc=pass (p=reject dis=none) header.from=aarhus.dk"
OPENDMARC_FAIL = f"{OURS}; dmarc=fail (p=reject dis=none) header.from=aarhus.dk"
OPENDKIM_PASS = (f"{OURS};\r\n\tdkim=pass (2048-bit key; unprotected) header.d=aarhus.dk header.i=@aarhus.dk "
                 "header.a=rsa-sha256 header.s=mail header.b=AbCdEf12")
SPF_FAIL = f"{OURS}; spf=fail smtp.mailfrom=aarhus.dk"


def test_exchange_onlines_topmost_field_decides_and_a_forged_one_below_it_does_not():
    assert verdict([EXCHANGE_FAIL], "aarhus.dk", provider=EXCHANGE_ONLINE).forged
    assert not verdict([EXCHANGE_PASS, EXCHANGE_FAIL], "aarhus.dk", provider=EXCHANGE_ONLINE).forged
    assert verdict([EXCHANGE_FAIL, EXCHANGE_PASS], "aarhus.dk", provider=EXCHANGE_ONLINE).forged


def test_a_topmost_field_with_an_authserv_id_is_not_exchange_onlines_and_decides_nothing():
    assert verdict([f"mx.evil.example; {EXCHANGE_PASS}", EXCHANGE_FAIL], "aarhus.dk",
                   provider=EXCHANGE_ONLINE) is None


def test_gmails_verdict_counts_under_its_id_whatever_was_forged_above_or_below_it():
    forged_below = "mx.google.com; dmarc=pass header.from=aarhus.dk"
    other_above = "mx.evil.example; dkim=pass header.d=aarhus.dk; dmarc=pass header.from=aarhus.dk"
    result = verdict([other_above, GMAIL_FAIL, forged_below], "aarhus.dk", authserv_id="mx.google.com")
    assert result is not None and result.forged and result.detail == "mx.google.com: dmarc=fail header.from=aarhus.dk"
    assert not verdict([GMAIL_PASS], "aarhus.dk", authserv_id="mx.google.com").forged


def test_postfix_fields_under_one_id_are_read_together_each_methods_topmost_result_winning():
    assert not verdict([OPENDMARC_PASS, OPENDKIM_PASS, OPENDMARC_FAIL], "aarhus.dk", authserv_id=OURS).forged
    assert verdict([OPENDMARC_FAIL, OPENDKIM_PASS, OPENDMARC_PASS], "aarhus.dk", authserv_id=OURS).forged
    assert verdict([OPENDMARC_FAIL], "aarhus.dk", authserv_id="mx.MY-OTHER.dk") is None


def test_spf_fail_counts_only_when_configured_and_no_dkim_pass_aligns_with_from():
    assert not verdict([SPF_FAIL], "aarhus.dk", authserv_id=OURS).forged  # not configured
    assert verdict([SPF_FAIL], "aarhus.dk", authserv_id=OURS, spf_fail_is_forged=True).forged
    assert not verdict([SPF_FAIL, OPENDKIM_PASS], "aarhus.dk", authserv_id=OURS, spf_fail_is_forged=True).forged
    assert not verdict([SPF_FAIL, OPENDKIM_PASS], "post.aarhus.dk", authserv_id=OURS, spf_fail_is_forged=True).forged
    assert verdict([SPF_FAIL, OPENDKIM_PASS], "odense.dk", authserv_id=OURS, spf_fail_is_forged=True).forged


def test_nothing_configured_reads_nothing_and_a_field_that_does_not_parse_is_not_trusted():
    assert verdict([GMAIL_FAIL], "aarhus.dk") is None
    assert verdict([f"{OURS}; dmarc=", "garbage ;;"], "aarhus.dk", authserv_id=OURS) is None


def test_both_ways_of_trusting_at_once_is_an_error_naming_both_keys():
    with pytest.raises(ValueError, match=r"mailbox\.trusted_authserv_id and mailbox\.authentication_results"):
        load_settings(None, mailbox={"trusted_authserv_id": OURS, "authentication_results": "exchange_online"})


def test_check_says_when_forged_senders_are_not_told_apart_and_by_whom_when_they_are():
    unset = check_sender_authentication(load_settings(None, mailbox={"protocol": "imap", "username": "u"}))
    assert unset.status == Status.WARNING and "forged or not" in unset.detail and "exchange_online" in unset.fix
    exchange = check_sender_authentication(load_settings(None, mailbox={"authentication_results": "exchange_online"}))
    assert exchange.status == Status.OK and "Exchange Online" in exchange.detail


def _email(message_id: str, results: list[str], sender: str = "Sagsbehandler <sag@aarhus.dk>") -> bytes:
    raw = to_bytes(application_email(None, sender=sender, message_id=message_id, subject="Spørgsmål om puljen",
                                     body="Hvornår er fristen?\n"))
    fields = b"".join(f"Authentication-Results: {value}\r\n".encode() for value in results)
    return fields + raw


@pytest.mark.servers
def test_a_forged_email_gets_no_reply_and_waits_for_a_caseworker_while_an_authenticated_one_is_answered(
        settings, imap, smtp):
    sink, _ = smtp
    trusted = settings.model_copy(update={"mailbox": settings.mailbox.model_copy(
        update={"trusted_authserv_id": OURS})})
    intake = Intake.from_settings(trusted)
    intake.db.migrate()
    try:
        imap.append("INBOX", _email("<forged@aarhus.dk>", [OPENDMARC_FAIL, OPENDMARC_PASS]), msg_time=ON_TIME)
        imap.append("INBOX", _email("<real@aarhus.dk>", [OPENDMARC_PASS, OPENDKIM_PASS],
                                    sender="Mette <mette@aarhus.dk>"), msg_time=ON_TIME)
        intake.poll_once()
        assert [tos for _, tos in sink.envelopes] == [["mette@aarhus.dk"]]
        with intake.db.session() as session:
            forged = session.scalars(select(InboundMessage).where(
                InboundMessage.message_id == "<forged@aarhus.dk>")).one()
            assert forged.outcome == Outcome.IGNORED
            assert reason_text(forged.reason) == ("intet automatisk svar: afsenderen er sandsynligvis forfalsket "
                                                  f"(modtageserverens vurdering: {OURS}: dmarc=fail "
                                                  "header.from=aarhus.dk)")
            first = trusted.call_rounds[0].name
            waiting = attention_items(session, first, first)
            assert sorted((i.kind, i.message.message_id) for i in waiting if i.message is not None) == [
                (Attention.FORGED, "<forged@aarhus.dk>"), (Attention.QUESTION, "<real@aarhus.dk>")]
    finally:
        intake.close()
