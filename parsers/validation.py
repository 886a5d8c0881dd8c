"""The rules of the form contract: required fields, ranges, cross-field checks. Problems are codes with
parameters (``parsers.problem_codes``), worded for the sender and staff by ``notifications.locale``."""

from __future__ import annotations

from datetime import date
from typing import Any

from parsers.form_fields import FIELDS
from parsers.form_record import FormRecord, Problem
from parsers.problem_codes import ProblemCode


def validate(record: FormRecord, received_on: date) -> list[Problem]:
    """Every problem of ``record``: those found while reading plus the contract's rules."""
    problems = list(record.problems)
    flagged = {p.field for p in problems}
    values = record.as_fields()

    def add(key: str, code: ProblemCode, **params: Any) -> None:
        if key not in flagged:
            flagged.add(key)
            problems.append(Problem(key, code, params))

    for spec in FIELDS:
        value = values.get(spec.key)
        if value is None:
            if spec.required:
                add(spec.key, ProblemCode.MISSING)
            continue
        if spec.kind == "integer" and spec.minimum is not None and value < spec.minimum:
            add(spec.key, ProblemCode.TOO_LOW, value=value)
        if spec.kind == "integer" and spec.maximum is not None and value > spec.maximum:
            add(spec.key, ProblemCode.TOO_HIGH, value=value)

    if values.get("joint_application") is True and not values.get("partners"):
        add("partners", ProblemCode.PARTNERS_MISSING)
    size, population = values.get("target_group_size"), values.get("population")
    if isinstance(size, int) and isinstance(population, int) and population < size:
        add("population", ProblemCode.POPULATION_BELOW_TARGET, population=population, target_group_size=size)
    if values.get("director_approved") is False:
        add("director_approved", ProblemCode.NOT_APPROVED)
    approval = values.get("approval_date")
    if isinstance(approval, str) and date.fromisoformat(approval) > received_on:
        add("approval_date", ProblemCode.APPROVAL_AFTER_RECEIPT, approval_date=approval,
            received_on=received_on.isoformat())
    order = {spec.key: n for n, spec in enumerate(FIELDS)}
    return sorted(problems, key=lambda p: order.get(p.field, len(order)))
