"""Every state, outcome, status and kind the service stores, as enums. They are ``StrEnum``s stored as the
same strings they always were (no migration), so a row written before reads the same, and ``==`` against a
plain string still holds; code names them here and nowhere else."""

from __future__ import annotations

from enum import StrEnum


class MessageState(StrEnum):
    """Where an inbound email is in its processing."""

    RECEIVED = "received"  # stored (raw archived, row written), not processed yet
    PROCESSED = "processed"  # has its outcome
    ERROR = "error"  # failed; tried again at the next poll
    PARKED = "parked"  # failed every attempt: moved to the quarantine folder, shown to staff


class Outcome(StrEnum):
    """What became of an inbound email."""

    APPLICATION = "application"  # a form: a new application or a new version
    FOLLOW_UP = "follow_up"  # an answer without a form, attached to its application
    REJECTED = "rejected"  # over the size limit, no form, a file that cannot be read, no open round
    IGNORED = "ignored"  # auto-replies, lists, bounces: never answered
    DUPLICATE = "duplicate"  # the same email again
    QUARANTINED = "quarantined"  # beyond the structure limits, or parked


class ApplicationStatus(StrEnum):
    COMPLETE = "complete"
    NEEDS_CLARIFICATION = "needs_clarification"
    REJECTED = "rejected"  # shown, never stored: staff rejected it (``Application.rejected_reason``)
    AWARDED = "awarded"  # shown, never stored: its decision letter (an award) is released
    DECLINED = "declined"  # shown, never stored: its decision letter (a decline) is released


def shown_status(status: str, rejected: bool, released_letter: str | None) -> str:
    """What an application's status reads as: its released decision letter's outcome (``LetterKind``), else
    staff's rejection, else the stored status (``Application.queue_status`` and the queue's index alike)."""
    if released_letter is not None:
        return ApplicationStatus.AWARDED if released_letter == "award" else ApplicationStatus.DECLINED
    return ApplicationStatus.REJECTED if rejected else status


class ReplyStatus(StrEnum):
    PENDING = "pending"  # waits in the outbox
    SENT = "sent"
    FAILED = "failed"  # given up on, or bounced
    HELD = "held"  # over a rate limit: waits for staff


class ReplyKind(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    CLARIFICATION = "clarification"
    SIZE_REJECTION = "size_rejection"
    REJECTION = "rejection"
    RECEIPT = "receipt"
    DECISION = "decision"  # the letter with the outcome of the application (award or decline)
    STAFF_REPLY = "staff_reply"  # written by a caseworker in the web app (not automatic: no Auto-Submitted)
    FORWARD = "forward"  # a municipality's question passed on to the call's questions address by a caseworker

    @property
    def written_by_staff(self) -> bool:
        """Sent because a person wrote or forwarded it: RFC 3834's ``Auto-Submitted`` does not apply."""
        return self in (ReplyKind.STAFF_REPLY, ReplyKind.FORWARD)


class Handled(StrEnum):
    """How a caseworker dealt with an inbound email that needed a person (``storage.attention``)."""

    ANSWERED = "answered"  # a reply written in the web app
    FORWARDED = "forwarded"  # passed on to the call's questions address
    LINKED = "linked"  # tied to the application it concerns
    NOTED = "noted"  # marked handled with a note (answered by phone, nothing to do …)


class Attention(StrEnum):
    """Why something is on the caseworker's start page ("Til behandling")."""

    QUESTION = "question"  # an email without a form, not tied to any application
    FOLLOW_UP = "follow_up"  # an email without a form, tied to an application
    AFTER_DECISION = "after_decision"  # a follow-up that came after the application's decision letter
    TROUBLE = "trouble"  # parked, quarantined, or failing again and again
    FORGED = "forged"  # the receiving server found the sender forged: not answered, for a person to judge
    OVERDUE = "overdue"  # a clarification request whose answer-by date has passed
    NOT_REVIEWED = "not_reviewed"  # an application nobody has reviewed yet


class StaffRole(StrEnum):
    """What a staff member may do: staff read, correct and propose; an approver also approves or returns a
    proposed selection; an admin may do everything an approver may."""

    STAFF = "staff"
    APPROVER = "approver"
    ADMIN = "admin"

    @property
    def may_approve(self) -> bool:
        return self in (StaffRole.APPROVER, StaffRole.ADMIN)


class DecisionState(StrEnum):
    """Where a round's selection is: proposed by staff, returned or approved by an approver, letters sent."""

    PROPOSED = "proposed"
    RETURNED = "returned"  # sent back with a comment; staff propose again
    APPROVED = "approved"  # frozen; the letters are drafted
    SENT = "sent"  # every letter queued in the outbox
    WITHDRAWN = "withdrawn"  # taken back by the one who proposed it, before an approver decided


class LetterState(StrEnum):
    """Where one decision letter is: the one vocabulary every page uses, from the reply's real status."""

    DRAFTED = "drafted"  # not approved in its present words (new, or edited after approval)
    APPROVED = "approved"  # approved as it reads now; not yet released
    QUEUED = "queued"  # in the outbox (waiting, retried, or held by the rate limit)
    SENT = "sent"  # the relay took it
    FAILED = "failed"  # given up on, or bounced
    NO_ADDRESS = "no_address"  # released, but no message of the application has an address to answer


class LetterKind(StrEnum):
    AWARD = "award"
    DECLINE = "decline"
