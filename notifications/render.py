"""Render reply texts from Jinja2 templates: first line is the subject, the rest is the body."""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from storage.states import ReplyKind

TEMPLATE_ROOT = Path(__file__).with_name("templates")

# reply kind (the contract's) for each template
TEMPLATE_KIND = {
    "acknowledgement": ReplyKind.ACKNOWLEDGEMENT,
    "clarification": ReplyKind.CLARIFICATION,
    "size_rejection": ReplyKind.SIZE_REJECTION,
    "no_form": ReplyKind.REJECTION,
    "unreadable": ReplyKind.REJECTION,
    "round_closed": ReplyKind.REJECTION,
    "quarantined": ReplyKind.REJECTION,
    "receipt": ReplyKind.RECEIPT,
}


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
    return Environment(
        loader=FileSystemLoader([*folders, TEMPLATE_ROOT / language]),
        undefined=StrictUndefined,
        autoescape=False,  # plain text; values are cleaned of control characters before they get here
        trim_blocks=True,
        keep_trailing_newline=True,
    )


def render_reply(template: str, context: dict[str, Any], language: str = "da",
                 override_dir: str = "") -> RenderedReply:
    text = _environment(language, override_dir).get_template(f"{template}.txt.j2").render(**context)
    subject, _, body = text.partition("\n")
    return RenderedReply(TEMPLATE_KIND[template], subject.strip(), body.lstrip("\n"), language)


def text_to_html(body: str, language: str = "da") -> str:
    """The same reply as an HTML alternative: every character escaped, paragraphs and line breaks kept."""
    paragraphs = [p for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    rendered = "\n".join(
        "<p style=\"white-space: pre-wrap\">" + "<br>\n".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs)
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(language)}"><head><meta charset="utf-8"></head>\n'
            f'<body style="font-family: sans-serif">\n{rendered}\n</body></html>\n')
