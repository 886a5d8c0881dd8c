"""Stage: find the application form among the attachments and read it; say why when there is none."""

from __future__ import annotations

from ingest.context import MessageContext
from ingest.errors import RejectMessage
from parsers import FormCandidate
from parsers.form_file import choose_form


def process(ctx: MessageContext) -> None:
    candidates = [FormCandidate(a.id, a.filename, ctx.attachment_data[a.id]) for a in ctx.attachments]
    choice = choose_form(candidates, ctx.parse_options, ctx.parse)
    if choice.form is None:
        by_name = {a.filename: a for a in ctx.attachments}
        for filename, error in choice.unreadable:
            if filename in by_name:
                by_name[filename].role = "unreadable"
                by_name[filename].note = error.reason
        names = [a.filename for a in ctx.attachments]
        if choice.unreadable:
            codes = ", ".join(sorted({e.code for _, e in choice.unreadable}))
            raise RejectMessage(f"form could not be opened ({codes})", "unreadable",
                                unreadable=[{"filename": f, "reason": e.reason} for f, e in choice.unreadable])
        raise RejectMessage("no application form among the attachments" if names else "no attachments",
                            "no_form", attachments=names)
    ctx.form = choice.form
    ctx.form_attachment = next(a for a in ctx.attachments if a.id == choice.form.index)
    ctx.form_attachment.role = "form"
