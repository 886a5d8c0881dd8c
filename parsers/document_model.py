"""One intermediate structure for every form file: controls, table rows and paragraphs in reading order.

Readers (docx today; converted .doc and PDF slot in the same way) fill a :class:`FormDocument`;
:mod:`parsers.form_record` matches labels against it once, whatever the file was.
Checkbox states are rendered into text as the glyphs ☒ (checked) and ☐ (empty).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CHECKED = "☒"
UNCHECKED = "☐"

ControlKind = Literal["text", "date", "checkbox", "dropdown"]


@dataclass(frozen=True)
class Control:
    """A content control (or, later, a legacy form field) with a tag."""

    tag: str
    alias: str
    kind: ControlKind
    text: str
    location: str
    checked: bool | None = None
    full_date: str | None = None
    placeholder: bool = False
    row: int | None = None  # index into FormDocument.rows of the row holding it, if any


@dataclass(frozen=True)
class Cell:
    text: str


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]
    table: int
    index: int

    @property
    def location(self) -> str:
        return f"tabel {self.table + 1}, række {self.index + 1}"


@dataclass
class FormDocument:
    reader: str
    controls: list[Control] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    # indexes into ``paragraphs`` of those that look like headings: a heading style or outline level, or bold
    headings: set[int] = field(default_factory=set)
