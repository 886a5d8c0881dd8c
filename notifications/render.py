"""Render reply texts from Jinja2 templates: first line is the subject, the rest is the body."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATE_ROOT = Path(__file__).with_name("templates")

# reply kind (the contract's) for each template
TEMPLATE_KIND = {
    "acknowledgement": "acknowledgement",
    "clarification": "clarification",
    "size_rejection": "size_rejection",
    "no_form": "rejection",
    "unreadable": "rejection",
    "round_closed": "rejection",
    "receipt": "receipt",
}


@dataclass(frozen=True)
class RenderedReply:
    kind: str
    subject: str
    body: str


@cache
def _environment(language: str) -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATE_ROOT / language),
        undefined=StrictUndefined,
        autoescape=False,  # plain text; values are cleaned of control characters before they get here
        trim_blocks=True,
        keep_trailing_newline=True,
    )


def render_reply(template: str, context: dict[str, Any], language: str = "da") -> RenderedReply:
    text = _environment(language).get_template(f"{template}.txt.j2").render(**context)
    subject, _, body = text.partition("\n")
    return RenderedReply(TEMPLATE_KIND[template], subject.strip(), body.lstrip("\n"))
