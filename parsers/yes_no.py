"""Ja/Nej answers as people mark them: checkbox glyphs, crosses, ticks, or the word typed.

A mark belongs to the word it stands next to: "☒ Ja ☐ Nej" (marks before their words) and "Ja ☒ Nej ☐" or
"Ja: X Nej:" (marks after) are both read. Both answers marked is a problem; none marked is no answer.
Never a guess.
"""

from __future__ import annotations

import re

from parsers.document_model import CHECKED, UNCHECKED
from parsers.problem_codes import ValueCode
from parsers.values import ValueProblem, parse_yes_no

CHECK_MARKS = frozenset(CHECKED + "☑✓✔✗✘⊠☓")
EMPTY_MARKS = frozenset(UNCHECKED + "□❑❒○")
_TOKENS = re.compile(
    rf"(?P<mark>[{''.join(CHECK_MARKS | EMPTY_MARKS)}]|\[\s*[xX]?\s*\]|\(\s*[xX]?\s*\)|(?<![\w@])[xX](?![\w@]))"
    r"|(?P<word>(?<!\w)(?:ja|nej)(?!\w))",
    re.IGNORECASE,
)


def is_checked_mark(text: str) -> bool | None:
    """A cell holding only a mark: True (☒, X, ✓ …), False (☐, empty), None (something else is written)."""
    text = text.strip()
    if not text or text in EMPTY_MARKS or re.fullmatch(r"\[\s*\]|\(\s*\)", text):
        return False
    if text in CHECK_MARKS or re.fullmatch(r"[xX]|\[\s*[xX]\s*\]|\(\s*[xX]\s*\)", text):
        return True
    return None


def yes_no_from_text(text: str) -> bool | None:
    """'☒ Ja ☐ Nej' → True; 'Ja ☐ Nej ☒' → False; typed 'Ja, det har vi' → True; nothing marked → None."""
    tokens = [(m.lastgroup, m.group(0)) for m in _TOKENS.finditer(text)]
    marks = [value for kind, value in tokens if kind == "mark"]
    if not marks:
        return parse_yes_no(text) if text.strip() else None
    first_mark = next(i for i, (kind, _) in enumerate(tokens) if kind == "mark")
    first_word = next((i for i, (kind, _) in enumerate(tokens) if kind == "word"), None)
    if first_word is None:
        raise ValueProblem(ValueCode.MARK_WITHOUT_YES_NO, text)
    marks_before_words = first_mark < first_word
    ticked: set[str] = set()
    for i, (kind, value) in enumerate(tokens):
        if kind != "mark" or not is_checked_mark(value):
            continue
        neighbours = tokens[i + 1:] if marks_before_words else reversed(tokens[:i])
        word = next((w for k, w in neighbours if k == "word"), None)
        if word is not None:
            ticked.add(word.lower())
    if ticked == {"ja", "nej"}:
        raise ValueProblem(ValueCode.BOTH_YES_AND_NO, text)
    return None if not ticked else ticked == {"ja"}
