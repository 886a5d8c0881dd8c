"""The ranking by the call's award criteria, staff's selection of 3–5, and its export."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from config.rounds import Round
from notifications.locale import ground_label
from storage.coordination import serialise
from storage.decision_rule import SELECTION_LOCK, RoundChange, rule
from storage.models import utcnow
from storage.queries import get_application
from storage.staff import audit
from web.decisions import OPEN_STATES, latest_decision, ranking_of
from web.exports import Cell, table_response
from web.pages import Pages, db_of, page_holding, redirect, render, round_of, settings_of
from web.ranking import MIN_SELECTED, Ranking
from web.ranking_cache import RankingCache
from web.security import Staff, checked_staff, client_address, current_staff

router = APIRouter()


def kept_ranking(request: Request, session: Session, round_: Round) -> Ranking:
    """The round's ranking for a page or an export: the one kept, unless something it reads has changed since.
    What changes the selection works the ranking out afresh, inside its own transaction."""
    cache: RankingCache = request.app.state.rankings
    return cache.ranking(settings_of(request), session, round_)


@router.get("/ranking")
def ranking_page(request: Request, staff: Annotated[Staff, Depends(current_staff)],
                 round: str = "", page: int = 1, other_page: int = 1) -> Response:
    """The whole ranking is worked out (ranks, ties and the selection count need every application); the
    ranked list and the list of the others are shown a page at a time, each with its own page number."""
    round_ = round_of(request, round)
    with db_of(request).session() as session:
        ranking = kept_ranking(request, session, round_)
        decision = latest_decision(session, round_.name)
        ranked_pages = Pages.of(request, len(ranking.ranked), page, fragment="rangorden")
        other_pages = Pages.of(request, len(ranking.not_eligible), other_page, param="other_page",
                               label="Sider, ikke med i rangordenen", fragment="ikke-med")
        return render(request, "ranking.html", staff, ranking=ranking, min_selected=MIN_SELECTED,
                      max_selected=round_.max_selected, round=round_, rounds=settings_of(request).call_rounds,
                      decision=decision, locked=decision is not None and decision.state in OPEN_STATES,
                      passed_over=ranking.passed_over(),
                      ranked=ranked_pages.slice(ranking.ranked), ranked_pages=ranked_pages,
                      others=other_pages.slice(ranking.not_eligible), other_pages=other_pages,
                      selected_links=[(r.candidate.reference,
                                       ranked_pages.link(page_holding(n), f"r-{r.candidate.reference}"))
                                      for n, r in enumerate(ranking.ranked) if r.candidate.selected])


@router.post("/ranking/select")
def select(request: Request, staff: Annotated[Staff, Depends(checked_staff)], reference: Annotated[str, Form()],
           selected: Annotated[str, Form()] = "yes") -> Response:
    """Select (or deselect) one application; the 3–5 cap is checked and the choice written in one transaction
    that holds every other selection until it commits, so parallel clicks never select a sixth."""
    with db_of(request).session() as session:
        serialise(session, SELECTION_LOCK)  # first, so what is read next is what the others committed
        application = get_application(session, reference)
        if application is None:
            raise HTTPException(404, f"Der er ingen ansøgning med referencen {reference}.")
        round_ = round_of(request, application.round or settings_of(request).call_rounds[0].name)
        default = round_of(request).name == round_.name
        back = "/ranking" if default else f"/ranking?round={quote(round_.name)}"
        if rule(session, round_.name, RoundChange.SELECT).refused:
            return redirect(request, back, flash="decision_locked")
        ranking = ranking_of(settings_of(request), session, round_)
        position = next((n for n, r in enumerate(ranking.ranked)
                         if r.candidate.reference == application.reference), None)
        if position is not None and page_holding(position) > 1:  # back to the page the click came from
            back += ("&" if "?" in back else "?") + f"page={page_holding(position)}"
        choose = selected == "yes"
        if choose and not application.selected:
            if position is None:
                return redirect(request, back, flash="not_eligible")
            if len(ranking.selected) >= round_.max_selected:
                return redirect(request, back, flash="too_many")
        application.selected = choose
        application.selected_at, application.selected_by = (utcnow(), staff.email) if choose else (None, None)
        audit(session, staff.email, "select" if choose else "deselect", reference=application.reference,
              client=client_address(request))
        return redirect(request, back, flash="selected" if choose else "deselected",
                        anchor=f"r-{application.reference}")


RANKING_HEADER = ["Placering", "Lige med andre", "Reference", "Kommune(r)", "Fælles ansøgning",
                  "Borgere i målgruppen (sum)", "Indbyggere (sum)", "Kriterium 1: målgruppens andel (%)",
                  "Kriterium 2: andel uden erfaring (%)", "Input pr. kommune", "Bemærkninger", "For sent",
                  "Udvalgt", "Ikke med i rangordenen, fordi"]


def ranking_table(ranking: Ranking) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for r in ranking.ranked:
        inputs = " | ".join(f"{m.name}: {m.target_group_size or '?'} / {m.population or '?'}, "
                            f"erfaring {'?' if m.experienced is None else 'Ja' if m.experienced else 'Nej'}"
                            for m in r.members)
        rows.append([r.rank, r.tied, r.candidate.reference, ", ".join(m.name for m in r.members), r.joint,
                     r.target_group_total, r.population_total, round(float(r.share) * 100, 4),
                     round(float(r.without_experience) * 100, 2), inputs, " | ".join(r.warnings), r.candidate.late,
                     r.candidate.selected, None])
    for n in ranking.not_eligible:
        rows.append([None, None, n.candidate.reference, n.candidate.municipality, None, None, None, None, None,
                     None, None, n.candidate.late, n.candidate.selected,
                     " | ".join(ground_label(g.as_dict()) for g in n.grounds)])
    return rows


@router.get("/ranking.{kind}")
def ranking_export(request: Request, kind: str, staff: Annotated[Staff, Depends(current_staff)],
                   round: str = "") -> Response:
    if kind not in ("csv", "xlsx"):
        raise HTTPException(404, "Eksporten findes som .csv og .xlsx.")
    round_ = round_of(request, round)
    with db_of(request).session() as session:
        rows = ranking_table(kept_ranking(request, session, round_))
        audit(session, staff.email, "export", detail={"file": f"rangorden.{kind}", "rows": len(rows)},
              client=client_address(request))
    return table_response(kind, "rangorden", "Rangorden", RANKING_HEADER, rows)
