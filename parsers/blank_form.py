"""The official blank form, generated from the form contract, and filling it the ways municipalities do.

``blank_form()`` writes the .docx the call hands out: two-column tables (label | value), one content
control per field whose tag is the field key. ``fill_form()`` fills a copy as a person would, either in
the content controls (``mode="controls"``) or by typing over them (``mode="typed"``); the demo and the
tests build their sample applications with it, so no binary fixture is kept that cannot be regenerated.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Mapping
from datetime import date
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

import docx
from docx.oxml import parse_xml
from docx.shared import Pt
from lxml import etree

from parsers.docx_reader import NS, SDT_CONTENT, SDT_PR, TC, W14, W, _q
from parsers.form_fields import DATE_PLACEHOLDER, FIELDS, FORM_TITLE, PARTNER_COLUMNS, PLACEHOLDER, SECTIONS, FieldSpec

PARTNER_ROWS = 4
_NSDECL = f'xmlns:w="{W}" xmlns:w14="{W14}"'
_GRAY = '<w:rPr><w:color w:val="808080"/></w:rPr>'
_BOX_FONT = '<w:rPr><w:rFonts w:ascii="MS Gothic" w:eastAsia="MS Gothic" w:hAnsi="MS Gothic"/></w:rPr>'

FillMode = Literal["controls", "typed"]
FormValue = str | int | bool | date | list[Mapping[str, str | int]] | None


def _text_control(tag: str, alias: str, multiline: bool) -> str:
    kind = '<w:text w:multiLine="1"/>' if multiline else "<w:text/>"
    return (f'<w:sdt {_NSDECL}><w:sdtPr><w:alias w:val={quoteattr(alias)}/><w:tag w:val={quoteattr(tag)}/>'
            f'<w:showingPlcHdr/>{kind}</w:sdtPr><w:sdtContent><w:r>{_GRAY}<w:t>{escape(PLACEHOLDER)}</w:t></w:r>'
            f"</w:sdtContent></w:sdt>")


def _date_control(tag: str, alias: str) -> str:
    return (f'<w:sdt {_NSDECL}><w:sdtPr><w:alias w:val={quoteattr(alias)}/><w:tag w:val={quoteattr(tag)}/>'
            '<w:showingPlcHdr/><w:date><w:dateFormat w:val="dd-MM-yyyy"/><w:lid w:val="da-DK"/>'
            '<w:storeMappedDataAs w:val="dateTime"/><w:calendar w:val="gregorian"/></w:date></w:sdtPr>'
            f"<w:sdtContent><w:r>{_GRAY}<w:t>{escape(DATE_PLACEHOLDER)}</w:t></w:r></w:sdtContent></w:sdt>")


def _checkbox_control(tag: str, alias: str) -> str:
    return (f'<w:sdt {_NSDECL}><w:sdtPr><w:alias w:val={quoteattr(alias)}/><w:tag w:val={quoteattr(tag)}/>'
            '<w14:checkbox><w14:checked w14:val="0"/><w14:checkedState w14:val="2612" w14:font="MS Gothic"/>'
            '<w14:uncheckedState w14:val="2610" w14:font="MS Gothic"/></w14:checkbox></w:sdtPr>'
            f"<w:sdtContent><w:r>{_BOX_FONT}<w:t>☐</w:t></w:r></w:sdtContent></w:sdt>")


def _run(text: str) -> str:
    return f'<w:r {_NSDECL}><w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def _value_cell(cell: docx.table._Cell, spec: FieldSpec) -> None:
    paragraph = cell.paragraphs[0]._p
    if spec.kind == "yesno":
        for word in ("Ja", "Nej"):
            paragraph.append(parse_xml(_checkbox_control(spec.key, f"{spec.label} – {word}")))
            paragraph.append(parse_xml(_run(f" {word}    ")))
    elif spec.kind == "date":
        paragraph.append(parse_xml(_date_control(spec.key, spec.label)))
    else:
        multiline = spec.kind in {"freetext", "names"}
        paragraph.append(parse_xml(_text_control(spec.key, spec.label, multiline)))


def blank_form() -> bytes:
    """The official blank form as a .docx."""
    document = docx.Document()
    document.styles["Normal"].font.size = Pt(10)
    document.add_heading(FORM_TITLE, level=1)
    document.add_paragraph(
        "Udfyld skemaet og send det som Word-dokument (.docx) sammen med eventuelle bilag til "
        "uip-imp2@socialstyrelsen.dk senest mandag den 9. september 2019 kl. 12.00. "
        "En e-mail må højst fylde 10 MB. Spørgsmål kan sendes til spm-uip2@socialstyrelsen.dk.")
    for section in SECTIONS:
        document.add_heading(f"{section.number}. {section.title}", level=2)
        specs = [f for f in FIELDS if f.section == section.number]
        table = document.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        for spec in specs:
            if spec.kind == "partners":
                continue
            row = table.add_row()
            row.cells[0].text = spec.label
            _value_cell(row.cells[1], spec)
        for spec in (f for f in specs if f.kind == "partners"):
            document.add_paragraph(spec.label)
            partners = document.add_table(rows=1, cols=len(PARTNER_COLUMNS))
            partners.style = "Table Grid"
            for cell, (_, title) in zip(partners.rows[0].cells, PARTNER_COLUMNS, strict=True):
                cell.text = title
            for _ in range(PARTNER_ROWS):
                row = partners.add_row()
                for cell, (key, title) in zip(row.cells, PARTNER_COLUMNS, strict=True):
                    cell.paragraphs[0]._p.append(parse_xml(_text_control(f"partners.{key}", title, False)))
    # Word always ends a document with a paragraph; LibreOffice's .doc export merges a final table otherwise.
    document.add_paragraph("Husk at vedhæfte eventuelle bilag. Tak for ansøgningen.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _display(value: FormValue) -> str:
    if isinstance(value, bool):
        return "Ja" if value else "Nej"
    if isinstance(value, date):
        return value.strftime("%d-%m-%Y")
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)


def _set_control_text(sdt: etree._Element, text: str, full_date: date | None = None) -> None:
    pr = sdt.find(SDT_PR)
    for marker in pr.findall(_q(W, "showingPlcHdr")):
        pr.remove(marker)
    if full_date is not None and (date_el := pr.find(_q(W, "date"))) is not None:
        date_el.set(_q(W, "fullDate"), f"{full_date.isoformat()}T00:00:00Z")
    content = sdt.find(SDT_CONTENT)
    for child in list(content):
        content.remove(child)
    lines = text.split("\n")
    run = etree.SubElement(content, _q(W, "r"))
    for i, line in enumerate(lines):
        if i:
            etree.SubElement(run, _q(W, "br"))
        t = etree.SubElement(run, _q(W, "t"))
        t.text = line
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def _set_checkbox(sdt: etree._Element, checked: bool) -> None:
    pr = sdt.find(SDT_PR)
    pr.find(f"{_q(W14, 'checkbox')}/{_q(W14, 'checked')}").set(_q(W14, "val"), "1" if checked else "0")
    sdt.find(f"{SDT_CONTENT}//{_q(W, 't')}").text = "☒" if checked else "☐"


def _type_over(sdt: etree._Element, text: str) -> None:
    """Replace the control by plain runs, as a person deleting the control and typing does."""
    parent = sdt.getparent()
    position = parent.index(sdt)
    parent.remove(sdt)
    for i, line in enumerate(text.split("\n")):
        run = parse_xml(_run(line))
        if i:
            run.insert(0, etree.Element(_q(W, "br")))  # a line break before the following line
        parent.insert(position + i, run)


def fill_form(values: Mapping[str, FormValue], mode: FillMode = "controls", template: bytes | None = None) -> bytes:
    """Fill a copy of the blank form with ``values`` (field key → value as a person would type it).

    ``partners`` is a list of mappings with the keys of :data:`PARTNER_COLUMNS`. A value of ``None`` or a
    missing key leaves the field empty.
    """
    document = docx.Document(io.BytesIO(template or blank_form()))
    body = document.element.body
    sdts = etree.XPath("//w:sdt[w:sdtPr/w:tag/@w:val=$tag]", namespaces=NS)
    for spec in FIELDS:
        value = values.get(spec.key)
        if value is None:
            continue
        if spec.kind == "partners":
            _fill_partners(body, value, mode)  # type: ignore[arg-type]
            continue
        controls = sdts(body, tag=spec.key)
        if spec.kind == "yesno":
            if mode == "controls" and isinstance(value, bool):
                for sdt, word in zip(controls, ("Ja", "Nej"), strict=True):
                    _set_checkbox(sdt, value == (word == "Ja"))
                continue
            cell_p = controls[0].getparent()
            for child in list(cell_p):
                if child.tag != _q(W, "pPr"):
                    cell_p.remove(child)
            cell_p.append(parse_xml(_run(_display(value))))
            continue
        text = _display(value)
        if mode == "controls":
            _set_control_text(controls[0], text, value if isinstance(value, date) else None)
        else:
            _type_over(controls[0], text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _fill_partners(body: etree._Element, partners: list[Mapping[str, str | int]], mode: FillMode) -> None:
    rows = etree.XPath("//w:tr[.//w:sdt/w:sdtPr/w:tag[starts-with(@w:val, 'partners.')]]", namespaces=NS)(body)
    while len(rows) < len(partners):
        clone = copy.deepcopy(rows[-1])
        rows[-1].addnext(clone)
        rows.append(clone)
    for row, partner in zip(rows, partners, strict=False):
        for tc, (key, _) in zip(row.findall(TC), PARTNER_COLUMNS, strict=True):
            sdt = tc.find(f".//{_q(W, 'sdt')}")
            text = _display(partner.get(key))
            if not text:
                continue
            if mode == "controls":
                _set_control_text(sdt, text)
            else:
                _type_over(sdt, text)
