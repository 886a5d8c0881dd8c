"""The case file of one application, for the Board's case system (ESDH: F2, WorkZone, GetOrganized): one zip.

* ``summary.pdf`` — the record with the form's Danish labels, its problems, every version, staff's corrections
  (who, when, why), the conversation and the decision so far (fpdf2);
* ``mail/`` — every email received as it arrived (``NN-ind-….eml``) and every reply as sent (``NN-ud-….eml``);
* ``form/`` and ``annexes/`` — the form of each version and every annex, byte for byte as received;
* ``metadata.json`` — reference, round, municipality and its code, CVR, the server's receipt time, status,
  decision, and for every file its path, role, direction, date, size and SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import asdict, dataclass
from datetime import datetime
from email.policy import SMTP
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF

from config.settings import Settings
from notifications.compose import build_email
from notifications.locale import (
    DANISH_TIME,
    danish,
    problem_text,
    reason_text,
    short_time_text,
    value_text,
)
from parsers.display_text import safe_filename
from parsers.form_fields import FIELDS, FIELDS_BY_KEY
from storage import Application, Archive
from storage.queries import message_threads
from storage.states import ApplicationStatus, DecisionState, LetterState, ReplyKind

STATUS_NAMES: dict[str, str] = {ApplicationStatus.COMPLETE: "komplet",
                                 ApplicationStatus.NEEDS_CLARIFICATION: "afventer svar",
                                 ApplicationStatus.REJECTED: "afvist", ApplicationStatus.AWARDED: "tilsagn",
                                 ApplicationStatus.DECLINED: "afslag"}


@dataclass(frozen=True)
class CaseFileEntry:
    path: str
    role: str  # inbound_mail | reply | form | annex | summary
    direction: str  # in | out | internal
    date: str  # ISO 8601, UTC
    size: int
    sha256: str


def round_name(settings: Settings, application: Application) -> str:
    """The round the application arrived in (stored before rounds existed: the first)."""
    return application.round or settings.call_rounds[0].name


def decision_of(application: Application) -> dict[str, Any]:
    """The round's approved decision on the application (award or decline, with its grounds), else where staff's
    work stands: selected, rejected or none yet."""
    letters = [x for x in application.decision_letters
               if x.decision.state in (DecisionState.APPROVED, DecisionState.SENT)]
    if letters:
        letter = letters[-1]
        return {"outcome": str(letter.kind), "grounds": letter.grounds.get("grounds", []),
                "approved_by": letter.decision.reviewed_by,
                "approved_at": letter.decision.reviewed_at.isoformat() if letter.decision.reviewed_at else None,
                "letter_sent": letter.reply_id is not None}
    outcome = "rejected" if application.rejected_reason else "selected" if application.selected else "none"
    return {"outcome": outcome}


def build_case_file(application: Application, archive: Archive, sender: str, round_name: str,
                    zone: ZoneInfo = DANISH_TIME) -> bytes:
    """The zip for ``application`` (loaded with its messages, replies, attachments, versions, corrections)."""
    files: dict[str, bytes] = {}
    entries: list[CaseFileEntry] = []

    def add(path: str, data: bytes, role: str, direction: str, when: datetime) -> None:
        while path in files:  # the same name twice (two versions' forms): number the later one
            stem, dot, suffix = path.rpartition(".")
            path = f"{stem}-2.{suffix}" if dot else f"{path}-2"
        files[path] = data
        entries.append(CaseFileEntry(path, role, direction, when.isoformat(), len(data),
                                     hashlib.sha256(data).hexdigest()))

    number = 0
    for message, replies in message_threads(application):
        number += 1
        stamp = message.received_at.astimezone(zone).strftime("%Y-%m-%d_%H%M")
        if message.raw_sha256:
            add(f"mail/{number:02d}-ind-{stamp}.eml", archive.get("messages", message.raw_sha256),
                "inbound_mail", "in", message.received_at)
        for attachment in message.attachments:
            if not attachment.sha256 or attachment.application_id != application.id:
                continue
            folder, role = ("form", "form") if attachment.role == "form" else ("annexes", "annex")
            add(f"{folder}/{number:02d}-{safe_filename(attachment.filename)}", archive.get("files", attachment.sha256),
                role, "in", message.received_at)
        for reply in replies:
            number += 1
            sent = reply.sent_at or reply.created_at
            add(f"mail/{number:02d}-ud-{sent.astimezone(zone):%Y-%m-%d_%H%M}-{reply.kind}.eml",
                build_email(reply, sender).as_bytes(policy=SMTP),
                "decision" if reply.kind == ReplyKind.DECISION else "reply", "out", sent)
    add("summary.pdf", summary_pdf(application, zone, round_name), "summary", "internal", application.updated_at)
    fields = {v.key: v.value for v in application.current_submission.values} if application.current_submission \
        else {}
    metadata = {
        "reference": application.reference,
        "round": round_name,
        "municipality": application.municipality,
        "municipality_code": application.municipality_code,
        "cvr": fields.get("cvr"),
        "received_at": application.received_at.isoformat(),  # the mail server's receipt time (INTERNALDATE)
        "late": application.late,
        "status": str(application.queue_status),
        "decision": decision_of(application),
        "files": [asdict(entry) for entry in entries],
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path, data in files.items():
            bundle.writestr(path, data)
        bundle.writestr("metadata.json", json.dumps(metadata, ensure_ascii=False, indent=2))
    return out.getvalue()


class _Summary(FPDF):
    def __init__(self, reference: str) -> None:
        super().__init__(format="A4")
        self.reference = reference
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(18, 15, 18)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 5, _latin(f"{self.reference} · side {self.page_no()}"), align="C")

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font("Helvetica", style="B", size=12)
        self.multi_cell(0, 7, _latin(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", size=10)

    def line_of(self, text: str, label: str = "") -> None:
        self.set_x(self.l_margin)
        if label:
            self.set_font("Helvetica", style="B", size=10)
            self.multi_cell(0, 5, _latin(label), new_x="LMARGIN", new_y="NEXT")
            self.set_font("Helvetica", size=10)
        self.multi_cell(0, 5, _latin(text or "–"), new_x="LMARGIN", new_y="NEXT")


    def letter(self, body: str) -> None:
        """A letter as it reads: each of its lines on a line of its own (paragraphs wrap), blank lines kept."""
        self.set_x(self.l_margin)
        for line in body.rstrip("\n").split("\n"):
            if line.strip():
                self.multi_cell(0, 5, _latin(line), new_x="LMARGIN", new_y="NEXT")
            else:
                self.ln(3)


def _latin(text: str) -> str:
    """Helvetica speaks Latin-1 (æ, ø, å, », « included): other characters are written as the nearest."""
    replaced = text.replace("–", "-").replace("—", "-").replace("“", '"').replace("”", '"').replace("’", "'")
    replaced = replaced.replace("…", "...").replace("·", "-").replace("→", "->")
    return replaced.encode("latin-1", "replace").decode("latin-1")


def summary_pdf(application: Application, zone: ZoneInfo, round_name: str) -> bytes:
    pdf = _Summary(application.reference)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=15)
    title = f"Sagsresumé {application.reference}: {application.municipality or 'ukendt kommune'}"
    pdf.multi_cell(0, 8, _latin(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.line_of(f"Ansøgningsrunde: {round_name}")
    pdf.line_of(f"Modtaget (serverens tid): {short_time_text(application.received_at, zone)}"
                f"{' - efter fristen' if application.late else ''}")
    pdf.line_of(f"Status: {STATUS_NAMES.get(application.queue_status, application.queue_status)}")
    decided = decision_of(application)
    decision = {"award": f"tilsagn, godkendt af {decided.get('approved_by')}",
                "decline": f"afslag, godkendt af {decided.get('approved_by')}",
                "rejected": f"afvist af Socialstyrelsen: {application.rejected_reason}",
                "selected": f"udvalgt ({application.selected_by}, "
                            f"{short_time_text(application.selected_at, zone) if application.selected_at else ''})",
                "none": "ingen afgørelse endnu"}[decided["outcome"]]
    pdf.line_of(f"Afgørelse: {decision}")
    letters = [x for x in application.decision_letters if x.decision.state in (DecisionState.APPROVED,
                                                                               DecisionState.SENT)]
    if letters:
        state = letters[-1].state
        pdf.heading("Afgørelsesbrevet" + ("" if state == LetterState.SENT else f" ({danish.LETTER_STATES[state]})"))
        pdf.line_of(letters[-1].subject)
        pdf.letter(letters[-1].body)
    current = application.current_submission
    pdf.heading("Oplysninger fra ansøgningsskemaet" + (f" (version {current.version})" if current else ""))
    values = {v.key: v.value for v in current.values} if current else {}
    corrected = {c.key: c for c in application.corrections}
    for spec in FIELDS:
        correction = corrected.get(spec.key)
        value = correction.value if correction is not None else values.get(spec.key)
        note = f" (rettet af {correction.author}, {short_time_text(correction.created_at, zone)})" if correction else ""
        pdf.line_of(value_text(value) + note, spec.label)
    pdf.heading("Forhold, der skal afklares")
    problems = [p.problem() for p in current.problems] if current else []
    if not problems:
        pdf.line_of("Ingen.")
    for problem in problems:
        pdf.line_of(problem_text(problem), FIELDS_BY_KEY[problem.field].label if problem.field in FIELDS_BY_KEY
                    else problem.field)
    pdf.heading("Versioner af skemaet")
    for version in application.submissions:
        pdf.line_of(f"Version {version.version} fra {version.sender or '-'}, "
                    f"{short_time_text(version.created_at, zone)}: "
                    f"{'komplet' if version.complete else f'{len(version.problems)} forhold'}"
                    f"{' - modtaget efter fristen' if version.after_deadline else ''}"
                    f"{' - læst igen' if version.reprocessed else ''}")
    pdf.heading("Rettelser foretaget af Socialstyrelsen")
    if not application.corrections:
        pdf.line_of("Ingen.")
    for correction in application.corrections:
        label = FIELDS_BY_KEY[correction.key].label if correction.key in FIELDS_BY_KEY else correction.key
        pdf.line_of(f"{correction.author}, {short_time_text(correction.created_at, zone)}: "
                    f"{value_text(correction.original) or '(tomt)'} -> {value_text(correction.value) or '(tomt)'}"
                    f"{' - ' + correction.reason if correction.reason else ''}", label)
    pdf.heading("Korrespondance")
    for message, replies in message_threads(application):
        pdf.line_of(f"Ind {short_time_text(message.received_at, zone)} fra {message.sender}: {message.subject} "
                    f"({reason_text(message.reason, zone=zone)})")
        for reply in replies:
            pdf.line_of(f"Ud {short_time_text(reply.sent_at or reply.created_at, zone)} til {reply.to_addr}: "
                        f"{reply.subject} ({danish.REPLY_KINDS.get(reply.kind, reply.kind).lower()}, "
                        f"{danish.REPLY_STATUS.get(reply.status, reply.status)})")
    pdf.heading("Noter")
    if not application.notes:
        pdf.line_of("Ingen.")
    for staff_note in application.notes:
        pdf.line_of(staff_note.text, f"{staff_note.author}, {short_time_text(staff_note.created_at, zone)}")
    return bytes(pdf.output())
