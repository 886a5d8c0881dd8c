"""What every page shares: the templates with their Danish filters, and the app's settings and database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi import Path as PathParam
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import RedirectResponse, Response

from config import Settings
from config.rounds import Round, by_name, current_round
from notifications.locale import (
    danish,
    ground_label,
    percent_text,
    problem_text,
    reason_text,
    refusal_text,
    short_time_text,
    size_text,
)
from parsers.display_text import visible_text
from parsers.form_fields import FIELDS_BY_KEY
from storage import Archive, Database, InboundMessage
from storage.attention import attention_count
from storage.models import utcnow
from storage.reasons import Reason
from storage.states import MessageState
from web.application_record import display_value, source_text
from web.security import Staff


class _ShownUndefinedFails(StrictUndefined):
    """An optional value may be tested (``{% if flash %}``), but showing one that does not exist — a misspelt
    name, an attribute the object lacks — fails the page (and its test) instead of rendering a blank."""

    def __bool__(self) -> bool:  # type: ignore[override]  # StrictUndefined refuses; a test is allowed here
        return False


TEMPLATES = Jinja2Templates(env=Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                                            autoescape=True, undefined=_ShownUndefinedFails))

# the states' words are the locale's (notifications.locale.danish), keyed by the enums' values
STATUS_LABELS: dict[str, str] = danish.APPLICATION_STATES
REPLY_KINDS: dict[str, str] = danish.REPLY_KINDS  # the same words as the case file's
REPLY_STATUS: dict[str, str] = danish.REPLY_STATUS
OUTCOMES: dict[str, str] = danish.MESSAGE_STATES  # an inbound message's state as message_state() names it


# a row id in a path: within the database's integer range, else 404 (never a database error)
RowId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


def message_state(message: InboundMessage) -> str:
    """error (failed, tried again), parked (given up on), its outcome, or received (not processed yet)."""
    return state_key(message.state, message.outcome)


def state_key(state: str, outcome: str | None) -> str:
    if state in (MessageState.ERROR, MessageState.PARKED):
        return state
    return outcome or MessageState.RECEIVED

ACTIONS = {  # audit log actions as staff read them
    "login": "Logget ind", "login_failed": "Mislykket login", "login_refused_rate_limit": "Login afvist (for mange)",
    "logout": "Logget ud", "correct_field": "Rettede felt", "add_note": "Tilføjede note",
    "mark_reviewed": "Markerede gennemgået", "unmark_reviewed": "Fjernede »gennemgået«",
    "send_clarification": "Sendte anmodning om oplysninger", "release_reply": "Frigav tilbageholdt svar",
    "reject": "Afviste ansøgning", "reopen": "Genåbnede ansøgning", "select": "Udvalgte",
    "deselect": "Fjernede udvælgelse", "staff_add": "Oprettede medarbejder", "staff_disable": "Spærrede medarbejder",
    "staff_password": "Ny adgangskode", "retry_message": "Bad om ny behandling af e-mail",
    "download_message": "Hentede e-mail", "download_file": "Hentede fil",
    "download_case_file": "Hentede sagsmappe", "export": "Eksporterede",
    "propose_selection": "Indstillede udvælgelsen", "approve_selection": "Godkendte udvælgelsen",
    "return_selection": "Sendte indstillingen tilbage", "withdraw_selection": "Trak indstillingen tilbage",
    "edit_letter": "Rettede afgørelsesbrev", "approve_letter": "Godkendte rettet afgørelsesbrev",
    "send_letters": "Sendte afgørelsesbrevene", "admit_late": "Optog for sent modtaget ansøgning",
    "unadmit_late": "Fjernede optagelse af for sent modtaget ansøgning",
    "withdraw_clarification": "Trak anmodning om oplysninger tilbage", "send_reminder": "Sendte påmindelse",
    "new_version_after_proposal": "Ny version modtaget under afgørelsen",
    "reply_message": "Besvarede e-mail", "forward_message": "Videresendte e-mail",
    "link_message": "Knyttede e-mail til ansøgning", "handle_message": "Markerede e-mail som behandlet",
    "reopen_message": "Satte e-mail til behandling igen", "assign": "Tildelte sagsbehandler",
}

DETAIL_LABELS = {"field": "felt", "original": "læst fra skemaet", "value": "ny værdi", "reason": "begrundelse",
                 "status": "status", "to": "til", "text": "tekst", "reply": "svar", "email": "e-mail",
                 "message": "e-mail", "error": "fejl", "attempts": "forsøg", "file": "fil",
                 "rows": "rækker", "round": "runde", "decision": "afgørelse", "selected": "udvalgt",
                 "comment": "kommentar", "letter": "brev", "letters": "breve", "queued": "lagt i udbakken",
                 "awaits_approval": "venter på godkendelse", "ground": "begrundelse til kommunen",
                 "note": "intern note", "answer_by": "svarfrist",
                 "assigned_to": "tildelt"}


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def round_of(request: Request, name: str = "") -> Round:
    """The round a page shows: the one named (404 if unknown), else the round open now (or last opened)."""
    rounds = settings_of(request).call_rounds
    if not name:
        return current_round(rounds, utcnow())
    found = by_name(rounds, name)
    if found is None:
        raise HTTPException(404, f"Der er ingen ansøgningsrunde med navnet {name}.")
    return found


def db_of(request: Request) -> Database:
    return request.app.state.db


def archive_of(request: Request) -> Archive:
    return request.app.state.archive


def local_time(request: Request, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return short_time_text(moment, settings_of(request).call.zone)


DECISION_STATES = danish.DECISION_STATES
# What a page says after an action; the query carries only the code, never text (no spoofed messages)
FLASH = {
    "logged_out": "Du er logget ud.",
    "corrected": "Feltet er rettet. Den oprindelige værdi er gemt.",
    "note": "Noten er gemt.",
    "reviewed": "Ansøgningen er markeret som gennemgået.",
    "unreviewed": "Markeringen »gennemgået« er fjernet.",
    "clarification": "Anmodningen om oplysninger er lagt i udbakken og sendes ved næste kørsel.",
    "released": "Svaret er frigivet og sendes ved næste kørsel.",
    "retry": "E-mailen behandles igen ved postkassens næste kørsel.",
    "rejected": "Ansøgningen er markeret som afvist.",
    "reopened": "Afvisningen er fjernet.",
    "selected": "Ansøgningen er markeret som udvalgt.",
    "deselected": "Ansøgningen er ikke længere udvalgt.",
    "too_many": "Runden har ikke plads til flere udvalgte. Fjern en markering først.",
    "decision_locked": "Runden har en indstillet, godkendt eller afsendt afgørelse, så det, den bygger på, kan ikke "
                      "ændres nu. Den, der indstillede, kan trække indstillingen tilbage; en godkender kan sende den "
                      "tilbage.",
    "proposed": "Udvælgelsen er indstillet til godkendelse.",
    "proposal_size": "Indstillingen skal rumme det antal udvalgte, runden tillader.",
    "approved": "Udvælgelsen er godkendt og fastfrosset, og afgørelsesbrevene er godkendt, som de lyder. Læs dem "
                "igennem; en rettelse skal godkendes igen, før brevene sendes.",
    "returned": "Indstillingen er sendt tilbage med kommentaren.",
    "letter_saved": "Brevet er gemt.",
    "letters_sent": "Afgørelsesbrevene er lagt i udbakken og sendes ved næste kørsel.",
    "own_proposal": "Den, der har indstillet, kan ikke selv godkende (to personer skal se udvælgelsen).",
    "not_eligible": "Kun ansøgninger, der opfylder kriterierne, kan udvælges.",
    "withdrawn": "Indstillingen er trukket tilbage. Ret udvælgelsen, og indstil igen.",
    "not_own_proposal": "Kun den, der indstillede, kan trække indstillingen tilbage.",
    "selection_reason_needed": "Udvælgelsen følger ikke rangordenen (ansøgninger på samme plads er delt, eller en "
                               "lavere placeret er valgt frem for en højere). Skriv begrundelsen; den står i "
                               "brevene til de berørte kommuner.",
    "letter_awaits_approval": "Brevet er gemt. Det er ændret efter godkendelsen og skal godkendes igen af en "
                              "godkender, før brevene kan sendes.",
    "letter_approved": "Brevet er godkendt med den nye tekst.",
    "own_edit": "Den, der har rettet brevet, kan ikke selv godkende rettelsen.",
    "letters_unapproved": "Et eller flere breve er rettet efter godkendelsen og venter på en godkender.",
    "clarification_open": "En anmodning om oplysninger i runden venter stadig på svar. Vent på svaret, eller træk "
                          "anmodningen tilbage på ansøgningens side, før brevene sendes.",
    "late_admitted": "Ansøgningen er optaget i rangordenen trods fristen. Begrundelsen står i dens brev.",
    "late_unadmitted": "Ansøgningen er ikke længere optaget i rangordenen.",
    "not_late": "Ansøgningen er ikke kommet for sent.",
    "clarification_withdrawn": "Anmodningen om oplysninger er trukket tilbage; der ventes ikke længere på svar.",
    "nothing_to_clarify": "Der er intet at afklare: ansøgningen har ingen åbne forhold. Skriv selv, hvad I vil "
                          "spørge om.",
    "reminder": "Påmindelsen er lagt i udbakken og sendes ved næste kørsel.",
    "no_open_clarification": "Ansøgningen har ingen anmodning om oplysninger, der venter på svar.",
    "no_overdue_clarification": "Svarfristen er ikke overskredet; en påmindelse kan sendes, når den er.",
    "staff_reply": "Svaret er lagt i udbakken og sendes ved næste kørsel. E-mailen er markeret som besvaret.",
    "forwarded": "E-mailen er videresendt (lagt i udbakken) og markeret som behandlet.",
    "linked": "E-mailen er knyttet til ansøgningen og markeret som behandlet.",
    "handled": "E-mailen er markeret som behandlet.",
    "reopened_message": "E-mailen står igen under »Til behandling«.",
    "assigned": "Tildelingen er gemt.",
}


PAGE_SIZE = 50  # rows on one page of a list: the queue, the e-mails, the ranking


@dataclass(frozen=True)
class Pages:
    """Which slice of a list a page shows, and the links to the others (the page's other parameters kept, so
    two lists on one page each keep their place: ``param`` names this list's page number)."""

    number: int
    count: int
    total: int
    size: int
    param: str
    kept: dict[str, str]
    fragment: str = ""
    label: str = "Sider"

    @classmethod
    def of(cls, request: Request, total: int, page: int, param: str = "page", label: str = "Sider",
           fragment: str = "") -> Pages:
        size = PAGE_SIZE
        count = max(1, -(-total // size))
        kept = {k: v for k, v in request.query_params.items() if k not in (param, "flash")}
        return cls(min(max(page, 1), count), count, total, size, param, kept, fragment, label)

    def link(self, number: int, fragment: str | None = None) -> str:
        """The query (and fragment) of page ``number``; the list's own fragment unless another is given."""
        anchor = self.fragment if fragment is None else fragment
        return "?" + urlencode({**self.kept, self.param: number}) + (f"#{anchor}" if anchor else "")

    @property
    def links(self) -> dict[int, str]:
        return {n: self.link(n) for n in range(1, self.count + 1)}

    def slice(self, items: list[Any]) -> list[Any]:
        start = (self.number - 1) * self.size
        return items[start:start + self.size]


def page_holding(position: int) -> int:
    """The page number (from 1) that shows the item at ``position`` (from 0) of a list."""
    return position // PAGE_SIZE + 1


def render(request: Request, template: str, staff: Staff | None, status_code: int = 200,
           **context: Any) -> Response:
    flash = FLASH.get(request.query_params.get("flash", ""))
    base = request.scope.get("root_path", "")
    waiting = menu_count(request) if staff is not None else 0
    return TEMPLATES.TemplateResponse(request, template, {"staff": staff, "flash": flash, "base": base,
                                                          "waiting": waiting, **context}, status_code=status_code)


def menu_count(request: Request) -> int:
    """The number the menu shows beside "Til behandling" on every page (``storage.attention``)."""
    rounds = settings_of(request).call_rounds
    with db_of(request).session() as session:
        return attention_count(session, current_round(rounds, utcnow()).name, rounds[0].name)


def redirect(request: Request, path: str, flash: str = "", anchor: str = "") -> RedirectResponse:
    """303 to a page of this app (under the proxy's root path), with an optional flash message code."""
    target = f"{request.scope.get('root_path', '')}{path}"
    if flash:
        target += ("&" if "?" in target else "?") + urlencode({"flash": flash})
    return RedirectResponse(target + (f"#{anchor}" if anchor else ""), status_code=303)


def detail_text(detail: dict[str, Any]) -> str:
    """An audit entry's details as staff read them: each key by its Danish label, a field by its label on the
    form, a status and a yes/no in words."""
    def shown(key: str, value: Any) -> str:
        if key == "field" and isinstance(value, str):
            return FIELDS_BY_KEY[value].label if value in FIELDS_BY_KEY else value
        if key == "status" and isinstance(value, str):
            return STATUS_LABELS.get(value, REPLY_STATUS.get(value, value))
        if isinstance(value, bool):
            return "Ja" if value else "Nej"
        return display_value(value) or "–"

    return " · ".join(f"{DETAIL_LABELS.get(k, k)}: {shown(k, v)}" for k, v in detail.items())


def _filters() -> None:
    env = TEMPLATES.env
    env.filters["value"] = display_value
    env.filters["visible"] = visible_text  # names and subjects stored before bidi characters were removed
    env.filters["reason"] = lambda reason: reason_text(
        reason if isinstance(reason, Reason) or reason is None else Reason.stored(reason["code"], reason["params"]))
    env.filters["problem"] = problem_text
    env.filters["refusal"] = lambda refusal: refusal_text(refusal, advice=False) if refusal else ""
    env.globals["STATUS_LABELS"] = STATUS_LABELS
    env.globals["DECISION_STATES"] = DECISION_STATES
    env.globals["LETTER_STATES"] = danish.LETTER_STATES
    env.globals["FLASH_TEXT"] = FLASH
    env.filters["ground"] = ground_label
    env.globals["REPLY_KINDS"] = REPLY_KINDS
    env.globals["REPLY_STATUS"] = REPLY_STATUS
    env.globals["OUTCOMES"] = OUTCOMES
    env.globals["message_state"] = message_state
    env.globals["ACTIONS"] = ACTIONS
    env.globals["local_time"] = local_time
    env.filters["percent"] = lambda fraction, digits=2: percent_text(fraction, digits) + " %"
    env.filters["detail"] = detail_text
    env.filters["size"] = size_text
    env.filters["source"] = source_text
    env.globals["ATTENTION"] = danish.ATTENTION
    env.globals["HANDLED"] = danish.HANDLED


_filters()
