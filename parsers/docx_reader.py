"""Read a .docx into a :class:`FormDocument`: content controls at every level, table rows, paragraphs.

python-docx's package reader opens the package and its parser reads the main document part (``open_body``);
the body is walked with lxml because python-docx's ``cell.text`` skips content controls, tracked insertions
and symbols (see the field notes). Anything under ``mc:Fallback`` (the VML copy of a text box) is skipped so
nothing is read twice.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib

from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.exceptions import PackageNotFoundError
from docx.opc.packuri import PACKAGE_URI
from docx.opc.phys_pkg import _ZipPkgReader
from docx.opc.pkgreader import _ContentTypeMap, _SerializedRelationships
from docx.oxml.parser import parse_xml
from lxml import etree

from parsers.document_model import CHECKED, UNCHECKED, Cell, Control, ControlKind, FormDocument, Row
from parsers.errors import UnreadableFile
from parsers.problem_codes import RefusalCause as Cause
from parsers.problem_codes import UnreadableCode as Code
from parsers.values import clean_text

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
NS = {"w": W, "w14": W14, "mc": MC}


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


T, TAB, BR, CR, SYM, P, TBL, TR, TC, SDT = (
    _q(W, n) for n in ("t", "tab", "br", "cr", "sym", "p", "tbl", "tr", "tc", "sdt"))
SDT_PR, SDT_CONTENT, FLD_CHAR, NOBREAK_HYPHEN = (_q(W, n) for n in ("sdtPr", "sdtContent", "fldChar", "noBreakHyphen"))
FALLBACK = _q(MC, "Fallback")
MOVE_FROM = _q(W, "moveFrom")
VAL = _q(W, "val")

# Wingdings / Symbol glyphs used as checkboxes
_SYM_GLYPHS = {"F0FE": CHECKED, "F0FD": CHECKED, "F078": CHECKED, "F0FB": CHECKED, "F0A8": UNCHECKED,
               "F06F": UNCHECKED, "F071": UNCHECKED}

_tables = etree.XPath("//w:tbl[not(ancestor::mc:Fallback)]", namespaces=NS)
_rows = etree.XPath("./w:tr | ./w:sdt/w:sdtContent/w:tr | ./w:customXml/w:tr", namespaces=NS)
_cells = etree.XPath("./w:tc | ./w:sdt/w:sdtContent/w:tc | ./w:customXml/w:tc", namespaces=NS)
_sdts = etree.XPath("//w:sdt[not(ancestor::mc:Fallback)]", namespaces=NS)
_body_paragraphs = etree.XPath("./w:p | ./w:sdt/w:sdtContent/w:p | ./w:ins/w:p", namespaces=NS)
_ancestor_row = etree.XPath("ancestor::w:tr[1]", namespaces=NS)


def open_body(data: bytes) -> etree._Element:
    """The body of the package's main document part, as ``docx.Document(...).element.body`` gives it (the same
    element classes, the same refusal of a part that is not a Word document's), but without reading every other
    part of the package: Word's own styles.xml and stylesWithEffects.xml (~800 KB unpacked) were half the time
    of reading a form, for nothing the form reader looks at."""
    reader = _ZipPkgReader(io.BytesIO(data))  # what python-docx reads a stream with
    try:
        content_types = _ContentTypeMap.from_xml(reader.content_types_xml)
        relationships = _SerializedRelationships.load_from_xml(PACKAGE_URI.baseURI,
                                                               reader.rels_xml_for(PACKAGE_URI))
        main = next((rel.target_partname for rel in relationships
                     if rel.reltype == RT.OFFICE_DOCUMENT and not rel.is_external), None)
        if main is None:
            raise KeyError("no relationship of type 'officeDocument' in the package")
        content_type = content_types[main]
        if content_type != CT.WML_DOCUMENT_MAIN:
            raise ValueError(f"not a Word document, content type is {content_type!r}")
        return parse_xml(reader.blob_for(main)).body
    finally:
        reader.close()


def read_docx(data: bytes) -> FormDocument:
    try:
        body = open_body(data)
    except (PackageNotFoundError, KeyError, ValueError, etree.XMLSyntaxError, zipfile.BadZipFile, zlib.error,
            EOFError, OSError, AttributeError, TypeError, IndexError, NotImplementedError) as exc:
        # a damaged zip or part, however it shows; a well-formed part with unexpected elements makes python-docx
        # meet plain lxml elements where it expects its own (AttributeError), and a zip entry claiming a version
        # of the format zipfile does not implement ("zip file version 6.4": NotImplementedError), found by the
        # fuzz tests
        raise UnreadableFile(Code.CORRUPT, Cause.WORD_DAMAGED) from exc
    document = FormDocument(reader="docx")
    row_index: dict[etree._Element, int] = {}
    for t_index, table in enumerate(_tables(body)):
        for r_index, tr in enumerate(_rows(table)):
            cells = tuple(Cell(_cell_text(tc)) for tc in _cells(tr))
            row_index[tr] = len(document.rows)
            document.rows.append(Row(cells, t_index, r_index))
    for paragraph in _body_paragraphs(body):
        text = clean_text(_render(paragraph))
        if text:
            if _looks_like_heading(paragraph):
                document.headings.add(len(document.paragraphs))
            document.paragraphs.append(text)
    for n, sdt in enumerate(_sdts(body)):
        control = _control(sdt, n, row_index)
        if control is not None:
            document.controls.append(control)
    return document


_paragraph_style = etree.XPath("string(./w:pPr/w:pStyle/@w:val)", namespaces=NS)
_outline_level = etree.XPath("./w:pPr/w:outlineLvl", namespaces=NS)
_text_runs = etree.XPath(".//w:r[w:t[normalize-space()]]", namespaces=NS)
_HEADING_STYLE = re.compile(r"(?i)heading|overskrift|title|titel")
BOLD = _q(W, "b")


def _looks_like_heading(paragraph: etree._Element) -> bool:
    """A heading style (Word's 'Heading 2', Danish 'Overskrift 2', 'Title'), an outline level, or every run
    that has text set in bold."""
    if _HEADING_STYLE.search(str(_paragraph_style(paragraph))) or _outline_level(paragraph):
        return True
    runs = _text_runs(paragraph)
    return bool(runs) and all(_bold(run) for run in runs)


def _bold(run: etree._Element) -> bool:
    found = run.find(f"{_q(W, 'rPr')}/{BOLD}")
    return found is not None and found.get(VAL, "true").lower() not in {"0", "false", "off"}


def _cell_text(tc: etree._Element) -> str:
    """A cell's own text; a cell holding only a nested table shows that table's text (its rows are also
    read as a table of their own, where labels in it are found)."""
    own = clean_text(_render_children(tc, skip_tables=True))
    return own if own else clean_text(_render_children(tc))


def _sdt_properties(sdt: etree._Element) -> etree._Element | None:
    return sdt.find(SDT_PR)


def _checkbox_state(pr: etree._Element) -> bool | None:
    box = pr.find(_q(W14, "checkbox"))
    if box is None:
        return None
    checked = box.find(_q(W14, "checked"))
    return checked is not None and checked.get(_q(W14, "val"), "1") in {"1", "true", "on"}


def _control(sdt: etree._Element, n: int, row_index: dict[etree._Element, int]) -> Control | None:
    pr = _sdt_properties(sdt)
    if pr is None:
        return None
    tag_el = pr.find(_q(W, "tag"))
    tag = tag_el.get(VAL, "") if tag_el is not None else ""
    if not tag:
        return None
    alias_el = pr.find(_q(W, "alias"))
    alias = alias_el.get(VAL, "") if alias_el is not None else ""
    placeholder = pr.find(_q(W, "showingPlcHdr")) is not None
    checked = _checkbox_state(pr)
    kind: ControlKind = "text"
    full_date = None
    if checked is not None:
        kind = "checkbox"
    elif (date_el := pr.find(_q(W, "date"))) is not None:
        kind = "date"
        full_date = date_el.get(_q(W, "fullDate"))
    elif pr.find(_q(W, "dropDownList")) is not None or pr.find(_q(W, "comboBox")) is not None:
        kind = "dropdown"
    content = sdt.find(SDT_CONTENT)
    text = "" if placeholder or content is None else clean_text(_render_children(content))
    rows = _ancestor_row(sdt)
    return Control(
        tag=tag, alias=alias, kind=kind, text=text, location=f"indholdskontrol {n + 1} »{tag}«",
        checked=checked, full_date=None if placeholder else full_date, placeholder=placeholder,
        row=row_index.get(rows[0]) if rows else None,
    )


def _render_children(element: etree._Element, skip_tables: bool = False) -> str:
    return _Renderer(skip_tables).children(element)


def _render(el: etree._Element, skip_tables: bool = False) -> str:
    return _Renderer(skip_tables).element(el)


class _Renderer:
    """Text as a person sees it: field results (not codes), checkbox glyphs, no deleted or fallback copies.

    Legacy form fields are a run sequence begin … instrText … separate … result … end; a drop-down shows its
    selected entry (from ``w:ddList``) and its stored result text, if any, is not read a second time.
    """

    def __init__(self, skip_tables: bool) -> None:
        self.skip_tables = skip_tables
        self.fields: list[bool] = []  # per open field: whether its result text is suppressed

    def children(self, element: etree._Element) -> str:
        return "".join(self.element(child) for child in element)

    def element(self, el: etree._Element) -> str:
        tag = el.tag
        if tag == FLD_CHAR:
            return self.field_char(el)
        if any(self.fields):
            return ""
        if tag == T:
            return el.text or ""
        if tag == TAB:
            return " "
        if tag in (BR, CR):
            return "\n"
        if tag == NOBREAK_HYPHEN:
            return "-"
        if tag == SYM:
            return _SYM_GLYPHS.get((el.get(_q(W, "char")) or "").upper(), "")
        if tag in (FALLBACK, MOVE_FROM) or (self.skip_tables and tag == TBL):
            return ""
        if tag == SDT:
            pr = el.find(SDT_PR)
            if pr is not None:
                state = _checkbox_state(pr)
                if state is not None:
                    return CHECKED if state else UNCHECKED
                if pr.find(_q(W, "showingPlcHdr")) is not None:
                    return ""
            content = el.find(SDT_CONTENT)
            return "" if content is None else self.children(content)
        if tag == TR:
            return "\n".join(self.children(tc) for tc in _cells(el)) + "\n"
        text = self.children(el)
        return text + "\n" if tag == P else text

    def field_char(self, el: etree._Element) -> str:
        kind = el.get(_q(W, "fldCharType"))
        if kind == "end":
            if self.fields:
                self.fields.pop()
            return ""
        if kind != "begin":
            return ""
        data = el.find(_q(W, "ffData"))
        box = None if data is None else data.find(_q(W, "checkBox"))
        choices = None if data is None else data.find(_q(W, "ddList"))
        self.fields.append(choices is not None)
        if any(self.fields[:-1]):
            return ""
        if box is not None:
            return CHECKED if _legacy_checked(box) else UNCHECKED
        if choices is not None:
            return _dropdown_choice(choices)
        return ""


def _legacy_checked(box: etree._Element) -> bool:
    for name in ("checked", "default"):
        el = box.find(_q(W, name))
        if el is not None:
            return el.get(VAL, "1") in {"1", "true", "on"}
    return False


def _dropdown_choice(choices: etree._Element) -> str:
    entries = [e.get(VAL, "") for e in choices.findall(_q(W, "listEntry"))]
    for name in ("result", "default"):
        el = choices.find(_q(W, name))
        if el is not None and (el.get(VAL) or "").isdigit():
            index = int(el.get(VAL))
            return entries[index] if index < len(entries) else ""
    return entries[0] if entries else ""
