"""Stage: every attached file (also inside forwarded messages) archived and recorded as an annex.

The files are written on the archive's writer threads while the later stages run; the pipeline waits for
them before the message's commit (``run_pipeline``), so no row names a file not yet on disk.
"""

from __future__ import annotations

from ingest.context import MessageContext
from storage import Attachment


def process(ctx: MessageContext) -> None:
    for part in ctx.files.parts if ctx.files is not None else []:
        digest, writing = ctx.archive.put_behind("files", part.data)
        ctx.files_writing.append(writing)
        # linked from the annex's side: the message's list of attachments is not loaded to add it; not flushed
        # here: written once, with the role and the application the later stages give it
        row = Attachment(message=ctx.row, filename=part.filename, content_type=part.content_type[:255],
                         size=len(part.data), sha256=digest, role="annex")
        ctx.session.add(row)
        ctx.attachments.append(row)
        ctx.attachment_parts.append(part)
