"""The ranking kept between requests: worked out again only when an application of the round, or a correction,
changed since it was last worked out. Every UPDATE of an application bumps its revision (storage.models), so
comparing the round's (id, revision) pairs, read in one light query, tells whether the kept ranking still holds.
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from config import Settings
from config.rounds import Round
from storage.queries import ranking_inputs
from web.decisions import ranking_of
from web.ranking import Ranking


class RankingCache:
    """One ranking per round, with the inputs it was worked out from. A kept ranking is shared between
    requests: it is read, never changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[tuple[object, ...], Ranking]] = {}

    def ranking(self, settings: Settings, session: Session, round_: Round) -> Ranking:
        # the inputs are read first: a change committed while the ranking is worked out then leaves it kept
        # under inputs that never come back (a miss next time), never under the inputs of the changed state
        inputs = ranking_inputs(session, round_.name, settings.call_rounds[0].name)
        with self._lock:
            kept = self._kept.get(round_.name)
        if kept is not None and kept[0] == inputs:
            return kept[1]
        ranking = ranking_of(settings, session, round_)
        with self._lock:
            self._kept[round_.name] = (inputs, ranking)
        return ranking
