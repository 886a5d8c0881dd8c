"""The form contract: every field of the application form, its Danish label (the form is Danish), type and rule.
What each field expects, in words, is in ``notifications.locale``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["text", "freetext", "email", "phone", "cvr", "postal", "yesno", "integer", "date",
                    "names", "partners", "municipality"]

FORM_TITLE = "Ansøgningsskema – implementeringsstøtte til Åben Dialog i bostøtten"
PLACEHOLDER = "Klik eller tryk her for at skrive tekst."
DATE_PLACEHOLDER = "Klik eller tryk for at angive en dato."
# Word's placeholder sentences (Danish and English, old and new Word); never a value, even as plain text.
PLACEHOLDERS: tuple[str, ...] = (
    PLACEHOLDER, DATE_PLACEHOLDER, "Klik her for at angive tekst.", "Klik her for at angive en dato.",
    "Vælg et element.", "Click or tap here to enter text.", "Click or tap to enter a date.",
    "Click here to enter text.", "Click here to enter a date.", "Choose an item.",
)


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str
    kind: FieldKind
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None

    @property
    def number(self) -> str:
        return self.label.split(" ", 1)[0]

    @property
    def section(self) -> int:
        return int(self.number.split(".")[0])


@dataclass(frozen=True)
class SectionSpec:
    number: int
    title: str


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(1, "Ansøger"),
    SectionSpec(2, "Kontaktperson"),
    SectionSpec(3, "Samarbejde med andre kommuner"),
    SectionSpec(4, "Målgruppe"),
    SectionSpec(5, "Erfaring med Åben Dialog"),
    SectionSpec(6, "Implementering"),
    SectionSpec(7, "Motivation"),
    SectionSpec(8, "Godkendelse"),
)

PARTNER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("municipality", "Kommune"),
    ("target_group_size", "Antal borgere i målgruppen"),
    ("population", "Antal indbyggere"),
)

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("municipality", "1.1 Ansøgende kommune", "municipality"),
    FieldSpec("department", "1.2 Forvaltning / afdeling", "text"),
    FieldSpec("address", "1.3 Adresse", "text"),
    FieldSpec("postal_code_city", "1.4 Postnummer og by", "postal"),
    FieldSpec("cvr", "1.5 CVR-nummer", "cvr"),
    FieldSpec("contact_name", "2.1 Kontaktperson, navn", "text", required=True),
    FieldSpec("contact_title", "2.2 Kontaktperson, stilling", "text"),
    FieldSpec("contact_email", "2.3 Kontaktperson, e-mail", "email", required=True),
    FieldSpec("contact_phone", "2.4 Kontaktperson, telefon", "phone"),
    FieldSpec("joint_application", "3.1 Søger kommunen i samarbejde med andre kommuner? (Ja / Nej)", "yesno",
              required=True),
    FieldSpec("partners", "3.2 Hvis ja: samarbejdskommuner", "partners"),
    FieldSpec("target_group_size",
              "4.1 Antal borgere i målgruppen (borgere med psykiske vanskeligheder, der modtager støtte "
              "efter serviceloven)", "integer", required=True, minimum=1),
    FieldSpec("population", "4.2 Antal indbyggere i kommunen eller i det område, tilbuddet dækker", "integer",
              required=True, minimum=1),
    FieldSpec("target_group_description", "4.3 Kort beskrivelse af målgruppen", "freetext"),
    FieldSpec("already_implemented", "5.1 Har kommunen allerede implementeret Åben Dialog? (Ja / Nej)", "yesno",
              required=True),
    FieldSpec("experience_description", "5.2 Hvis ja: beskriv kommunens erfaring med metoden", "freetext"),
    FieldSpec("service_unit", "6.1 Tilbud / enhed, hvor metoden skal implementeres", "text"),
    FieldSpec("leader", "6.2 Leder (navn og stilling)", "text"),
    FieldSpec("project_manager", "6.3 Projektleder (navn og e-mail)", "text"),
    FieldSpec("implementation_team", "6.4 Implementeringsteam (navne)", "names"),
    FieldSpec("meeting_leaders_count", "6.5 Antal mødeledere, der ønskes uddannet (højst 6)", "integer",
              required=True, minimum=1, maximum=6),
    FieldSpec("intro_course_count", "6.6 Antal medarbejdere til introduktionskursus (højst 24)", "integer",
              minimum=0, maximum=24),
    FieldSpec("startup_meeting", "6.7 Leder, projektleder og implementeringsteam deltager i opstartsmødet i "
              "Odense medio oktober 2019 (Ja / Nej)", "yesno"),
    FieldSpec("motivation", "7.1 Hvorfor ønsker kommunen at implementere Åben Dialog?", "freetext"),
    FieldSpec("director_approved", "8.1 Ansøgningen er godkendt af direktøren (Ja / Nej)", "yesno",
              required=True),
    FieldSpec("director_name", "8.2 Direktørens navn", "text", required=True),
    FieldSpec("director_title", "8.3 Direktørens stilling", "text"),
    FieldSpec("approval_date", "8.4 Dato for godkendelse", "date", required=True),
)

FIELDS_BY_KEY: dict[str, FieldSpec] = {f.key: f for f in FIELDS}
