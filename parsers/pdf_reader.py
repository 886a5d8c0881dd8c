"""Read a PDF form into a :class:`FormDocument` with pdfplumber.

Three sources, as a PDF can carry them: fillable-form (AcroForm) field values, whose names or tooltips
say which field they are; ruled tables (a Word form exported or printed to PDF), read cell by cell
from word positions, with drawn checkboxes turned into ☒/☐; and the text lines outside tables, grouped
into paragraphs, where a line all in a bold or larger font is a heading of its own (as a bold or heading-styled
paragraph of a .docx). Small squares and their crossing lines are removed before tables are found, so a
checkbox never splits a row into extra columns.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdftypes import resolve1
from pdfminer.psparser import PSLiteral
from pdfminer.utils import decode_text

from parsers.document_model import CHECKED, UNCHECKED, Cell, Control, FormDocument, Row
from parsers.errors import UnreadableFile
from parsers.form_fields import FIELDS_BY_KEY, PARTNER_COLUMNS
from parsers.labels import match_label
from parsers.problem_codes import RefusalCause as Cause
from parsers.problem_codes import UnreadableCode as Code
from parsers.values import clean_text

MAX_PAGES = 40
MAX_FIELDS = 2000
_BOX_MIN, _BOX_MAX = 5.0, 16.0  # a drawn checkbox is a small square, in points
_PAGE_NUMBER = re.compile(r"^(side\s+)?\d+(\s*(af|/)\s*\d+)?$", re.IGNORECASE)
Box = tuple[float, float, float, float, bool]  # x0, top, x1, bottom, checked
_BOLD = re.compile(r"bold|black|heavy|demi", re.IGNORECASE)  # in a font's name: Arial-BoldMT, DejaVuSans-Bold …
_LARGER = 1.15  # a word this much larger than the page's usual size is set as a heading
Spot = tuple[float, float]  # where a word starts (x0, top), rounded: how an emphasised word is known again


def _emphasised(words: list[dict[str, Any]]) -> set[Spot]:
    """Where the words in a bold font, or in a font larger than the page's usual one, start."""
    sizes = sorted(float(w.get("size") or 0) for w in words)
    usual = sizes[len(sizes) // 2] if sizes else 0.0
    return {(round(w["x0"], 1), round(w["top"], 1)) for w in words
            if _BOLD.search(str(w.get("fontname", ""))) or (usual and float(w.get("size") or 0) > usual * _LARGER)}


def read_pdf(data: bytes, max_pages: int = MAX_PAGES) -> FormDocument:
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        pages = pdf.pages
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise UnreadableFile(Code.ENCRYPTED, Cause.PDF_PASSWORD) from exc
    except Exception as exc:  # pdfminer raises many unrelated types for damaged files
        raise UnreadableFile(Code.CORRUPT, Cause.PDF_DAMAGED) from exc
    with pdf:
        document = FormDocument(reader="pdf")
        try:
            document.controls.extend(_acroform_controls(pdf.doc.catalog))
            tables = 0
            for page in pages[:max_pages]:  # the form is a few pages; an annex may be hundreds
                tables = _read_page(page, document, tables)
        except Exception as exc:  # pdfminer fails in many ways on damaged content streams
            raise UnreadableFile(Code.CORRUPT, Cause.PDF_UNREADABLE) from exc
        return document


# --- fillable forms ---------------------------------------------------------------------------------------

def _text(value: Any) -> str:
    value = resolve1(value)
    if isinstance(value, PSLiteral):
        return str(value.name)
    if isinstance(value, bytes):
        return decode_text(value)
    return "" if value is None else str(value)


def _walk_fields(fields: Iterable[Any], parent: str = "", seen: set[int] | None = None) -> Iterable[dict[str, Any]]:
    seen = set() if seen is None else seen
    for reference in fields or []:
        node = resolve1(reference)
        if not isinstance(node, dict) or id(node) in seen or len(seen) > MAX_FIELDS:
            continue
        seen.add(id(node))
        part = _text(node.get("T"))
        name = f"{parent}.{part}" if parent and part else part or parent
        kids = resolve1(node.get("Kids"))
        if kids and any(isinstance(resolve1(k), dict) and "T" in resolve1(k) for k in kids):
            yield from _walk_fields(kids, name, seen)
        else:
            yield {"name": name, "tooltip": _text(node.get("TU")), "type": _text(node.get("FT")),
                   "value": _text(node.get("V"))}


def _acroform_controls(catalog: dict[str, Any]) -> list[Control]:
    form = resolve1(catalog.get("AcroForm"))
    if not isinstance(form, dict):
        return []
    controls = []
    for n, item in enumerate(_walk_fields(resolve1(form.get("Fields")))):
        control = _control(item, n)
        if control is not None:
            controls.append(control)
    return controls


def _control(item: dict[str, Any], n: int) -> Control | None:
    name, value, tooltip = item["name"], item["value"], item["tooltip"]
    location = f"PDF-formularfelt »{name}«"
    base, _, suffix = re.sub(r"[_\s]+(ja|nej)$", r".\1", name, flags=re.IGNORECASE).rpartition(".")
    if item["type"] == "Btn" and base and suffix.lower() in {"ja", "nej"}:
        key = base if base in FIELDS_BY_KEY else _key_by_label(tooltip)
        if key is None:
            return None
        checked = value not in ("", "Off")
        return Control(key, f"{FIELDS_BY_KEY[key].label} – {suffix.capitalize()}", "checkbox",
                       CHECKED if checked else UNCHECKED, location, checked=checked)
    if match := re.fullmatch(r"partners\.(\d+)\.(\w+)", name):
        column = match.group(2)
        if column in {k for k, _ in PARTNER_COLUMNS}:
            return Control(f"partners.{column}", column, "text", clean_text(value), location,
                           row=int(match.group(1)))
        return None
    key = name if name in FIELDS_BY_KEY else _key_by_label(tooltip) or _key_by_label(name)
    if key is None:
        return None
    text = "" if item["type"] == "Btn" and value == "Off" else clean_text(value)
    return Control(key, tooltip or name, "text", text, location)


def _key_by_label(text: str) -> str | None:
    spec = match_label(text) if text else None
    return spec.key if spec else None


# --- tables and text --------------------------------------------------------------------------------------

def _is_small_graphic(obj: dict[str, Any]) -> bool:
    if obj.get("object_type") not in {"rect", "line", "curve"}:
        return False
    return obj["x1"] - obj["x0"] <= _BOX_MAX + 1 and obj["bottom"] - obj["top"] <= _BOX_MAX + 1


def _checkboxes(page: Any) -> list[Box]:
    """Drawn checkbox squares; one is ticked when lines or curves cross inside it (a drawn ×)."""
    squares = [r for r in page.rects if _BOX_MIN <= r["width"] <= _BOX_MAX and abs(r["width"] - r["height"]) <= 2]
    strokes = [s for s in (*page.lines, *page.curves) if s["x1"] - s["x0"] > 2 and s["bottom"] - s["top"] > 2]
    boxes = []
    for square in squares:
        x0, top, x1, bottom = square["x0"] - 1, square["top"] - 1, square["x1"] + 1, square["bottom"] + 1
        ticked = any(x0 <= s["x0"] and s["x1"] <= x1 and top <= s["top"] and s["bottom"] <= bottom for s in strokes)
        boxes.append((square["x0"], square["top"], square["x1"], square["bottom"], ticked))
    return boxes


def _inside(obj: dict[str, Any] | tuple[float, ...], bbox: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = (obj["x0"], obj["top"], obj["x1"], obj["bottom"]) if isinstance(obj, dict) else obj[:4]
    middle_x, middle_y = (x0 + x1) / 2, (top + bottom) / 2
    return bbox[0] <= middle_x <= bbox[2] and bbox[1] <= middle_y <= bbox[3]


def _lines(items: list[tuple[float, float, float, float, str]]) -> list[list[tuple[float, float, float, float, str]]]:
    """Group positioned words (x0, top, x1, bottom, text) into lines, top to bottom, left to right."""
    lines: list[list[tuple[float, float, float, float, str]]] = []
    for item in sorted(items, key=lambda i: (round(i[1]), i[0])):
        if lines and abs(lines[-1][0][1] - item[1]) <= 3:
            lines[-1].append(item)
        else:
            lines.append([item])
    return [sorted(line, key=lambda i: i[0]) for line in lines]


def _unwrap(lines: list[list[tuple[float, float, float, float, str]]], right_edge: float) -> str:
    """Join wrapped lines with a space; keep a line break where the next word would have fitted."""
    text = ""
    for n, line in enumerate(lines):
        words = " ".join(i[4] for i in line)
        if n:
            previous_end = lines[n - 1][-1][2]
            first_width = line[0][2] - line[0][0]
            text += "\n" if previous_end + first_width + 8 < right_edge else " "
        text += words
    return text


def _cell_text(bbox: tuple[float, float, float, float], words: list[dict[str, Any]],
               boxes: list[Box]) -> str:
    items = [(w["x0"], w["top"], w["x1"], w["bottom"], w["text"]) for w in words if _inside(w, bbox)]
    items += [(b[0], b[1], b[2], b[3], CHECKED if b[4] else UNCHECKED) for b in boxes if _inside(b, bbox)]
    return clean_text(_unwrap(_lines(items), bbox[2] - 3))


def _read_page(page: Any, document: FormDocument, table_index: int) -> int:
    boxes = _checkboxes(page)
    words = page.extract_words(keep_blank_chars=False, use_text_flow=False, extra_attrs=["fontname", "size"])
    tables = page.filter(lambda obj: not _is_small_graphic(obj)).find_tables()
    for table in tables:
        for r, row in enumerate(table.rows):
            cells = tuple(Cell(_cell_text(bbox, words, boxes)) for bbox in row.cells if bbox is not None)
            document.rows.append(Row(cells, table_index, r))
        table_index += 1
    outside = [(w["x0"], w["top"], w["x1"], w["bottom"], w["text"]) for w in words
               if not any(_inside(w, t.bbox) for t in tables)]
    outside += [(b[0], b[1], b[2], b[3], CHECKED if b[4] else UNCHECKED) for b in boxes
                if not any(_inside(b, t.bbox) for t in tables)]
    texts, headings = _paragraphs(_lines(outside), page.width, _emphasised(words))
    document.headings.update(len(document.paragraphs) + n for n in headings)
    document.paragraphs.extend(texts)
    return table_index


def _paragraphs(lines: list[list[tuple[float, float, float, float, str]]], page_width: float,
                emphasised: set[Spot]) -> tuple[list[str], set[int]]:
    """Lines close together form one paragraph; a larger gap, or a new label, starts the next, and a line all
    in ``emphasised`` words is a heading, a paragraph of its own. Returns the paragraphs and which are
    headings."""
    paragraphs: list[list[list[tuple[float, float, float, float, str]]]] = []
    headings: set[int] = set()
    for line in lines:
        text = " ".join(i[4] for i in line)
        if _PAGE_NUMBER.match(text.strip()):
            continue
        height = max(i[3] - i[1] for i in line)
        heading = all((round(i[0], 1), round(i[1], 1)) in emphasised for i in line)
        if paragraphs and heading == (len(paragraphs) - 1 in headings):
            last = paragraphs[-1][-1]
            gap = line[0][1] - max(i[3] for i in last)
            if gap <= height * 0.5 and not re.match(r"^\d+(\.\d+)+\s", text):
                paragraphs[-1].append(line)
                continue
        if heading:
            headings.add(len(paragraphs))
        paragraphs.append([line])
    right = max((i[2] for line in lines for i in line), default=page_width)
    return [clean_text(_unwrap(p, right)) for p in paragraphs], headings
