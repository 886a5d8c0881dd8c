"""Stage: every attached file (also inside forwarded messages) archived and recorded as an annex."""

from __future__ import annotations

from ingest.context import MessageContext
from ingest.mime import attachments
from storage import Attachment


def process(ctx: MessageContext) -> None:
    parts = ctx.parts_ahead if ctx.parts_ahead is not None else attachments(ctx.message)
    for part in parts:
        digest = ctx.archive.put("files", part.data)
        # linked from the annex's side: the message's list of attachments is not loaded to add it; not flushed
        # here: written once, with the role and the application the later stages give it
        row = Attachment(message=ctx.row, filename=part.filename, content_type=part.content_type[:255],
                         size=len(part.data), sha256=digest, role="annex")
        ctx.session.add(row)
        ctx.attachments.append(row)
        ctx.attachment_data.append(part.data)
