"""RFC 3834 (and RFC 5230 §4.5-4.6): messages an automatic responder must never answer."""

from __future__ import annotations

import re
from email.message import Message

from config import MailboxSettings, Settings
from ingest.mime import address_of, clean, header
from notifications.compose import parse_sender, sender_domain
from parsers.authentication_results import verdict
from storage.reasons import NoReply, NoReplyCode

_ROBOT_LOCAL = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|owner-.*|.*-request|bounce.*)$",
                          re.I)


def is_bounce(message: Message) -> bool:
    """A delivery failure report: a DSN (multipart/report), a null return path, or the mailer daemon."""
    sender = address_of(message, "From")[1].lower().partition("@")[0]
    return (message.get_content_type() == "multipart/report" or header(message, "Return-Path").strip() == "<>"
            or sender in {"mailer-daemon", "postmaster"})


def no_reply_reason(message: Message, own_address: str, own_domain: str = "") -> NoReply | None:
    """Why ``message`` must not get an automatic reply, or None when a reply is appropriate."""
    auto = header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return NoReply(NoReplyCode.AUTO_SUBMITTED, auto)
    precedence = header(message, "Precedence").lower()
    if precedence in {"bulk", "list", "junk"}:
        return NoReply(NoReplyCode.PRECEDENCE, precedence)
    for name in message:
        if name.lower().startswith("list-"):
            return NoReply(NoReplyCode.LIST_HEADER, name)
    suppress = {v.strip().lower() for v in header(message, "X-Auto-Response-Suppress").split(",")}
    if suppress & {"all", "oof", "autoreply"}:
        return NoReply(NoReplyCode.SUPPRESSED, "X-Auto-Response-Suppress")
    return_path = header(message, "Return-Path")
    if "Return-Path" in message and return_path.strip() in {"<>", ""}:
        return NoReply(NoReplyCode.NULL_RETURN_PATH)
    if message.get_content_type() == "multipart/report":
        return NoReply(NoReplyCode.REPORT, message.get_content_type())
    sender = address_of(message, "From")[1].lower()
    if not sender:
        return NoReply(NoReplyCode.NO_SENDER)
    if _ROBOT_LOCAL.match(sender.partition("@")[0]):
        return NoReply(NoReplyCode.ROBOT_SENDER, sender)
    if own_address and sender == own_address.lower():
        return NoReply(NoReplyCode.OURSELVES, sender)
    message_id = header(message, "Message-ID").strip("<> ").lower()
    if own_domain and message_id.endswith("@" + own_domain.lower()):
        return NoReply(NoReplyCode.OUR_MESSAGE, message_id)
    return None


def no_reply_reason_for(message: Message, settings: Settings) -> NoReply | None:
    """``no_reply_reason`` with this service's own address and Message-ID domain, then the receiving server's
    verdict on the sender where one is trusted (every path uses this)."""
    sender = settings.smtp.sender
    return no_reply_reason(message, parse_sender(sender)[1], sender_domain(sender)) or forged_sender(
        message, settings.mailbox)


def forged_sender(message: Message, mailbox: MailboxSettings) -> NoReply | None:
    """AUTHENTICATION_FAILED when the trusted ``Authentication-Results`` field shows From forged."""
    if not (mailbox.trusted_authserv_id or mailbox.authentication_results):
        return None
    fields = [str(value) for name, value in message.raw_items() if name.lower() == "authentication-results"]
    found = verdict(fields, address_of(message, "From")[1].rpartition("@")[2], mailbox.trusted_authserv_id,
                    mailbox.authentication_results, mailbox.spf_fail_is_forged)
    return NoReply(NoReplyCode.AUTHENTICATION_FAILED, clean(found.detail, 300)) if found and found.forged else None
