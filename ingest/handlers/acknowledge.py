"""Stage: queue the acknowledgement (complete) or the clarification request (what is missing)."""

from __future__ import annotations

from ingest.context import MessageContext
from ingest.mime import address_of, header
from notifications.form_reply import form_reply_context
from notifications.reply_queue import queue_reply


def process(ctx: MessageContext) -> None:
    assert ctx.form is not None and ctx.application is not None
    display_name = address_of(ctx.message, "From")[0]
    context = form_reply_context(ctx.application, ctx.form.record.as_fields(), ctx.problems, ctx.form.filename,
                                 ctx.attachments, ctx.submission,
                                 greeting=display_name or ctx.application.municipality or "")
    template = "acknowledgement" if not ctx.problems else "clarification"
    queue_reply(ctx.row, ctx.settings, template, context, ctx.application,
                prior_references=header(ctx.message, "References"))
