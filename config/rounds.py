"""Application rounds as data: a name, an opening, a deadline and how many may be selected.

Mail belongs to the round whose window holds its receipt time: from the round's ``opens`` until its
``closes`` or, without one, until the next round opens (mail after the deadline is taken in and marked late,
as the call's own practice was). The current call is the first round; with no ``[[rounds]]`` configured it
is the only one, made from ``[call]`` (open from the start, deadline ``call.deadline``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

DEFAULT_MAX_SELECTED = 5  # the call: "3-5 municipalities"


class Round(BaseModel):
    model_config = {"extra": "forbid", "frozen": True}

    name: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
    opens: datetime | None = None  # None: open from the start
    deadline: datetime
    closes: datetime | None = None  # None: open (late) until the next round opens
    max_selected: int = Field(DEFAULT_MAX_SELECTED, ge=1, le=98)

    def end(self, following: Round | None) -> datetime | None:
        """When mail stops belonging to this round (None: never)."""
        ends = [t for t in (self.closes, following.opens if following else None) if t is not None]
        return min(ends) if ends else None


def checked(rounds: Sequence[Round]) -> tuple[Round, ...]:
    """``rounds`` in opening order; raises ValueError naming the round when its times are out of order, names
    repeat or windows overlap."""
    for r in rounds:
        if r.opens is not None and r.opens >= r.deadline:
            raise ValueError(f"round {r.name!r}: opens must be before its deadline")
        if r.closes is not None and r.closes < r.deadline:
            raise ValueError(f"round {r.name!r}: closes must not be before its deadline")
    ordered = sorted(rounds, key=lambda r: (r.opens is not None, r.opens or r.deadline))
    names = [r.name for r in ordered]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"round {name!r} is configured twice")
    for earlier, later in itertools.pairwise(ordered):
        if later.opens is None:
            raise ValueError(f"round {later.name!r}: only the first round may leave out opens")
        if later.opens < earlier.deadline:
            raise ValueError(f"round {later.name!r} opens before round {earlier.name!r}'s deadline")
    return tuple(ordered)


def round_at(rounds: Sequence[Round], moment: datetime) -> Round | None:
    """The round mail received at ``moment`` belongs to; None when no round is open then."""
    for index, candidate in enumerate(rounds):
        following = rounds[index + 1] if index + 1 < len(rounds) else None
        end = candidate.end(following)
        if (candidate.opens is None or candidate.opens <= moment) and (end is None or moment < end):
            return candidate
    return None


def next_opening(rounds: Sequence[Round], moment: datetime) -> Round | None:
    """The first round that opens after ``moment``, if one is known."""
    return next((r for r in rounds if r.opens is not None and r.opens > moment), None)


def current_round(rounds: Sequence[Round], moment: datetime) -> Round:
    """The round staff work on by default: the one open at ``moment``, else the last one that has opened, else
    the first."""
    found = round_at(rounds, moment)
    if found is not None:
        return found
    opened = [r for r in rounds if r.opens is None or r.opens <= moment]
    return opened[-1] if opened else rounds[0]


def by_name(rounds: Sequence[Round], name: str) -> Round | None:
    return next((r for r in rounds if r.name == name), None)


def stored_round(rounds: Sequence[Round], name: str | None) -> Round | None:
    """The round an application stored as ``name``; None stored (from before rounds existed) is the first.
    None when the name is no longer configured."""
    return by_name(rounds, name) if name else rounds[0]
