"""Stage: queue the acknowledgement (complete) or the clarification request (what is missing)."""

from __future__ import annotations

from typing import Any

from ingest.context import MessageContext
from ingest.mime import address_of, header
from notifications.reply_queue import queue_reply
from parsers import Problem
from parsers.form_record import FormRecord
from storage import Application, Submission


def _yes_no(value: object) -> str:
    return {True: "Ja", False: "Nej"}.get(value, "(ikke angivet)")  # type: ignore[call-overload]


def _number(value: object) -> str:
    return f"{value:,}".replace(",", ".") if isinstance(value, int) else "(ikke angivet)"


def process(ctx: MessageContext) -> None:
    assert ctx.form is not None and ctx.application is not None
    display_name = address_of(ctx.message, "From")[0]
    context = reply_context(ctx.application, ctx.form.record, ctx.problems, ctx.form.filename,
                            [a.filename for a in ctx.attachments if a.role == "annex"], ctx.submission,
                            greeting=display_name or ctx.application.municipality or "ansøger")
    template = "acknowledgement" if not ctx.problems else "clarification"
    queue_reply(ctx.row, ctx.settings, template, context, ctx.application,
                prior_references=header(ctx.message, "References"))


def reply_context(application: Application, record: FormRecord, problems: list[Problem], form_filename: str,
                  annexes: list[str], submission: Submission | None, greeting: str) -> dict[str, Any]:
    """What the acknowledgement and the clarification templates show of a version of the form."""
    fields = record.as_fields()
    return {
        "reference": application.reference,
        "greeting": greeting,
        "form_filename": form_filename,
        "municipality": application.municipality,
        "partners": [p.get("municipality") or "?" for p in fields.get("partners") or []],
        "target_group_size": _number(fields.get("target_group_size")),
        "population": _number(fields.get("population")),
        "already_implemented": _yes_no(fields.get("already_implemented")),
        "director_approved": _yes_no(fields.get("director_approved")),
        "director_name": fields.get("director_name"),
        "approval_date": "-".join(reversed(str(fields.get("approval_date") or "").split("-"))),
        "annexes": annexes,
        "problems": problems,
        "version": submission.version if submission else 1,
        "late": application.late,
        "correction_after_deadline": bool(submission and submission.after_deadline),
    }
