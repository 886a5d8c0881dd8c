"""The caseworker's start page, "Til behandling": everything that waits for a person, oldest first
(``storage.attention``), filtered by kind and to what is given to oneself."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from notifications.locale import danish
from storage.attention import attention_items
from storage.states import Attention
from web.pages import Pages, db_of, render, round_of, settings_of
from web.security import Staff, current_staff

router = APIRouter()
KINDS = danish.ATTENTION  # every kind's name, in the order the page counts them


@router.get("/til-behandling")
def attention(request: Request, staff: Annotated[Staff, Depends(current_staff)], kind: str = "", mine: str = "",
              page: int = 1) -> Response:
    round_, rounds = round_of(request), settings_of(request).call_rounds
    with db_of(request).session() as session:
        items = attention_items(session, round_.name, rounds[0].name)
        own = [item for item in items if item.assigned_to == staff.email]
        listed = own if mine == "yes" else items
        counts = Counter(str(item.kind) for item in listed)
        shown = [item for item in listed if not kind or item.kind == kind]
        pages = Pages.of(request, len(shown), page)
        return render(request, "attention.html", staff, items=pages.slice(shown), matching=len(shown),
                      total=len(listed), counts=counts, own=len(own), all_count=len(items), kind=kind, mine=mine,
                      kinds=[(str(k), KINDS[k]) for k in Attention], pages=pages, round=round_)
