"""Match the text a person sees against the form's labels, surviving edits.

Labels are normalised (Unicode NFKC, case, item number, "(Ja / Nej)", punctuation, spacing), then matched
exactly, then fuzzily (a close match that no other label comes near), so "1.1 Ansøgende kommune (navn)",
"Ansøgende kommune" and "2.3 Kontaktperson e-mail" all find their field, and a value never does.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import cache, lru_cache

from parsers.form_fields import FIELDS, PARTNER_COLUMNS, SECTIONS, FieldSpec

FUZZY_CUTOFF = 0.86  # similarity of normalised labels; a clear winner is also required
FUZZY_MARGIN = 0.06
_NUMBERED = re.compile(r"^\s*(pkt\.?\s*)?\d+(\.\d+)+\.?\s")


_ITEM_NUMBER = re.compile(r"^\s*(pkt\.?\s*)?\d+(\.\d+)*\.?\s*")
_YES_NO = re.compile(r"\(\s*ja\s*/\s*nej\s*\)")
_NOT_A_WORD = re.compile(r"[^\wæøå]+")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=8192)  # a form's labels and cells come again in every form: normalised once per worker
def normalise_label(text: str) -> str:
    """NFKC, case-folded, item number, '(Ja / Nej)', punctuation and extra spaces removed."""
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    text = _ITEM_NUMBER.sub("", text)
    text = _YES_NO.sub(" ", text)
    text = _NOT_A_WORD.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


@cache
def _label_index() -> dict[str, FieldSpec]:
    index: dict[str, FieldSpec] = {}
    for spec in FIELDS:
        index[normalise_label(spec.label)] = spec
        # the label without its parenthesised explanation: "4.1 Antal borgere i målgruppen"
        short = normalise_label(re.sub(r"\(.*?\)", "", spec.label))
        index.setdefault(short, spec)
    return index


@cache
def _longest_label() -> int:
    return max(len(key) for key in _label_index())


def exact_label(text: str) -> FieldSpec | None:
    """The field whose label ``text`` is, after normalisation only."""
    return _label_index().get(normalise_label(text))


@lru_cache(maxsize=8192)
def match_label(text: str) -> FieldSpec | None:
    """The field whose label ``text`` is: exactly after normalisation, or by a close and unambiguous match."""
    key = normalise_label(text)
    if not key:
        return None
    index = _label_index()
    if key in index:
        return index[key]
    if len(key) < 8 or len(key) > _longest_label() + 20:
        return None
    scored = sorted(((difflib.SequenceMatcher(None, key, known, autojunk=False).ratio(), known)
                     for known in difflib.get_close_matches(key, index, n=3, cutoff=FUZZY_CUTOFF - 0.1)),
                    reverse=True)
    if not scored or scored[0][0] < FUZZY_CUTOFF:
        return None
    best = index[scored[0][1]]
    rivals = [index[k] for score, k in scored[1:] if score > scored[0][0] - FUZZY_MARGIN and index[k] is not best]
    return None if rivals else best


def split_label_value(text: str) -> tuple[FieldSpec, str] | None:
    """'3.2 Hvis ja: samarbejdskommuner: Odder' → (partners spec, 'Odder'); tries every ':' and '?'.

    A numbered label followed by its value without punctuation ("1.3 Adresse Rådhuspladsen 2") is found
    too, by the longest run of leading words that is exactly a label.
    """
    cuts = [(m.end() if m.group(0) == "?" else m.start(), m.end()) for m in re.finditer(r"[:?]", text)]
    index = _label_index()
    exact = [(spec, rest) for end, rest in cuts if (spec := index.get(normalise_label(text[:end]))) is not None]
    if exact:  # the longest exact label wins: "3.1 … kommuner? (Ja / Nej): Nej"
        spec, rest = exact[-1]
        return spec, text[rest:].strip()
    for end, rest in cuts:
        spec = match_label(text[:end])
        if spec is not None:
            return spec, text[rest:].strip()
    if _NUMBERED.match(text):
        words = text.split(" ")
        for n in range(min(len(words) - 1, 30), 1, -1):
            spec = _label_index().get(normalise_label(" ".join(words[:n])))
            if spec is not None:
                return spec, " ".join(words[n:]).strip()
    return None


_HEADING = re.compile(r"^\s*(?:afsnit|del|punkt|pkt\.?)?\s*(\d{1,2})\s*[.):\-–]?\s+(\S.{0,100})$", re.I)


def heading_number(text: str) -> int | None:
    """The section number a heading-like paragraph begins with ('5. Kommunens erfaring …' → 5), if it is one
    of the form's sections; None otherwise."""
    found = _HEADING.match(text)
    if found is None:
        return None
    number = int(found[1])
    return number if any(section.number == number for section in SECTIONS) else None


def is_section_heading(text: str) -> bool:
    """A section title of the form ('4. Målgruppe'), which ends the value of the field before it: also when
    retyped with more words or another number style ('Afsnit 5 – Erfaring med Åben Dialog i kommunen',
    '6) Implementering:'), as long as its number is the section's and its words begin like the title."""
    key = normalise_label(text)
    if any(key == normalise_label(section.title) for section in SECTIONS):
        return True
    found = _HEADING.match(text)
    if found is None:
        return False
    words = normalise_label(found[2])
    for section in SECTIONS:
        title = normalise_label(section.title)
        if int(found[1]) == section.number and (
                words.startswith(title)
                or difflib.SequenceMatcher(None, words[:len(title) + 4], title, autojunk=False).ratio() >= 0.8):
            return True
    return False


@cache
def _partner_titles() -> tuple[str, ...]:
    return tuple(normalise_label(t) for _, t in PARTNER_COLUMNS)


def is_partner_header(cells: list[str]) -> bool:
    found = [normalise_label(c) for c in cells]
    return all(any(f.startswith(t) for f in found) for t in _partner_titles())
