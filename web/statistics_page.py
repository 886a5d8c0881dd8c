"""/statistik: the call's management figures, as charts drawn on the server (SVG: no script, the CSP stays
strict), each with its numbers beside it as a table, and all of them as CSV."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from config.rounds import Round
from notifications.locale import date_text, number_text
from storage.queries import in_round
from storage.staff import audit
from storage.statistics import REGIONS, Figures, figures
from web.exports import Cell, table_response
from web.pages import STATUS_LABELS, db_of, render, round_of, settings_of
from web.security import Staff, client_address, current_staff

router = APIRouter()
EXPERIENCE = {"yes": "Har implementeret Åben Dialog", "no": "Har ikke", "unknown": "Ikke oplyst"}


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as the table and the tooltip write it
    x: float
    y: float
    width: float
    height: float

    @property
    def short(self) -> str:
        """The label under the bar, cut to what its width holds (the table beside it has it whole)."""
        room = max(int(self.width / 6.5), 2)
        if len(self.label) <= room:
            return self.label
        day = re.fullmatch(r"(\d+)\. (\w{3})\w+", self.label)  # "2. september" -> "2. sep."
        if day is not None and len(f"{day[1]}. {day[2]}.") <= room:
            return f"{day[1]}. {day[2]}."
        return self.label[:room - 1] + "…"


def bars(items: list[tuple[str, float, str]], width: int = 640, height: int = 160) -> list[Bar]:
    """Vertical bars for ``items`` (label, value, value as text), scaled to the largest."""
    if not items:
        return []
    top = max(value for _, value, _ in items) or 1
    step = width / len(items)
    return [Bar(label, value, shown, round(i * step + step * 0.1, 1), round(height - value / top * height, 1),
                round(step * 0.8, 1), round(value / top * height, 1))
            for i, (label, value, shown) in enumerate(items)]


def _hours(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}".replace(".", ",") + " timer" if value >= 1 else f"{round(value * 60)} minutter"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f}".replace(".", ",") + " %"


def _rows(found: Figures) -> list[list[Cell]]:
    """Every figure of the page as (section, what, value) rows: the CSV."""
    rows: list[list[Cell]] = [["Ansøgninger pr. dag", date_text(day), count] for day, count in found.arrivals]
    rows += [["Status", STATUS_LABELS.get(status, status), count] for status, count in found.statuses.items()]
    rows += [["Svartid", "Fra modtagelse til vores første svar, median (timer)", found.median(found.answered_within)],
             ["Svartid", "Fra anmodning om oplysninger til kommunens svar, median (timer)",
              found.median(found.clarified_within)]]
    for region in REGIONS:
        figures_of = found.regions[region]
        rows.append(["Region", f"{region}: ansøgninger", figures_of.applications])
        rows.append(["Region", f"{region}: borgere i målgruppen", figures_of.target_group])
        rows.append(["Region", f"{region}: indbyggere", figures_of.population])
        rows.append(["Region", f"{region}: målgruppens andel af indbyggerne",
                     None if figures_of.share is None else round(figures_of.share, 6)])
    rows += [["Erfaring", EXPERIENCE[key], count] for key, count in found.experience.items()]
    rows += [["Udvælgelse", "Udvalgt", found.selected], ["Udvælgelse", "Ikke udvalgt", found.not_selected]]
    return rows


def _figures(request: Request, round_: Round) -> Figures:
    settings = settings_of(request)
    with db_of(request).session() as session:
        return figures(session, round_.deadline, settings.call.zone,
                       in_round(round_.name, settings.call_rounds[0].name))


@router.get("/statistik")
def statistics_page(request: Request, staff: Annotated[Staff, Depends(current_staff)],
                    round: str = "") -> Response:
    round_ = round_of(request, round)
    found = _figures(request, round_)
    return render(
        request, "statistics.html", staff, found=found, round=round_, rounds=settings_of(request).call_rounds,
        arrival_bars=bars([(date_text(day)[:-5], count, number_text(count)) for day, count in found.arrivals]),
        status_bars=bars([(STATUS_LABELS.get(status, status), count, number_text(count))
                          for status, count in found.statuses.items()], width=360),
        region_bars=bars([(region, (found.regions[region].share or 0) * 100, _share(found.regions[region].share))
                          for region in REGIONS], width=480),
        experience_bars=bars([(EXPERIENCE[key], count, number_text(count)) for key, count in found.experience.items()],
                             width=360),
        hours=_hours, share=_share, regions=REGIONS, experience_labels=EXPERIENCE)


@router.get("/statistik.csv")
def statistics_csv(request: Request, staff: Annotated[Staff, Depends(current_staff)],
                   round: str = "") -> Response:
    found = _figures(request, round_of(request, round))
    rows = _rows(found)
    with db_of(request).session() as session:
        audit(session, staff.email, "export", detail={"file": "statistik.csv", "rows": len(rows)},
              client=client_address(request))
    return table_response("csv", "statistik", "Statistik", ["Afsnit", "Hvad", "Tal"], rows)
