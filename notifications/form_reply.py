"""What the acknowledgement and the clarification request show of an application: one builder for the
worker's automatic replies and for the clarification staff send from the web app. Values stay values; the
templates word them in the reply's language (``notifications.locale`` filters)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from parsers import Problem
from storage import Application, Attachment, Submission


def form_reply_context(application: Application, fields: Mapping[str, Any], problems: Sequence[Problem],
                       form_filename: str, files: Sequence[Attachment], submission: Submission | None,
                       greeting: str) -> dict[str, Any]:
    """The template context for one version of the form (``fields``: its values, with staff's corrections;
    ``files``: the form and the annexes of the email it came in, listed with size and SHA-256 as evidence)."""
    return {
        "reference": application.reference,
        "greeting": greeting,
        "form_filename": form_filename,
        "municipality": application.municipality,
        "partners": [p.get("municipality") or "?" for p in fields.get("partners") or []],
        # each partner with its own numbers, echoed beside the applicant's (a joint application's whole input)
        "partner_rows": [{"municipality": p.get("municipality") or "?", "target_group_size": p.get("target_group_size"),
                          "population": p.get("population")} for p in fields.get("partners") or []
                         if fields.get("joint_application") is not False],
        "target_group_size": fields.get("target_group_size"),
        "population": fields.get("population"),
        "already_implemented": fields.get("already_implemented"),
        "director_approved": fields.get("director_approved"),
        "director_name": fields.get("director_name"),
        "approval_date": fields.get("approval_date"),
        "annexes": [f.filename for f in files if f.role == "annex"],  # for operators' templates that predate files
        "files": [{"filename": f.filename, "role": f.role, "size": f.size, "sha256": f.sha256}
                  for f in files if f.role in ("form", "annex")],
        "problems": list(problems),
        "version": submission.version if submission else 1,
        "late": application.late,
        "correction_after_deadline": bool(submission and submission.after_deadline),
    }
