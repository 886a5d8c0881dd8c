"""Stage: every attached file (also inside forwarded messages) archived and recorded as an annex."""

from __future__ import annotations

from ingest.context import MessageContext
from ingest.mime import attachments
from storage import Attachment


def process(ctx: MessageContext) -> None:
    parts = ctx.parts_ahead if ctx.parts_ahead is not None else attachments(ctx.message)
    rows = []
    for part in parts:
        digest = ctx.archive.put("files", part.data)
        # linked from the annex's side: the message's list of attachments is not loaded to add it
        rows.append(Attachment(message=ctx.row, filename=part.filename, content_type=part.content_type[:255],
                               size=len(part.data), sha256=digest, role="annex"))
    if rows:
        ctx.session.add_all(rows)
        ctx.session.flush()  # one flush for the message's files: their ids key the data below
    for part, row in zip(parts, rows, strict=True):
        ctx.attachments.append(row)
        ctx.attachment_data[row.id] = part.data
