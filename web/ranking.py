"""The call's award criteria, applied as form-spec.md defines them. Pure: plain values in, a ranking out.

Only complete, director-approved applications (not rejected by staff) are eligible. They are ordered by
1. the relative size of the target group: the sum of the target groups of every municipality in the
   application divided by the sum of their populations (larger first), then
2. experience: the share of its municipalities that have *not* implemented Open Dialogue (larger first).
Equal on both criteria is a tie: the same rank, shown as such; staff decide, and a selection that departs
from the order (one of a tie chosen, or a lower one chosen over a higher) needs their stated reason. Fractions
are exact, so a tie is a tie and not a rounding accident. A late application is ranked only under the round's
rule (``call.late_policy = "admit"``) or when staff admitted it with a reason. Why an application is not ranked
is a list of grounds (codes with parameters), each worded once by ``notifications.locale``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from fractions import Fraction
from typing import Any, Literal

from parsers import Problem
from parsers.problem_codes import ProblemCode
from storage.reasons import Ground, GroundCode

LatePolicy = Literal["exclude", "admit"]
MIN_SELECTED, MAX_SELECTED = 3, 5


# what the ranking reads of an application's form (more is loaded only for corrected applications, whose
# problems are worked out again from all their fields)
RANKING_FIELDS = frozenset({"target_group_size", "population", "already_implemented", "joint_application",
                            "partners", "director_approved"})


@dataclass(frozen=True)
class Candidate:
    """What the ranking needs of one application (its effective fields: read, then corrected by staff)."""

    reference: str
    municipality: str | None
    received_at: datetime
    complete: bool
    fields: Mapping[str, Any]
    problems: tuple[Problem, ...] = ()
    late: bool = False
    selected: bool = False
    rejected_reason: str | None = None  # staff's internal note; set: rejected
    rejected_ground: str | None = None  # the ground staff gave the municipality
    late_admitted: str | None = None  # why staff admitted it though it is late

    @property
    def problem_labels(self) -> tuple[str, ...]:
        return tuple(p.label for p in self.problems)

    @property
    def problem_fields(self) -> frozenset[str]:
        return frozenset(p.field for p in self.problems)


@dataclass(frozen=True)
class Member:
    """One municipality of an application, with the inputs it contributes."""

    name: str
    target_group_size: int | None
    population: int | None
    experienced: bool | None  # True: has already implemented Open Dialogue
    experience_from: str = "5.1"  # where the experience answer comes from

    @property
    def counted(self) -> bool:
        return self.target_group_size is not None and self.population is not None


@dataclass(frozen=True)
class Ranked:
    candidate: Candidate
    members: tuple[Member, ...]
    target_group_total: int
    population_total: int
    share: Fraction  # criterion 1
    without_experience: Fraction  # criterion 2
    rank: int = 0
    tied: bool = False
    warnings: tuple[str, ...] = ()
    tied_with: tuple[str, ...] = ()  # the others on the same rank, "Holbæk Kommune (AD-2019-0009)"
    late_admitted: str | None = None  # late but ranked: staff's reason, or "" under the round's rule

    @property
    def joint(self) -> bool:
        return len(self.members) > 1


@dataclass(frozen=True)
class NotEligible:
    candidate: Candidate
    grounds: tuple[Ground, ...]


@dataclass
class Ranking:
    ranked: list[Ranked] = field(default_factory=list)
    not_eligible: list[NotEligible] = field(default_factory=list)

    @property
    def selected(self) -> list[Ranked]:
        return [r for r in self.ranked if r.candidate.selected]

    def passed_over(self) -> list[Ranked]:
        """Ranked applications not selected though one selected is ranked below them or on the same rank: a
        departure from the order (a tie split at the cut, or a lower one chosen) that needs staff's reason."""
        lowest = max((r.rank for r in self.selected), default=0)
        return [r for r in self.ranked if not r.candidate.selected and r.rank <= lowest]

    def departing(self) -> set[str]:
        """The references whose letters must give the reason for a departure from the order: those passed
        over, and every selected one on their rank or below it."""
        passed = self.passed_over()
        if not passed:
            return set()
        best_passed = min(r.rank for r in passed)
        return ({r.candidate.reference for r in passed}
                | {r.candidate.reference for r in self.selected if r.rank >= best_passed})


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def members_of(candidate: Candidate) -> tuple[tuple[Member, ...], tuple[str, ...]]:
    """The applicant and its partners (a partner row naming the applicant itself is not counted twice)."""
    fields = candidate.fields
    experienced = fields.get("already_implemented")
    applicant = Member(candidate.municipality or "?", _int(fields.get("target_group_size")),
                       _int(fields.get("population")), experienced if isinstance(experienced, bool) else None)
    members, warnings = [applicant], []
    if fields.get("joint_application") is True:
        for partner in fields.get("partners") or []:
            name = str(partner.get("municipality") or "?")
            if name == applicant.name:
                warnings.append(f"{name} står også i tabellen over samarbejdskommuner og er talt med én gang")
                continue
            own = partner.get("already_implemented")
            member = Member(name, _int(partner.get("target_group_size")), _int(partner.get("population")),
                            own if isinstance(own, bool) else applicant.experienced,
                            "3.2" if isinstance(own, bool) else "5.1 (gælder hele ansøgningen)")
            if not member.counted:
                warnings.append(f"{name}: antal borgere i målgruppen eller indbyggere mangler; ikke talt med")
            members.append(member)
    return tuple(members), tuple(warnings)


def _label(name: str, reference: str) -> str:
    return f"{name} ({reference})"


def ineligible_because(candidate: Candidate, late_policy: LatePolicy = "exclude") -> list[Ground]:
    """Why ``candidate`` is not ranked, each ground once: a director's "Nej" is the call's minimum requirement
    not met, never a gap in the form."""
    grounds = []
    if candidate.rejected_reason:
        grounds.append(Ground(GroundCode.REJECTED, {"ground": candidate.rejected_ground}))
    approval = candidate.fields.get("director_approved")
    refused = approval is False or any(p.code == ProblemCode.NOT_APPROVED for p in candidate.problems)
    if refused:
        grounds.append(Ground(GroundCode.NOT_APPROVED))
    gaps = [p for p in candidate.problems if not (refused and p.field == "director_approved")]
    if not candidate.complete and gaps:
        grounds.append(Ground(GroundCode.INCOMPLETE, {"missing": list(dict.fromkeys(p.label for p in gaps))}))
    elif not candidate.complete and not refused:
        grounds.append(Ground(GroundCode.INCOMPLETE, {"missing": []}))
    flagged = candidate.problem_fields
    if approval is not True and not refused and "director_approved" not in flagged:
        grounds.append(Ground(GroundCode.NOT_APPROVED))  # a corrected 8.1 that is not "Ja"
    numbers = ("target_group_size", "population")
    if any(_int(candidate.fields.get(k)) is None for k in numbers) and not flagged & set(numbers):
        grounds.append(Ground(GroundCode.NUMBERS_MISSING))
    if candidate.late and late_policy == "exclude" and candidate.late_admitted is None:
        grounds.append(Ground(GroundCode.LATE, {"received": candidate.received_at.isoformat()}))
    return grounds


def score(candidate: Candidate) -> Ranked:
    members, warnings = members_of(candidate)
    counted = [m for m in members if m.counted]
    target = sum(m.target_group_size or 0 for m in counted)
    population = sum(m.population or 0 for m in counted)
    known = [m for m in members if m.experienced is not None]
    without = Fraction(sum(1 for m in known if m.experienced is False), len(known)) if known else Fraction(0)
    if not known:
        warnings = (*warnings, "Erfaring (5.1) er ikke oplyst; regnet som erfaring")
    return Ranked(candidate, members, target, population, Fraction(target, population) if population else
                  Fraction(0), without, warnings=warnings)


def _criteria(r: Ranked) -> tuple[float, Fraction, float, Fraction]:
    """Both criteria, each as a float and then exactly: a float is correctly rounded, so it never orders two
    fractions the wrong way round, and only fractions whose floats are equal are compared as fractions."""
    return float(r.share), r.share, float(r.without_experience), r.without_experience


def rank(candidates: Iterable[Candidate], late_policy: LatePolicy = "exclude") -> Ranking:
    """Larger shares first, then more without experience; equal on both: the earlier received (then the
    reference) first, with the same rank and shown as tied."""
    result = Ranking()
    scored = []
    for candidate in candidates:
        grounds = ineligible_because(candidate, late_policy)
        if grounds:
            result.not_eligible.append(NotEligible(candidate, tuple(grounds)))
        else:
            ranked = score(candidate)
            if candidate.late:
                ranked = replace(ranked, late_admitted=candidate.late_admitted or "")
            scored.append(ranked)
    scored.sort(key=lambda r: (r.candidate.received_at, r.candidate.reference))
    scored.sort(key=_criteria, reverse=True)  # stable: equal criteria keep the order by arrival
    keys = [(r.share, r.without_experience) for r in scored]
    on_key: dict[tuple[Fraction, Fraction], list[Ranked]] = {}
    for item, key in zip(scored, keys, strict=True):
        on_key.setdefault(key, []).append(item)
    number = 0
    for position, item in enumerate(scored):
        same_as_previous = position > 0 and keys[position - 1] == keys[position]
        tied = same_as_previous or (position + 1 < len(keys) and keys[position + 1] == keys[position])
        number = number if same_as_previous else position + 1
        others = tuple(_label(o.candidate.municipality or "?", o.candidate.reference)
                       for o in on_key[keys[position]] if o is not item) if tied else ()
        result.ranked.append(replace(item, rank=number, tied=tied, tied_with=others))
    result.not_eligible.sort(key=lambda n: (n.candidate.received_at, n.candidate.reference))
    return result
