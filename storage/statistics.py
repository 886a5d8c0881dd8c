"""The call's management figures (the call promises data "for follow-up and management information"): arrivals
per day, status, how fast we answered and how fast municipalities answered us, the target-group share by
region, experience with the method, and the selection. Counts and durations only: no personal data.

Every figure reads an application's current version with staff's corrections on top (what its page shows). A
joint application counts in the region of each of its municipalities, each with its own target group and
population (an application is counted once in a region, however many of its municipalities lie there)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from parsers.municipalities import all_municipalities, find_municipality
from storage.models import Application
from storage.queries import current_values
from storage.states import ApplicationStatus, Outcome, ReplyKind

REGIONS = ("Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland")


@dataclass
class RegionFigures:
    applications: int = 0
    target_group: int = 0
    population: int = 0

    @property
    def share(self) -> float | None:
        return self.target_group / self.population if self.population else None


@dataclass
class Figures:
    arrivals: list[tuple[date, int]] = field(default_factory=list)  # applications first received per day
    statuses: dict[str, int] = field(default_factory=dict)
    answered_within: list[float] = field(default_factory=list)  # hours from arrival to our first reply
    clarified_within: list[float] = field(default_factory=list)  # hours from our clarification to their answer
    regions: dict[str, RegionFigures] = field(default_factory=dict)
    experience: dict[str, int] = field(default_factory=dict)  # yes | no | unknown
    selected: int = 0
    not_selected: int = 0

    @staticmethod
    def median(values: list[float]) -> float | None:
        return statistics.median(values) if values else None

    @staticmethod
    def slowest(values: list[float]) -> float | None:
        return max(values) if values else None


def figures(session: Session, deadline: datetime, zone: ZoneInfo, where: ColumnElement[bool] | None = None
            ) -> Figures:
    """The figures of the applications ``where`` selects (a round's), arrivals counted up to ``deadline``."""
    query = select(Application).options(selectinload(Application.messages), selectinload(Application.replies),
                                        selectinload(Application.corrections))
    if where is not None:
        query = query.where(where)
    applications = list(session.scalars(query.order_by(Application.received_at)))
    values = current_values(session, applications)
    result = Figures()
    per_day = Counter(a.received_at.astimezone(zone).date() for a in applications)
    if applications:
        day, last = min(per_day), max(max(per_day), deadline.astimezone(zone).date())
        while day <= last:
            result.arrivals.append((day, per_day.get(day, 0)))
            day += timedelta(days=1)
    result.statuses = dict(Counter(str(a.queue_status) for a in applications))
    for status in (ApplicationStatus.COMPLETE, ApplicationStatus.NEEDS_CLARIFICATION, ApplicationStatus.REJECTED):
        result.statuses.setdefault(str(status), 0)
    region_of = {m.code: m.region for m in all_municipalities()}
    result.regions = {region: RegionFigures() for region in REGIONS}
    for application in applications:
        fields = {key: value for key, (value, _source) in values.get(application.id, {}).items()}
        fields.update({c.key: c.value for c in application.corrections})  # in order: the newest wins
        _timings(application, result)
        counted: set[str] = set()
        for code, size, population in _members(application, fields):
            region = region_of.get(code or "")
            if region not in result.regions:
                continue
            figures_of = result.regions[region]
            if region not in counted:
                figures_of.applications += 1
                counted.add(region)
            if isinstance(size, int) and isinstance(population, int) and population > 0:
                figures_of.target_group += size
                figures_of.population += population
        experience = fields.get("already_implemented")
        key = "yes" if experience is True else "no" if experience is False else "unknown"
        result.experience[key] = result.experience.get(key, 0) + 1
        if application.selected:
            result.selected += 1
        else:
            result.not_selected += 1
    for key in ("yes", "no", "unknown"):
        result.experience.setdefault(key, 0)
    return result


def _members(application: Application, fields: dict[str, object]) -> list[tuple[str | None, object, object]]:
    """(municipality code, target group, population) of the applicant and, when joint, of each partner."""
    members = [(application.municipality_code, fields.get("target_group_size"), fields.get("population"))]
    partners = fields.get("partners")
    if fields.get("joint_application") is True and isinstance(partners, list):
        for partner in partners:
            if not isinstance(partner, dict):
                continue
            found = find_municipality(str(partner.get("municipality") or ""))
            if found is not None and found.code != application.municipality_code:
                members.append((found.code, partner.get("target_group_size"), partner.get("population")))
    return members


def _timings(application: Application, result: Figures) -> None:
    inbound = sorted((m for m in application.messages if m.outcome in (Outcome.APPLICATION, Outcome.FOLLOW_UP)),
                     key=lambda m: m.received_at)
    sent = sorted((r for r in application.replies if r.sent_at is not None), key=lambda r: r.sent_at or r.created_at)
    if inbound and sent:
        first_reply = next((r for r in sent if r.sent_at and r.sent_at >= inbound[0].received_at), None)
        if first_reply is not None and first_reply.sent_at is not None:
            result.answered_within.append((first_reply.sent_at - inbound[0].received_at).total_seconds() / 3600)
    for reply in sent:
        if reply.kind != ReplyKind.CLARIFICATION or reply.sent_at is None:
            continue
        answer = next((m for m in inbound if m.received_at > reply.sent_at), None)
        if answer is not None:
            result.clarified_within.append((answer.received_at - reply.sent_at).total_seconds() / 3600)

