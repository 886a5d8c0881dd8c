"""Sample applications as real emails, and the embedded demo: a Maildir seeded with them, polled once.

The same builders make the integration tests' mail, so the demo shows exactly what the tests prove.
"""

from __future__ import annotations

import mailbox as stdlib_mailbox
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal

from parsers.blank_form import FillMode, FormValue, fill_form

DOCX_TYPE = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
INTAKE_ADDRESS = "uip-imp2@socialstyrelsen.dk"
# the guidance on appeal the demo's letters carry (call.appeal_text); the Board sets its own in production
DEMO_APPEAL_TEXT: dict[Literal["da", "en"], str] = {
    "da": "Socialstyrelsens afgørelse kan ikke indbringes for anden administrativ myndighed.",
    "en": "The Board's decision cannot be appealed to another administrative authority."}


def complete_values(**overrides: FormValue) -> dict[str, FormValue]:
    """A complete, valid application as a municipality would fill it in."""
    values: dict[str, FormValue] = {
        "municipality": "Aarhus Kommune",
        "department": "Sociale Forhold og Beskæftigelse",
        "address": "Rådhuspladsen 2",
        "postal_code_city": "8000 Aarhus C",
        "cvr": "55133018",
        "contact_name": "Mette Jensen",
        "contact_title": "Specialkonsulent",
        "contact_email": "mette.jensen@aarhus.dk",
        "contact_phone": "+45 41 87 20 00",
        "joint_application": False,
        "target_group_size": "1.250",
        "population": "352.751",
        "target_group_description": "Borgere med psykiske vanskeligheder i bostøtten (§ 85).",
        "already_implemented": False,
        "service_unit": "Bostøtten Syd",
        "leader": "Lars Holm, afdelingsleder",
        "project_manager": "Sara Berg, sara.berg@aarhus.dk",
        "implementation_team": "Anne Ravn, Peter Lund; Ida Krogh",
        "meeting_leaders_count": "6",
        "intro_course_count": "24",
        "startup_meeting": True,
        "motivation": "Vi ønsker at styrke netværksinddragelsen.\nMetoden passer til vores bostøtte.",
        "director_approved": True,
        "director_name": "Kirsten Bach",
        "director_title": "Direktør for Sociale Forhold og Beskæftigelse",
        "approval_date": date(2019, 9, 2),
    }
    values.update(overrides)
    return values


def application_email(
    values: Mapping[str, FormValue] | None = None,
    *,
    sender: str = "Mette Jensen <mette.jensen@aarhus.dk>",
    subject: str = "Ansøgning om implementeringsstøtte til Åben Dialog",
    message_id: str | None = None,
    sent: datetime | None = None,
    mode: FillMode = "controls",
    form_filename: str = "Ansøgningsskema Åben Dialog.docx",
    annexes: Mapping[str, bytes] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    body: str = "Hermed vores ansøgning med bilag.\n\nVenlig hilsen\n",
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = INTAKE_ADDRESS
    message["Subject"] = subject
    message["Date"] = format_datetime(sent or datetime(2019, 9, 2, 10, 0, tzinfo=UTC))
    message["Message-ID"] = message_id or f"<{os.urandom(8).hex()}@demo.kommune.dk>"
    for name, value in (extra_headers or {}).items():
        message[name] = value
    message.set_content(body)
    if values is not None:
        data = fill_form(values, mode=mode)
        message.add_attachment(data, maintype=DOCX_TYPE[0], subtype=DOCX_TYPE[1], filename=form_filename)
    for name, data in (annexes or {}).items():
        maintype, subtype = ("application", "pdf") if name.endswith(".pdf") else ("application", "octet-stream")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def to_bytes(message: EmailMessage) -> bytes:
    """CRLF line ends, as on the wire: the size the IMAP server reports is this length."""
    return message.as_bytes(policy=SMTP)


def sized_email(total_bytes: int, **kwargs: Any) -> bytes:
    """An application email of exactly ``total_bytes`` bytes (annex padding plus an epilogue)."""
    annex = max(int(total_bytes * 0.72) - 60_000, 0)  # base64 with line ends grows by ~1.37
    kwargs.setdefault("annexes", {"bilag-stort.pdf": b"%PDF-1.4\n" + os.urandom(annex)})
    raw = to_bytes(application_email(complete_values(), **kwargs))
    remaining = total_bytes - len(raw)
    if remaining < 2:
        raise ValueError(f"cannot build a {total_bytes}-byte message (base is {len(raw)})")
    pad = b""
    while remaining > 0:
        line = min(remaining - 2, 900) if remaining - 2 != 1 else 0  # never leave a 1-byte remainder
        line = max(line, 0)
        pad += b"x" * line + b"\r\n"
        remaining -= line + 2
    assert remaining == 0, remaining
    return raw + pad


def sample_mail() -> list[tuple[str, bytes, datetime]]:
    """The demo mailbox: (what it shows, raw message, delivery time)."""
    sent = datetime(2019, 9, 2, 8, 15, tzinfo=UTC)
    complete = application_email(complete_values(), message_id="<demo-aarhus@aarhus.dk>", sent=sent,
                                 annexes={"Budget.pdf": b"%PDF-1.4\n% budget\n"})
    incomplete = application_email(
        complete_values(municipality="Odense Kommune", contact_email="lone@odense.dk", population=None,
                        director_approved=None, approval_date=None, cvr="29189986"),
        sender="Lone Friis <lone@odense.dk>", message_id="<demo-odense@odense.dk>", mode="typed")
    joint = application_email(
        complete_values(municipality="Vejle Kommune", contact_email="jan@vejle.dk", joint_application=True,
                        target_group_size="ca. 400", population="59 000", already_implemented=True,
                        partners=[{"municipality": "Fredericia", "target_group_size": "150",
                                   "population": "51.000"}], cvr="29189854"),
        sender="Jan Vad <jan@vejle.dk>", message_id="<demo-vejle@vejle.dk>")
    late = application_email(complete_values(municipality="Viborg Kommune", contact_email="bo@viborg.dk",
                                             approval_date=date(2019, 9, 9), cvr="29189927"),
                             sender="Bo Dahl <bo@viborg.dk>", message_id="<demo-viborg@viborg.dk>")
    question = application_email(None, sender="Karen Hald <karen@esbjerg.dk>", message_id="<demo-q@esbjerg.dk>",
                                 subject="Spørgsmål om målgruppen",
                                 body="Hej\n\nVi overvejer at søge. Må vi regne borgere på venteliste til bostøtte med "
                                      "i målgruppen (punkt 4.1)?\n\nVenlig hilsen\nKaren Hald\nEsbjerg Kommune\n")
    out_of_office = application_email(None, sender="Per Holm <per@aalborg.dk>", subject="Fraværende: Åben Dialog",
                                      message_id="<demo-ooo@aalborg.dk>",
                                      extra_headers={"Auto-Submitted": "auto-replied"})
    oversized = sized_email(10 * 1024 * 1024 + 1, sender="Sofie Lind <sofie@horsens.dk>",
                            message_id="<demo-big@horsens.dk>")
    herning = application_email(
        complete_values(municipality="Herning Kommune", contact_email="eva@herning.dk", target_group_size="300",
                        population="90.000", cvr=None), sender="Eva Krog <eva@herning.dk>",
        message_id="<demo-herning@herning.dk>", mode="typed")
    holbaek = application_email(
        complete_values(municipality="Holbæk Kommune", contact_email="ole@holb.dk", target_group_size="240",
                        population="72.000", cvr=None), sender="Ole Ries <ole@holb.dk>",
        message_id="<demo-holbaek@holb.dk>", mode="typed")
    svendborg = application_email(
        complete_values(municipality="Svendborg Kommune", contact_email="ib@svendborg.dk", director_approved=False,
                        target_group_size="500", population="58.000", cvr=None),
        sender="Ib Nør <ib@svendborg.dk>", message_id="<demo-svendborg@svendborg.dk>")
    dk = datetime.fromisoformat
    return [
        ("complete application with an annex", to_bytes(complete), dk("2019-09-02T08:15:00+00:00")),
        ("incomplete application, typed over the form", to_bytes(incomplete), dk("2019-09-03T09:30:00+00:00")),
        ("joint application", to_bytes(joint), dk("2019-09-04T13:05:00+00:00")),
        ("a question with no form", to_bytes(question), dk("2019-09-05T07:45:00+00:00")),
        ("an out-of-office auto-reply", to_bytes(out_of_office), dk("2019-09-05T07:46:00+00:00")),
        ("an email over 10 MB", oversized, dk("2019-09-06T11:00:00+00:00")),
        ("the complete application delivered twice", to_bytes(complete), dk("2019-09-06T11:20:00+00:00")),
        ("an application typed over the form", to_bytes(herning), dk("2019-09-06T14:00:00+00:00")),
        ("another typed application, its target-group share tied with the last",
         to_bytes(holbaek), dk("2019-09-07T09:10:00+00:00")),
        ("one not approved by the director", to_bytes(svendborg), dk("2019-09-08T12:40:00+00:00")),
        ("an application after the deadline", to_bytes(late), dk("2019-09-09T10:30:00+00:00")),
    ]


def sample_answers() -> list[tuple[str, bytes, datetime]]:
    """The municipalities' answers to the demo's two clarification requests, delivered after the first poll:
    Odense cannot complete its form in time, Svendborg's director does not approve."""
    def answer(sender: str, reference: str, text: str, message_id: str) -> bytes:
        message = EmailMessage()
        message["From"], message["To"] = sender, INTAKE_ADDRESS
        message["Subject"] = f"SV: [{reference}] Manglende oplysninger i ansøgning om implementeringsstøtte"
        message["Date"] = format_datetime(datetime(2019, 9, 10, 9, 0, tzinfo=UTC))
        message["Message-ID"] = message_id
        message.set_content(text)
        return to_bytes(message)

    dk = datetime.fromisoformat
    return [
        ("Odense answers: the form cannot be completed in time",
         answer("Lone Friis <lone@odense.dk>", "AD-2019-0002", "Tak for jeres henvendelse. Vi kan desværre ikke nå "
                "at få direktørens godkendelse og befolkningstallet på plads.\n\nVenlig hilsen\nLone Friis\n",
                "<demo-odense-svar@odense.dk>"), dk("2019-09-10T07:00:00+00:00")),
        ("Svendborg answers: the director does not approve",
         answer("Ib Nør <ib@svendborg.dk>", "AD-2019-0006", "Direktøren har valgt ikke at godkende ansøgningen i år. "
                "Vi søger gerne i en senere runde.\n\nVenlig hilsen\nIb Nør\n", "<demo-svendborg-svar@svendborg.dk>"),
         dk("2019-09-10T08:30:00+00:00")),
    ]


def seed_maildir(path: Path, mail: list[tuple[str, bytes, datetime]] | None = None) -> list[str]:
    """Deliver the sample mail (or ``mail``) into the Maildir at ``path``; returns what each message shows."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    box = stdlib_mailbox.Maildir(path, create=True)
    shown = []
    for what, raw, delivered in sample_mail() if mail is None else mail:
        key = box.add(raw)
        file = Path(path) / box._lookup(key)  # type: ignore[attr-defined]  # the file's path in the Maildir
        os.utime(file, (delivered.timestamp(), delivered.timestamp()))
        shown.append(what)
    return shown
