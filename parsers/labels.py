"""Match the text a person sees against the form's labels, surviving small edits."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from parsers.form_fields import FIELDS, PARTNER_COLUMNS, FieldSpec


def normalise_label(text: str) -> str:
    """NFKC, case-folded, item number, '(Ja / Nej)', punctuation and extra spaces removed."""
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    text = re.sub(r"^\s*(pkt\.?\s*)?\d+(\.\d+)*\.?\s*", "", text)
    text = re.sub(r"\(\s*ja\s*/\s*nej\s*\)", " ", text)
    text = re.sub(r"[^\wæøå]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@cache
def _label_index() -> dict[str, FieldSpec]:
    index: dict[str, FieldSpec] = {}
    for spec in FIELDS:
        index[normalise_label(spec.label)] = spec
        # the label without its parenthesised explanation: "4.1 Antal borgere i målgruppen"
        short = normalise_label(re.sub(r"\(.*?\)", "", spec.label))
        index.setdefault(short, spec)
    return index


def match_label(text: str) -> FieldSpec | None:
    """The field whose label is ``text`` (exactly, after normalisation), or None."""
    key = normalise_label(text)
    return _label_index().get(key) if key else None


def split_label_value(text: str) -> tuple[FieldSpec, str] | None:
    """'3.2 Hvis ja: samarbejdskommuner: Odder' → (partners spec, 'Odder'); tries every colon."""
    for match in re.finditer(r":", text):
        spec = match_label(text[: match.start()])
        if spec is not None:
            return spec, text[match.end():].strip()
    return None


def is_partner_header(cells: list[str]) -> bool:
    titles = [normalise_label(t) for _, t in PARTNER_COLUMNS]
    found = [normalise_label(c) for c in cells]
    return all(any(f.startswith(t) for f in found) for t in titles)
