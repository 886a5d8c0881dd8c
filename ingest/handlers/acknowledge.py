"""Stage: queue the acknowledgement (complete) or the clarification request (what is missing)."""

from __future__ import annotations

from typing import Any

from ingest.context import MessageContext
from ingest.mime import address_of, header
from ingest.reply_queue import queue_reply


def _yes_no(value: object) -> str:
    return {True: "Ja", False: "Nej"}.get(value, "(ikke angivet)")  # type: ignore[call-overload]


def _number(value: object) -> str:
    return f"{value:,}".replace(",", ".") if isinstance(value, int) else "(ikke angivet)"


def process(ctx: MessageContext) -> None:
    assert ctx.form is not None and ctx.application is not None
    fields = ctx.form.record.as_fields()
    display_name = address_of(ctx.message, "From")[0]
    context: dict[str, Any] = {
        "reference": ctx.application.reference,
        "greeting": display_name or ctx.application.municipality or "ansøger",
        "form_filename": ctx.form.filename,
        "municipality": ctx.application.municipality,
        "partners": [p.get("municipality") or "?" for p in fields.get("partners") or []],
        "target_group_size": _number(fields.get("target_group_size")),
        "population": _number(fields.get("population")),
        "already_implemented": _yes_no(fields.get("already_implemented")),
        "director_approved": _yes_no(fields.get("director_approved")),
        "director_name": fields.get("director_name"),
        "approval_date": "-".join(reversed(str(fields.get("approval_date") or "").split("-"))),
        "annexes": [a.filename for a in ctx.attachments if a.role == "annex"],
        "problems": ctx.problems,
        "version": ctx.submission.version if ctx.submission else 1,
        "late": ctx.application.late,
        "correction_after_deadline": bool(ctx.submission and ctx.submission.after_deadline),
    }
    template = "acknowledgement" if not ctx.problems else "clarification"
    queue_reply(ctx.row, ctx.settings, template, context, ctx.application,
                prior_references=header(ctx.message, "References"))
