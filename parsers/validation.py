"""The rules of the form contract: required fields, ranges, cross-field checks. Problems are Danish."""

from __future__ import annotations

from datetime import date

from parsers.form_fields import FIELDS, FIELDS_BY_KEY
from parsers.form_record import FormRecord, Problem


def _problem(key: str, message: str) -> Problem:
    return Problem(key, FIELDS_BY_KEY[key].label, message)


def validate(record: FormRecord, received_on: date) -> list[Problem]:
    """Every problem of ``record``: those found while reading plus the contract's rules."""
    problems = list(record.problems)
    flagged = {p.field for p in problems}
    values = record.as_fields()

    def add(key: str, message: str) -> None:
        if key not in flagged:
            flagged.add(key)
            problems.append(_problem(key, message))

    for spec in FIELDS:
        value = values.get(spec.key)
        if value is None:
            if spec.required:
                add(spec.key, f"Feltet er ikke udfyldt. Vi har brug for {spec.expected}.")
            continue
        if spec.kind == "integer" and spec.minimum is not None and value < spec.minimum:
            add(spec.key, f"»{value}« er for lavt. Vi har brug for {spec.expected}.")
        if spec.kind == "integer" and spec.maximum is not None and value > spec.maximum:
            add(spec.key, f"»{value}« er for højt. Vi har brug for {spec.expected}.")

    if values.get("joint_application") is True and not values.get("partners"):
        add("partners", "Ansøgningen er markeret som et samarbejde, men ingen samarbejdskommuner er angivet. "
                        f"Vi har brug for {FIELDS_BY_KEY['partners'].expected}.")
    size, population = values.get("target_group_size"), values.get("population")
    if isinstance(size, int) and isinstance(population, int) and population < size:
        add("population", f"Antal indbyggere ({population}) er mindre end antal borgere i målgruppen ({size}). "
                          f"Vi har brug for {FIELDS_BY_KEY['population'].expected}.")
    if values.get("director_approved") is False:
        add("director_approved", "Ansøgningen er markeret som ikke godkendt af direktøren. Opslaget kræver, at "
                                 "ansøgningen er direktørgodkendt, før den kan komme i betragtning.")
    approval = values.get("approval_date")
    if isinstance(approval, str) and date.fromisoformat(approval) > received_on:
        add("approval_date", f"Datoen {date.fromisoformat(approval):%d-%m-%Y} ligger efter den dag, ansøgningen "
                             f"blev modtaget ({received_on:%d-%m-%Y}). Vi har brug for "
                             f"{FIELDS_BY_KEY['approval_date'].expected}.")
    order = {spec.key: n for n, spec in enumerate(FIELDS)}
    return sorted(problems, key=lambda p: order.get(p.field, len(order)))
