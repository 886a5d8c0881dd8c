"""The fixture corpus: every way a form arrives in practice, generated from the project's own blank form.

Each :class:`Fixture` builds its file from :func:`parsers.blank_form.blank_form` (or from another fixture,
through LibreOffice) and states the record it must read to, field by field. Nothing binary is kept in
the repository: a fixture that cannot be regenerated cannot be trusted.
"""

from __future__ import annotations

import copy
import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import docx
from docx.oxml import parse_xml
from lxml import etree

from ingest.demo import complete_values
from parsers.blank_form import FormValue, blank_form, fill_form
from parsers.docx_reader import NS, W, _q
from parsers.form_fields import FIELDS, FIELDS_BY_KEY, FORM_TITLE, SECTIONS, FieldSpec

NSDECL = f'xmlns:w="{W}"'

EXPECTED: dict[str, Any] = {
    "municipality": "Aarhus Kommune", "department": "Sociale Forhold og Beskæftigelse",
    "address": "Rådhuspladsen 2", "postal_code_city": "8000 Aarhus C", "cvr": "55133018",
    "contact_name": "Mette Jensen", "contact_title": "Specialkonsulent", "contact_email": "mette.jensen@aarhus.dk",
    "contact_phone": "+4541872000", "joint_application": False, "target_group_size": 1250,
    "population": 352751, "target_group_description": "Borgere med psykiske vanskeligheder i bostøtten (§ 85).",
    "already_implemented": False, "service_unit": "Bostøtten Syd", "leader": "Lars Holm, afdelingsleder",
    "project_manager": "Sara Berg, sara.berg@aarhus.dk",
    "implementation_team": ["Anne Ravn", "Peter Lund", "Ida Krogh"],
    "meeting_leaders_count": 6, "intro_course_count": 24, "startup_meeting": True,
    "motivation": "Vi ønsker at styrke netværksinddragelsen.\nMetoden passer til vores bostøtte.",
    "director_approved": True, "director_name": "Kirsten Bach",
    "director_title": "Direktør for Sociale Forhold og Beskæftigelse", "approval_date": "2019-09-02",
}
RECEIVED = date(2019, 9, 3)

PARTNERS = [{"municipality": "Odder", "target_group_size": "200", "population": "23.000"},
            {"municipality": "Skanderborg Kommune", "target_group_size": "ca. 310", "population": "62 000"}]
PARTNERS_READ = [
    {"municipality": "Odder Kommune", "municipality_code": "727", "target_group_size": 200, "population": 23000},
    {"municipality": "Skanderborg Kommune", "municipality_code": "746", "target_group_size": 310,
     "population": 62000},
]


@dataclass(frozen=True)
class Fixture:
    name: str
    filename: str
    build: Callable[[], bytes]
    expected: Mapping[str, Any]
    problems: frozenset[str] = field(default_factory=frozenset)  # fields validate() must name
    libreoffice: bool = False  # built through LibreOffice (and, for .doc, read through it)


def expected(**changes: Any) -> dict[str, Any]:
    """EXPECTED with changes; a change to None means the field is absent from the record."""
    result = dict(EXPECTED)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def _display(value: FormValue) -> str:
    if isinstance(value, bool):
        return "Ja" if value else "Nej"
    if isinstance(value, date):
        return value.strftime("%d-%m-%Y")
    return "" if value is None else str(value)


def _save(document: docx.document.Document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _run(text: str, extra: str = "") -> str:
    return f'<w:r {NSDECL}>{extra}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def _replace_sdt(document: docx.document.Document, key: str, xml: str, occurrence: int = 0) -> None:
    sdts = etree.XPath("//w:sdt[w:sdtPr/w:tag/@w:val=$tag]", namespaces=NS)(document.element.body, tag=key)
    sdt = sdts[occurrence]
    parent = sdt.getparent()
    position = parent.index(sdt)
    parent.remove(sdt)
    for n, element in enumerate(parse_xml(f"<w:r-wrap {NSDECL}>{xml}</w:r-wrap>")):
        parent.insert(position + n, copy.deepcopy(element))


# --- legacy Word form fields (FORMTEXT, FORMCHECKBOX, FORMDROPDOWN) -------------------------------------

def _formtext(name: str, value: str) -> str:
    result = value if value else "\u2002" * 5  # Word shows an empty text field as five en-spaces
    lines = result.split("\n")
    runs = "".join(("<w:r><w:br/></w:r>" if i else "") + _run(line) for i, line in enumerate(lines))
    return (f'<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="{name}"/><w:enabled/>'
            '<w:calcOnExit w:val="0"/><w:textInput/></w:ffData></w:fldChar></w:r>'
            '<w:r><w:instrText xml:space="preserve"> FORMTEXT </w:instrText></w:r>'
            f'<w:r><w:fldChar w:fldCharType="separate"/></w:r>{runs}<w:r><w:fldChar w:fldCharType="end"/></w:r>')


def _formcheckbox(name: str, checked: bool, explicit: bool) -> str:
    state = ('<w:default w:val="0"/><w:checked/>' if explicit else '<w:default w:val="1"/>') if checked else \
        '<w:default w:val="0"/>'
    return (f'<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="{name}"/><w:enabled/>'
            f'<w:calcOnExit w:val="0"/><w:checkBox><w:sizeAuto/>{state}</w:checkBox></w:ffData></w:fldChar></w:r>'
            '<w:r><w:instrText xml:space="preserve"> FORMCHECKBOX </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>')


def _formdropdown(name: str, entries: list[str], selected: int) -> str:
    items = "".join(f'<w:listEntry w:val="{escape(e)}"/>' for e in entries)
    return (f'<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="{name}"/><w:enabled/>'
            f'<w:calcOnExit w:val="0"/><w:ddList><w:result w:val="{selected}"/>{items}</w:ddList></w:ffData>'
            '</w:fldChar></w:r><w:r><w:instrText xml:space="preserve"> FORMDROPDOWN </w:instrText></w:r>'
            f'<w:r><w:fldChar w:fldCharType="separate"/></w:r>{_run(entries[selected])}'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>')


def legacy_form(values: Mapping[str, FormValue]) -> bytes:
    """The form of an older template: legacy form fields instead of content controls."""
    document = docx.Document(io.BytesIO(blank_form()))
    for n, spec in enumerate(FIELDS):
        if spec.kind == "partners":
            continue
        value = values.get(spec.key)
        if spec.kind == "yesno" and spec.key == "startup_meeting":
            _replace_sdt(document, spec.key, _formdropdown(f"Rulle{n}", ["Vælg", "Ja", "Nej"],
                                                           0 if value is None else 1 if value else 2))
            _replace_sdt(document, spec.key, "")
            _strip_words(document, spec.key)
        elif spec.kind == "yesno":
            for i, word in enumerate(("Ja", "Nej")):
                checked = value is not None and value == (word == "Ja")
                _replace_sdt(document, spec.key, _formcheckbox(f"Kontrol{n}{i}", checked, explicit=n % 2 == 0))
        else:
            _replace_sdt(document, spec.key, _formtext(f"Tekst{n}", _display(value)))
    return _save(document)


def _strip_words(document: docx.document.Document, key: str) -> None:
    """Remove the ' Ja ' / ' Nej ' words that stood next to a yes/no pair replaced by a drop-down."""
    for t in _value_cell(document, key)._tc.iter(_q(W, "t")):
        if t.text.strip() in {"Ja", "Nej"}:
            t.text = ""


# --- glyphs, tracked changes, boxes, layouts ------------------------------------------------------------

def _value_cell(document: docx.document.Document, key: str) -> Any:
    label = FIELDS_BY_KEY[key].label
    for table in document.tables:
        for row in table.rows:
            if row.cells[0].text == label:
                return row.cells[1]
    raise KeyError(key)


def _set_cell_xml(cell: Any, runs_xml: str) -> None:
    p = cell.paragraphs[0]._p
    for child in list(p):
        if child.tag != _q(W, "pPr"):
            p.remove(child)
    for element in parse_xml(f"<w:p {NSDECL}>{runs_xml}</w:p>"):
        p.append(copy.deepcopy(element))


def _sym(char: str) -> str:
    return f'<w:r><w:sym w:font="Wingdings" w:char="{char}"/></w:r>'


def glyph_form() -> bytes:
    """Typed over, with yes/no answered by glyphs: ☐/☒ typed, Wingdings symbols, an X, a tick."""
    document = docx.Document(io.BytesIO(fill_form(
        complete_values(target_group_size="ca. 1.250 borgere", population="352 751",
                        approval_date="2. september 2019", contact_phone="0045 41 87 20 00",
                        cvr="5513 3018"), mode="typed")))
    _set_cell_xml(_value_cell(document, "joint_application"), _run("☐ Ja   ☒ Nej"))
    _set_cell_xml(_value_cell(document, "already_implemented"),
                  _sym("F0A8") + _run(" Ja   ") + _sym("F0FE") + _run(" Nej"))
    _set_cell_xml(_value_cell(document, "startup_meeting"), _run("Ja: X    Nej:"))
    _set_cell_xml(_value_cell(document, "director_approved"), _run("Ja ✔      Nej"))
    return _save(document)


def tracked_form() -> bytes:
    """Values in tracked insertions and deletions, a text box with its VML copy, a nested table, merged
    cells, and a footer that quotes a label (headers and footers are not form values)."""
    document = docx.Document(io.BytesIO(fill_form(complete_values(contact_name=None, director_name=None,
                                                                   department=None, leader=None), mode="typed")))
    ins = ('<w:ins w:id="1" w:author="Mette" w:date="2019-09-02T10:00:00Z">' + _run("Mette Jensen") + "</w:ins>"
           '<w:del w:id="2" w:author="Mette" w:date="2019-09-02T10:00:00Z"><w:r><w:delText>Hans Hansen</w:delText>'
           "</w:r></w:del>")
    _set_cell_xml(_value_cell(document, "contact_name"), ins)
    box = ("<w:r><mc:AlternateContent xmlns:mc=\"http://schemas.openxmlformats.org/markup-compatibility/2006\" "
           "xmlns:wps=\"http://schemas.microsoft.com/office/word/2010/wordprocessingShape\" "
           "xmlns:v=\"urn:schemas-microsoft-com:vml\"><mc:Choice Requires=\"wps\"><w:drawing><wps:txbx>"
           f"<w:txbxContent><w:p>{_run('Kirsten Bach')}</w:p></w:txbxContent></wps:txbx></w:drawing></mc:Choice>"
           f"<mc:Fallback><w:pict><v:textbox><w:txbxContent><w:p>{_run('Kirsten Bach')}</w:p></w:txbxContent>"
           "</v:textbox></w:pict></mc:Fallback></mc:AlternateContent></w:r>")
    _set_cell_xml(_value_cell(document, "director_name"), box)
    cell = _value_cell(document, "department")
    nested = cell.add_table(rows=1, cols=1)
    nested.cell(0, 0).text = "Sociale Forhold og Beskæftigelse"
    _merged_leader_row(document)
    section = document.sections[0]
    section.footer.paragraphs[0].text = "1.1 Ansøgende kommune: Gotham"
    section.header.paragraphs[0].text = "8.2 Direktørens navn: Bruce Wayne"
    return _save(document)


def _merged_leader_row(document: docx.document.Document) -> None:
    """The 6.2 row rebuilt as three grid columns with the value cell spanning two (gridSpan)."""
    cell = _value_cell(document, "leader")
    tc = cell._tc
    tc_pr = tc.get_or_add_tcPr()
    tc_pr.append(parse_xml(f'<w:gridSpan {NSDECL} w:val="2"/>'))
    _set_cell_xml(cell, _run("Lars Holm, afdelingsleder"))


def _retyped(document: docx.document.Document) -> Iterator[tuple[int, FieldSpec, str]]:
    """Write the title and each section heading of a retyped form; yield (section, field, typed value)."""
    document.add_heading(FORM_TITLE, level=1)
    values = complete_values()
    for section in SECTIONS:
        document.add_heading(f"{section.number}. {section.title}", level=2)
        for spec in (f for f in FIELDS if f.section == section.number and f.kind != "partners"):
            yield section.number, spec, _display(values.get(spec.key))


def below_form() -> bytes:
    """One column: the label as a paragraph, the value typed below it in the same cell; section 8 as label
    rows followed by value rows."""
    document = docx.Document()
    table = None
    for section, spec, text in _retyped(document):
        if table is None or spec.number.endswith(".1"):
            table = document.add_table(rows=0, cols=1)
        if section == 8:
            table.add_row().cells[0].text = spec.label
            table.add_row().cells[0].text = text
        else:
            cell = table.add_row().cells[0]
            cell.text = spec.label
            for line in text.split("\n"):
                cell.add_paragraph(line)
    document.add_paragraph("")
    return _save(document)


def paragraph_form() -> bytes:
    """No tables at all: the form retyped as 'Label: value' paragraphs; free text over several paragraphs."""
    document = docx.Document()
    for _, spec, text in _retyped(document):
        if spec.kind == "freetext" and "\n" in text:
            document.add_paragraph(spec.label)
            for line in text.split("\n"):
                document.add_paragraph(line)
        elif spec.key == "address":
            document.add_paragraph(f"{spec.label} {text}")  # no colon at all
        else:
            document.add_paragraph(f"{spec.label}: {text}")
    document.add_paragraph("Med venlig hilsen")
    return _save(document)


def _section_paragraphs(document: Any, number: int, values: dict[str, FormValue]) -> None:
    """Section ``number``'s fields as 'Label: value' paragraphs; free text below its label, one paragraph a line."""
    for spec in (f for f in FIELDS if f.section == number and f.kind != "partners"):
        text = _display(values.get(spec.key))
        if spec.kind == "freetext":
            document.add_paragraph(f"{spec.label}:")
            for line in text.split("\n"):
                document.add_paragraph(line)
        else:
            document.add_paragraph(f"{spec.label}: {text}")


_HEADING_STYLES = ("Afsnit {n} – {title} i kommunen", "{n}) {upper}:", "{n} {title}", "Del {n}: {title}")


def numbered_headings_form() -> bytes:
    """'Label: value' paragraphs under section headings retyped in other styles ('Afsnit 5 – Erfaring med Åben
    Dialog i kommunen', '6) IMPLEMENTERING:'), free text over several paragraphs right before a heading, and
    the director's date written 'Aarhus, d. 2/9-2019'."""
    document = docx.Document()
    document.add_heading(FORM_TITLE, level=1)
    values = complete_values(approval_date="Aarhus, d. 2/9-2019")
    for section in SECTIONS:
        style = _HEADING_STYLES[section.number % len(_HEADING_STYLES)]
        document.add_paragraph(style.format(n=section.number, title=section.title, upper=section.title.upper()))
        _section_paragraphs(document, section.number, values)
    return _save(document)


# section headings in the municipality's own words, set in bold or a heading style: only the number is the form's
_OWN_HEADINGS = {1: "Om kommunen", 2: "Hvem kan I kontakte", 3: "Samarbejdet", 4: "Borgerne det handler om",
                 5: "Kommunens erfaring med metoden", 6: "Sådan vil vi gøre det", 7: "Hvorfor vi søger",
                 8: "Underskrift"}


def bold_headings_form() -> bytes:
    """'Label: value' paragraphs, free text over several paragraphs right before each section heading, and the
    headings numbered as the form's but worded freely ('5. Kommunens erfaring med metoden'): odd sections in
    bold, even ones in Word's heading style."""
    document = docx.Document()
    document.add_heading(FORM_TITLE, level=1)
    values = complete_values()
    for section in SECTIONS:
        heading = f"{section.number}. {_OWN_HEADINGS[section.number]}"
        if section.number % 2:
            document.add_paragraph().add_run(heading).bold = True
        else:
            document.add_heading(heading, level=2)
        _section_paragraphs(document, section.number, values)
    return _save(document)


# identifiers typed as Danes type them; each must read as the plain value
CVR_SPELLINGS = ("DK55133018", "DK-55 13 30 18", "CVR-nr. 55133018", "CVR: 55 13 30 18", "cvr nr.: 55-13-30-18")
PHONE_SPELLINGS = ("Tlf. +45 41 87 20 00", "(+45) 41-87-20-00", "tlf.: 41872000", "Mobil: 0045 41 87 20 00")
POSTAL_SPELLINGS = ("Postnr. 8000 Aarhus C", "DK-8000 Aarhus C")


# the director's date as Danes write it; each must read as 2 September 2019
DATE_SPELLINGS = ("d. 2/9-2019", "den 2. september 2019", "2. sep. 2019", "02.09.19", "mandag den 2. sept. 2019",
                  "Aarhus d. 2.9.2019", "2-sep-2019")


def cell_pairs_form() -> bytes:
    """A one-column table where each cell says 'Label: value'."""
    document = docx.Document()
    document.add_heading(FORM_TITLE, level=1)
    values = complete_values()
    table = document.add_table(rows=0, cols=1)
    for spec in FIELDS:
        if spec.kind != "partners":
            table.add_row().cells[0].text = f"{spec.label}: {_display(values.get(spec.key)).replace(chr(10), ' ')}"
    document.add_paragraph("")
    return _save(document)


_EDITED = {"municipality": "Ansøgende kommune (navn)", "contact_email": "Kontaktperson e-mail",
           "project_manager": "Projektleder (navn, e-mail)", "approval_date": "Dato for godkendelse:"}


def relayout_form() -> bytes:
    """Another template: item numbers in their own column, labels without numbers (some edited), yes/no
    questions in a table with 'Ja' and 'Nej' columns marked by an X, header rows repeated on every page."""
    document = docx.Document()
    document.add_heading(FORM_TITLE, level=1)
    values = complete_values()
    answers = document.add_table(rows=1, cols=3)
    answers.style = "Table Grid"
    for cell, title in zip(answers.rows[0].cells, ("Nr.", "Spørgsmål", "Svar"), strict=True):
        cell.text = title
    answers.rows[0]._tr.get_or_add_trPr().append(parse_xml(f"<w:tblHeader {NSDECL}/>"))
    questions = document.add_table(rows=0, cols=4)
    questions.style = "Table Grid"
    for n, spec in enumerate(f for f in FIELDS if f.kind != "partners"):
        number, label = spec.label.split(" ", 1)
        label = _EDITED.get(spec.key, label)
        if spec.kind == "yesno":
            if n % 3 == 0 or not len(questions.rows):
                header = questions.add_row().cells
                for cell, title in zip(header, ("Nr.", "Spørgsmål", "Ja", "Nej"), strict=True):
                    cell.text = title
            row = questions.add_row().cells
            row[0].text, row[1].text = number, label
            row[2 if values[spec.key] else 3].text = "X"
            continue
        row = answers.add_row().cells
        row[0].text, row[1].text, row[2].text = number, label, _display(values.get(spec.key))
        if n % 8 == 7:  # a header row repeated where Word would break the page
            for cell, title in zip(answers.add_row().cells, ("Nr.", "Spørgsmål", "Svar"), strict=True):
                cell.text = title
    document.add_paragraph("")
    return _save(document)


def hostile_zip(add: Mapping[str, bytes] | None = None, replace: Mapping[str, bytes] | None = None,
                base: bytes | None = None) -> bytes:
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(base or fill_form(complete_values())))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, (replace or {}).get(info.filename, source.read(info.filename)))
        for name, content in (add or {}).items():
            target.writestr(name, content)
    return out.getvalue()


# --- LibreOffice round trips ------------------------------------------------------------------------------

def libreoffice() -> str | None:
    return shutil.which(os.environ.get("UIP_INTAKE_LIBREOFFICE", "soffice"))


def convert(data: bytes, source_suffix: str, target: str) -> bytes:
    """Convert with LibreOffice as a person's 'Save as' would (a private profile per run)."""
    exe = libreoffice()
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="uip-corpus-") as tmp:
        source = Path(tmp) / f"form{source_suffix}"
        source.write_bytes(data)
        subprocess.run([exe, f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--norestore",
                        "--convert-to", target, "--outdir", f"{tmp}/out", str(source)],
                       check=True, capture_output=True, timeout=120, env={**os.environ, "HOME": tmp})
        return next((Path(tmp) / "out").iterdir()).read_bytes()


# --- fillable PDF (AcroForm) --------------------------------------------------------------------------------

def acroform_pdf(values: Mapping[str, FormValue]) -> bytes:
    """A fillable PDF version of the form: one field per key (checkbox pairs '<key>.ja' / '<key>.nej'), the
    labels printed beside them; the values live only in the fields, not in the page text."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle(FORM_TITLE)
    y = 800
    for spec in FIELDS:
        if spec.kind == "partners":
            continue
        if y < 60:
            pdf.showPage()
            y = 800
        pdf.setFont("Helvetica", 7)
        pdf.drawString(30, y + 4, spec.label[:95])
        value = values.get(spec.key)
        if spec.kind == "yesno":
            for n, word in enumerate(("Ja", "Nej")):
                pdf.acroForm.checkbox(name=f"{spec.key}.{word.lower()}", tooltip=f"{spec.label} – {word}",
                                      x=330 + n * 60, y=y, size=12, buttonStyle="cross",
                                      checked=value is not None and value == (word == "Ja"))
                pdf.drawString(346 + n * 60, y + 3, word)
        else:
            pdf.acroForm.textfield(name=spec.key, tooltip=spec.label, x=330, y=y - 2, width=240, height=16,
                                   value=_display(value).replace("\n", " / ") if spec.kind == "names"
                                   else _display(value), fontSize=7, borderWidth=0.5)
        y -= 24
    pdf.save()
    return out.getvalue()


# --- the corpus ---------------------------------------------------------------------------------------------

_JOINT = complete_values(joint_application=True, partners=PARTNERS)
_CONTROLS_VIA_LIBREOFFICE = "Vi ønsker at styrke netværksinddragelsen.Metoden passer til vores bostøtte."


def _lo(source: Callable[[], bytes], suffix: str, target: str) -> Callable[[], bytes]:
    return lambda: convert(source(), suffix, target)


FIXTURES: tuple[Fixture, ...] = (
    Fixture("content controls filled", "skema.docx", lambda: fill_form(complete_values()), EXPECTED),
    Fixture("typed over the controls", "skema.docx", lambda: fill_form(complete_values(), mode="typed"), EXPECTED),
    Fixture("legacy form fields", "skema.docx", lambda: legacy_form(complete_values()), EXPECTED),
    Fixture("checkbox glyphs and Danish number and date spellings", "skema.docx", glyph_form, EXPECTED),
    Fixture("tracked changes, text box, nested table, merged cells, footer", "skema.docx", tracked_form,
            EXPECTED),
    Fixture("value below the label, and label row then value row", "skema.docx", below_form, EXPECTED),
    Fixture("Label: value paragraphs without tables", "skema.docx", paragraph_form, EXPECTED),
    Fixture("paragraphs under retyped numbered section headings", "skema.docx", numbered_headings_form, EXPECTED),
    Fixture("paragraphs under bold or heading-styled section headings in the municipality's own words",
            "skema.docx", bold_headings_form, EXPECTED),
    *(Fixture(f"CVR written {spelling!r}", "skema.docx",
              lambda spelling=spelling: fill_form(complete_values(cvr=spelling), mode="typed"), EXPECTED)
      for spelling in CVR_SPELLINGS),
    *(Fixture(f"telephone written {spelling!r}", "skema.docx",
              lambda spelling=spelling: fill_form(complete_values(contact_phone=spelling), mode="typed"), EXPECTED)
      for spelling in PHONE_SPELLINGS),
    *(Fixture(f"postal code written {spelling!r}", "skema.docx",
              lambda spelling=spelling: fill_form(complete_values(postal_code_city=spelling), mode="typed"),
              EXPECTED) for spelling in POSTAL_SPELLINGS),
    *(Fixture(f"director's date written {spelling!r}", "skema.docx",
              lambda spelling=spelling: fill_form(complete_values(approval_date=spelling), mode="typed"), EXPECTED)
      for spelling in DATE_SPELLINGS),
    Fixture("Label: value inside table cells", "skema.docx", cell_pairs_form,
            expected(motivation="Vi ønsker at styrke netværksinddragelsen. Metoden passer til vores bostøtte.")),
    Fixture("numbers in their own column, edited labels, Ja/Nej columns, repeated headers", "skema.docx",
            relayout_form, EXPECTED),
    Fixture("joint application, content controls", "skema.docx", lambda: fill_form(_JOINT),
            expected(joint_application=True, partners=PARTNERS_READ)),
    Fixture("joint application, typed", "skema.docx", lambda: fill_form(_JOINT, mode="typed"),
            expected(joint_application=True, partners=PARTNERS_READ)),
    Fixture("incomplete", "skema.docx",
            lambda: fill_form(complete_values(contact_email=None, director_name=None, approval_date=None,
                                              already_implemented=None)),
            expected(contact_email=None, director_name=None, approval_date=None, already_implemented=None),
            frozenset({"contact_email", "director_name", "approval_date", "already_implemented"})),
    Fixture("invalid values", "skema.docx",
            lambda: fill_form(complete_values(cvr="12345678", meeting_leaders_count="8", population="900",
                                              contact_email="mette(at)aarhus.dk"), mode="typed"),
            expected(cvr=None, meeting_leaders_count=8, population=900, contact_email=None),
            frozenset({"cvr", "meeting_leaders_count", "population", "contact_email"})),
    Fixture("fillable PDF (AcroForm)", "skema.pdf", lambda: acroform_pdf(complete_values()),
            expected(implementation_team=["Anne Ravn", "Peter Lund", "Ida Krogh"])),
    Fixture("re-saved by LibreOffice", "skema.docx", _lo(lambda: fill_form(complete_values()), ".docx", "docx"),
            expected(motivation=_CONTROLS_VIA_LIBREOFFICE), libreoffice=True),
    Fixture("Word 97-2003 .doc with legacy fields", "skema.doc", _lo(lambda: legacy_form(complete_values()), ".docx",
                                                                          "doc"), EXPECTED, libreoffice=True),
    Fixture("Word 97-2003 .doc, typed", "skema.doc",
            _lo(lambda: fill_form(complete_values(), mode="typed"), ".docx", "doc"), EXPECTED, libreoffice=True),
    Fixture("PDF export, typed", "skema.pdf", _lo(lambda: fill_form(complete_values(), mode="typed"), ".docx", "pdf"),
            EXPECTED, libreoffice=True),
    Fixture("PDF export of legacy checkboxes (drawn crosses)", "skema.pdf",
            _lo(lambda: legacy_form(complete_values()), ".docx", "pdf"), EXPECTED, libreoffice=True),
    Fixture("PDF export of a joint application", "skema.pdf", _lo(lambda: fill_form(_JOINT, mode="typed"), ".docx",
                                                                  "pdf"),
            expected(joint_application=True, partners=PARTNERS_READ), libreoffice=True),
    Fixture("PDF export of Label: value paragraphs", "skema.pdf", _lo(paragraph_form, ".docx", "pdf"), EXPECTED,
            libreoffice=True),
    Fixture("PDF export of paragraphs under bold or heading-styled section headings in the municipality's own "
            "words", "skema.pdf", _lo(bold_headings_form, ".docx", "pdf"), EXPECTED, libreoffice=True),
)


# --- hostile and unreadable files ---------------------------------------------------------------------------

def _zip_bomb() -> bytes:
    return hostile_zip(add={"word/media/image1.xml": b"\x00" * (200 * 1024 * 1024)})


def _doctype() -> bytes:
    import zipfile

    document = zipfile.ZipFile(io.BytesIO(fill_form(complete_values()))).read("word/document.xml")
    bomb = b'?><!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    return hostile_zip(replace={"word/document.xml": document.replace(b"?>", bomb, 1)})


def _encrypted_docx() -> bytes:
    """What Word writes for 'Encrypt with password': an OLE compound file holding EncryptedPackage."""
    sector = b"\x00" * 512
    return (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + sector + "EncryptionInfo".encode("utf-16-le") + sector
            + "EncryptedPackage".encode("utf-16-le") + os.urandom(4096))


def _encrypted_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, encrypt="hemmelig")
    pdf.drawString(72, 720, "1.1 Ansøgende kommune: Aarhus")
    pdf.save()
    return out.getvalue()


def _png_named_docx() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + os.urandom(2048)


@dataclass(frozen=True)
class HostileFile:
    name: str
    filename: str
    build: Callable[[], bytes]
    code: str  # the UnreadableFile code it must be answered with
    words: str  # what the Danish reason must say


HOSTILE: tuple[HostileFile, ...] = (
    HostileFile("zip bomb", "skema.docx", _zip_bomb, "unsafe", "zip-bombe"),
    HostileFile("DOCTYPE with entities", "skema.docx", _doctype, "unsafe", "XML"),
    HostileFile("password-protected Word file", "skema.docx", _encrypted_docx, "encrypted", "adgangskode"),
    HostileFile("password-protected PDF", "skema.pdf", _encrypted_pdf, "encrypted", "PDF"),
    HostileFile("macro-enabled .docm", "skema.docm",
                lambda: hostile_zip(add={"word/vbaProject.bin": os.urandom(512)}), "macro", "makroer"),
    HostileFile("a picture named .docx", "skema.docx", _png_named_docx, "corrupt", "ikke et Word"),
    HostileFile("a truncated .docx", "skema.docx", lambda: fill_form(complete_values())[:3000], "corrupt",
                "beskadiget"),
)


# --- Outlook's winmail.dat ------------------------------------------------------------------------------------

def tnef(files: Mapping[str, bytes]) -> bytes:
    """A minimal TNEF stream (winmail.dat) carrying ``files``, as Outlook sends with rich text on."""
    import struct

    def attribute(level: int, name: int, kind: int, data: bytes) -> bytes:
        return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)

    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += attribute(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # attTnefVersion
    for filename, data in files.items():
        out += attribute(2, 0x9002, 0x0006, b"\x01\x00\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00")
        out += attribute(2, 0x8010, 0x0001, filename.encode("ascii") + b"\x00")
        out += attribute(2, 0x800F, 0x0006, data)
    return out
