"""Stage: every attached file (also inside forwarded messages) archived and recorded as an annex."""

from __future__ import annotations

from ingest.context import MessageContext
from ingest.mime import attachments
from storage import Attachment


def process(ctx: MessageContext) -> None:
    for part in ctx.parts_ahead if ctx.parts_ahead is not None else attachments(ctx.message):
        digest = ctx.archive.put("files", part.data)
        row = Attachment(filename=part.filename, content_type=part.content_type[:255], size=len(part.data),
                         sha256=digest, role="annex")
        ctx.row.attachments.append(row)
        ctx.session.flush()
        ctx.attachments.append(row)
        ctx.attachment_data[row.id] = part.data
