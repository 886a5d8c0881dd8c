"""Stage: every attached file (also inside forwarded messages) recorded as an annex.

The files are in the archive already (``ingest.file_archive``, before the pipeline runs), so no row names a
file not yet on disk and the message's commit waits for no fsync.
"""

from __future__ import annotations

from ingest.context import MessageContext
from storage import Attachment


def process(ctx: MessageContext) -> None:
    for part in ctx.files.parts if ctx.files is not None else []:
        assert part.sha256 is not None, "the files are archived before the pipeline runs (ingest.file_archive)"
        digest = part.sha256
        # linked from the annex's side: the message's list of attachments is not loaded to add it; not flushed
        # here: written once, with the role and the application the later stages give it
        row = Attachment(message=ctx.row, filename=part.filename, content_type=part.content_type[:255],
                         size=len(part.data), sha256=digest, role="annex")
        ctx.session.add(row)
        ctx.attachments.append(row)
        ctx.attachment_parts.append(part)
