"""The one rule for what may change in a round while its decision is open.

Once staff propose a selection, the ranking it rests on is frozen into the decision's snapshot; what the
approver approves and the letters say must be what the municipalities were assessed on. So while a decision
is proposed, approved or sent, every change that would alter a ground — selecting, rejecting, reopening,
correcting a field, admitting a late application — is refused (the proposer may withdraw the proposal to make
it); what cannot alter a ground (a note, a review mark, a clarification and its withdrawal or reminder, and
a new version the municipality mails in) is allowed and recorded against the decision, which shows it as a
change since the snapshot. Every route that changes an application asks here, in its own transaction, after
taking the lock that a proposal takes, so no change slips in between the check and the proposal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.coordination import serialise
from storage.models import Decision
from storage.states import DecisionState

OPEN_STATES = (DecisionState.PROPOSED, DecisionState.APPROVED, DecisionState.SENT)
SELECTION_LOCK = "selection"  # what proposing, selecting and every change below serialise on


class RoundChange(StrEnum):
    """What staff or the worker do to an application of a round."""

    SELECT = "select"
    REJECT = "reject"
    REOPEN = "reopen"
    CORRECT = "correct"
    ADMIT_LATE = "admit_late"
    NOTE = "note"
    REVIEW = "review"
    CLARIFY = "clarify"
    WITHDRAW_CLARIFICATION = "withdraw_clarification"
    NEW_VERSION = "new_version"  # the municipality mailed a new form


# the changes that alter a ground of the decision: refused while it is open
FROZEN = frozenset({RoundChange.SELECT, RoundChange.REJECT, RoundChange.REOPEN, RoundChange.CORRECT,
                    RoundChange.ADMIT_LATE})


class Verdict(StrEnum):
    FREE = "free"  # no decision is open: the change is made
    REFUSED = "refused"  # it would alter the frozen decision
    RECORDED = "recorded"  # made, and recorded against the open decision (it alters no ground)


@dataclass(frozen=True)
class Ruling:
    verdict: Verdict
    decision: Decision | None = None

    @property
    def refused(self) -> bool:
        return self.verdict == Verdict.REFUSED

    @property
    def audit_detail(self) -> dict[str, int]:
        """What the change's audit entry carries: the open decision it was made against."""
        return {"decision": self.decision.id} if self.verdict == Verdict.RECORDED and self.decision else {}


def latest_decision(session: Session, round_name: str) -> Decision | None:
    return session.scalars(select(Decision).where(Decision.round == round_name).order_by(Decision.id.desc())
                           .limit(1)).first()


def open_decision(session: Session, round_name: str) -> Decision | None:
    """The round's newest decision when it is proposed, approved or sent."""
    latest = latest_decision(session, round_name)
    return latest if latest is not None and latest.state in OPEN_STATES else None


def rule(session: Session, round_name: str, change: RoundChange) -> Ruling:
    """May ``change`` be made to an application of ``round_name`` now? Holds the selection lock until the
    transaction ends."""
    serialise(session, SELECTION_LOCK)
    decision = open_decision(session, round_name)
    if decision is None:
        return Ruling(Verdict.FREE)
    return Ruling(Verdict.REFUSED if change in FROZEN else Verdict.RECORDED, decision)


def drafted_rounds(session: Session) -> list[str]:
    """The rounds whose newest decision is approved: its letters drafted, not yet sent."""
    rounds = sorted(set(session.scalars(select(Decision.round))))
    return [name for name in rounds if (d := open_decision(session, name)) and d.state == DecisionState.APPROVED]
