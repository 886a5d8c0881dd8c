"""Build the RFC 5322 message for a stored reply, with the RFC 3834 headers of an auto-responder."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from notifications.render import text_to_html
from storage.models import Reply

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def header_safe(value: str, limit: int = 900) -> str:
    """A value from an incoming message, made safe to put in a header: no CR/LF or other controls."""
    return _CONTROL.sub(" ", value).strip()[:limit]


def parse_sender(sender: str) -> tuple[str, str]:
    """(display name, address) of the configured sender; tolerates an unquoted comma in the name."""
    match = re.fullmatch(r"\s*(.*?)\s*<([^<>@\s]+@[^<>@\s]+)>\s*", sender)
    if match:
        return match.group(1).strip('"'), match.group(2)
    return parseaddr(sender)


def sender_domain(sender: str) -> str:
    return parse_sender(sender)[1].rpartition("@")[2] or "localhost"


def new_message_id(sender: str) -> str:
    return make_msgid(idstring="uip-intake", domain=sender_domain(sender))


def build_email(reply: Reply, sender: str) -> EmailMessage:
    message = EmailMessage()
    name, address = parse_sender(sender)
    message["From"] = Address(display_name=name, addr_spec=address)
    message["To"] = reply.to_addr
    message["Subject"] = header_safe(reply.subject)
    message["Date"] = format_datetime(reply.created_at)
    message["Message-ID"] = reply.message_id_header
    if reply.in_reply_to:
        message["In-Reply-To"] = reply.in_reply_to
    if reply.references:
        message["References"] = reply.references
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    message["Content-Language"] = reply.language or "da"
    message.set_content(reply.body, charset="utf-8")
    message.add_alternative(text_to_html(reply.body, reply.language or "da"), subtype="html", charset="utf-8")
    return message
