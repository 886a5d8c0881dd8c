"""Stage: find the application a follow-up belongs to, the way ticket systems do.

In order: the reference in the subject (``[AD-2019-0007]``, after any "SV:", "VS:", "Re:", "AW:" and with
mangled spacing); the In-Reply-To / References Message-IDs against the replies we sent and the messages
we received; and last, one open application (awaiting an answer) from the same sender, or from the same
municipal mail domain.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from ingest.context import MessageContext
from ingest.mime import header
from storage import Application, InboundMessage, Reply
from storage.reasons import ThreadMatch
from storage.states import ApplicationStatus

PUBLIC_MAIL_DOMAINS = frozenset({"gmail.com", "hotmail.com", "outlook.com", "live.dk", "yahoo.com", "icloud.com",
                                 "mail.dk", "hotmail.dk", "outlook.dk", "protonmail.com", "jubii.dk"})


def reference_in(subject: str, prefix: str) -> tuple[int, int] | None:
    """(year, number) of a reference like 'AD-2019-0007' anywhere in ``subject``, forgiving spacing."""
    match = re.search(rf"(?<![A-Za-z]){re.escape(prefix)}\s*[-–_ ]\s*(\d{{4}})\s*[-–_ ]\s*(\d{{1,6}})(?!\d)",
                      subject, re.IGNORECASE)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _by_reference(ctx: MessageContext) -> Application | None:
    found = reference_in(header(ctx.message, "Subject"), ctx.settings.call.reference_prefix)
    if found is None:
        return None
    reference = f"{ctx.settings.call.reference_prefix}-{found[0]}-{found[1]:04d}"
    return ctx.session.scalars(select(Application).where(Application.reference == reference)).first()


def _by_message_ids(ctx: MessageContext) -> Application | None:
    ids = re.findall(r"<[^<>\s]+>", header(ctx.message, "In-Reply-To"))
    ids += reversed(re.findall(r"<[^<>\s]+>", header(ctx.message, "References"))[-50:])
    for message_id in dict.fromkeys(ids):  # the nearest ancestor first
        reply = ctx.session.scalars(select(Reply).where(Reply.message_id_header == message_id,
                                                        Reply.application_id.is_not(None))).first()
        if reply is not None:
            return reply.application
        inbound = ctx.session.scalars(select(InboundMessage).where(
            InboundMessage.message_id == message_id, InboundMessage.application_id.is_not(None))).first()
        if inbound is not None:
            return inbound.application
    return None


def _by_sender(ctx: MessageContext) -> Application | None:
    """The one open application this sender wrote from; else the one open application from their (municipal)
    mail domain. One query reads both."""
    sender = (ctx.row.sender or "").lower()
    if not sender:
        return None
    domain = sender.rpartition("@")[2]
    same_domain = domain and domain not in PUBLIC_MAIL_DOMAINS
    rows = ctx.session.execute(
        select(Application, InboundMessage.sender).join(InboundMessage, InboundMessage.application_id == Application.id)
        .where(InboundMessage.sender.endswith(f"@{domain}", autoescape=True) if same_domain
               else InboundMessage.sender == sender,
               Application.status == ApplicationStatus.NEEDS_CLARIFICATION, InboundMessage.id != ctx.row.id)).all()
    by_sender = {application for application, from_ in rows if from_ == sender}
    if len(by_sender) == 1:
        return by_sender.pop()
    by_domain = {application for application, _ in rows}  # without a domain to match: the sender's, again
    return by_domain.pop() if len(by_domain) == 1 else None


def process(ctx: MessageContext) -> None:
    # what this message added so far (its annexes) is not what these lookups look for: not flushed for them
    with ctx.session.no_autoflush:
        for how, finder in ((ThreadMatch.REFERENCE, _by_reference), (ThreadMatch.MESSAGE_ID, _by_message_ids),
                            (ThreadMatch.SENDER, _by_sender)):
            application = finder(ctx)
            if application is not None:
                ctx.thread, ctx.thread_found_by = application, how
                return
