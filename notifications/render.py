"""Render reply texts from Jinja2 templates: first line is the subject, the rest is the body.

Replies read as written letters: within a paragraph the template's line breaks are soft (the lines flow
into one, and mail programs wrap them to the reader's window); a line ending in a backslash keeps its break
(the signature); indented lines and list items ("-", "*", "•") stay on their own lines. Values are
worded in the reply's language by the ``notifications.locale`` filters: ``number``, ``yes_no``, ``date``,
``size``, ``problem``, ``refusal``, ``quarantine_why``, ``ground`` (a decision's ground).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from notifications.locale import (
    DANISH_TIME,
    Language,
    date_text,
    ground_text,
    number_text,
    problem_text,
    quarantine_why,
    refusal_text,
    size_text,
    yes_no_text,
)
from storage.states import ReplyKind

TEMPLATE_ROOT = Path(__file__).with_name("templates")

# reply kind (the contract's) for each template
TEMPLATE_KIND = {
    "acknowledgement": ReplyKind.ACKNOWLEDGEMENT,
    "clarification": ReplyKind.CLARIFICATION,
    "clarification_reminder": ReplyKind.CLARIFICATION,
    "size_rejection": ReplyKind.SIZE_REJECTION,
    "no_form": ReplyKind.REJECTION,
    "unreadable": ReplyKind.REJECTION,
    "round_closed": ReplyKind.REJECTION,
    "quarantined": ReplyKind.REJECTION,
    "receipt": ReplyKind.RECEIPT,
    "decision_award": ReplyKind.DECISION,
    "decision_decline": ReplyKind.DECISION,
    "staff_reply": ReplyKind.STAFF_REPLY,
    "forward": ReplyKind.FORWARD,
}
# a caseworker's own text (and the email it quotes) keeps the line breaks it was written with
VERBATIM = frozenset({"staff_reply", "forward"})


@dataclass(frozen=True)
class RenderedReply:
    kind: str
    subject: str
    body: str
    language: str = "da"


@cache
def _environment(language: str, override_dir: str = "") -> Environment:
    """Templates of ``language``; an operator's folder (same file names, per language) is looked in first."""
    folders = [Path(override_dir) / language] if override_dir else []
    environment = Environment(
        loader=FileSystemLoader([*folders, TEMPLATE_ROOT / language]),
        undefined=StrictUndefined,
        autoescape=False,  # plain text; values are cleaned of control characters before they get here
        trim_blocks=True,
        keep_trailing_newline=True,
    )
    said: Language = "en" if language == "en" else "da"
    environment.filters.update({
        "number": lambda value: number_text(value, said),
        "yes_no": lambda value: yes_no_text(value, said),
        "date": lambda value: date_text(value, said),
        "size": lambda value: size_text(int(value), said),
        "problem": lambda problem: problem_text(problem, said),
        "refusal": lambda refusal: refusal_text(refusal, said, advice=False),
        "quarantine_why": lambda limit: quarantine_why(str(limit), said),
        "ground": partial(_ground, language=said),
    })
    return environment


def _ground(ground: dict[str, Any], zone: ZoneInfo = DANISH_TIME, *, language: Language = "da") -> str:
    return ground_text(ground, language, zone)


_KEPT_LINE = re.compile(r"^(\s|[-*•]\s)")  # not "1." : a line may begin with a date ("3. september")


def flow(text: str) -> str:
    """Join the soft line breaks of each paragraph (see the module's docstring)."""
    out: list[str] = []
    joinable = False  # may the next line continue the last one?
    for line in text.split("\n"):
        if not line.strip():
            out.append("")
            joinable = False
        elif joinable and not _KEPT_LINE.match(line):
            out[-1] = out[-1].rstrip() + " " + line.strip()
        else:
            out.append(line.rstrip())
            joinable = not _KEPT_LINE.match(line)
        if out[-1].endswith("\\"):
            out[-1], joinable = out[-1][:-1].rstrip(), False
    return "\n".join(out)


def render_reply(template: str, context: dict[str, Any], language: str = "da",
                 override_dir: str = "") -> RenderedReply:
    text = _environment(language, override_dir).get_template(f"{template}.txt.j2").render(**context)
    subject, _, body = text.partition("\n")
    body = body.lstrip("\n")
    return RenderedReply(TEMPLATE_KIND[template], subject.strip(), body if template in VERBATIM else flow(body),
                         language)


_FIELD_LINE = re.compile(r"^\s{2,}([^:*][^:]*?):\s+(\S.*)$")  # "  Antal indbyggere:      352.751"
_LIST_ITEM = re.compile(r"^\s*[*•-]\s+")


def _html_paragraph(paragraph: str) -> str:
    """One paragraph of a reply as HTML: the echoed fields as a table, a list as a list, else lines."""
    lines = paragraph.split("\n")
    if all(_FIELD_LINE.match(line) for line in lines):
        rows = "".join(f"<tr><th scope=\"row\" style=\"text-align: left; padding: 2px 12px 2px 0\">"
                       f"{html.escape(m[1])}</th><td>{html.escape(m[2])}</td></tr>"
                       for m in (_FIELD_LINE.match(line) for line in lines) if m)
        return f"<table style=\"border-collapse: collapse\">{rows}</table>"
    if _LIST_ITEM.match(lines[0]):
        items: list[list[str]] = []
        for line in lines:
            if _LIST_ITEM.match(line) or not items:
                items.append([_LIST_ITEM.sub("", line)])
            else:
                items[-1].append(line.strip())  # an item's continuation line
        shown = ("<li>" + "<br>".join(html.escape(x) for x in item) + "</li>" for item in items)
        return "<ul>" + "".join(shown) + "</ul>"
    return "<p>" + "<br>".join(html.escape(line) for line in lines) + "</p>"


def text_to_html(body: str, language: str = "da") -> str:
    """The same reply as an HTML alternative: every character escaped; paragraphs as paragraphs, the echoed
    fields as a table and lists as lists (no spaces to align columns, no doubled line breaks)."""
    paragraphs = [p.strip("\n") for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    rendered = "\n".join(_html_paragraph(p) for p in paragraphs)
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(language)}"><head><meta charset="utf-8"></head>\n'
            f'<body style="font-family: sans-serif">\n{rendered}\n</body></html>\n')
