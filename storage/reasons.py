"""Why an email got its outcome, as a code with parameters (stored as ``reason_code`` + ``reason_params``).

The pipeline writes these; ``notifications.locale`` says them in Danish or English for the web pages, the CLI,
exports and logs alike. Parameters are JSON-able; a reason that must not be answered carries ``no_reply``: a
:class:`NoReplyCode` and its detail (the header, the address).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ReasonCode(StrEnum):
    COMPLETE = "complete"
    TO_CLARIFY = "to_clarify"  # count
    DUPLICATE = "duplicate"  # original (message id), received (ISO, UTC)
    OVERSIZED = "oversized"  # size, limit (bytes); never downloaded
    NOT_ANSWERED = "not_answered"  # no automatic reply (``no_reply``); bounced_reply, bounced_to for our bounces
    QUARANTINED = "quarantined"  # limit (QuarantineCode), detail
    FORM_UNREADABLE = "form_unreadable"  # files: [{filename, code, cause, …}]
    FOLLOW_UP = "follow_up"  # reference, found_by (ThreadMatch)
    NO_FORM = "no_form"
    NO_ATTACHMENTS = "no_attachments"
    ROUND_CLOSED = "round_closed"
    LEGACY = "legacy"  # written as English text before the codes (``text``)


class NoReplyCode(StrEnum):
    """RFC 3834 and our own rules: why an email gets no automatic reply (``detail``: what showed it)."""

    AUTO_SUBMITTED = "auto_submitted"
    PRECEDENCE = "precedence"
    LIST_HEADER = "list_header"
    SUPPRESSED = "suppressed"  # X-Auto-Response-Suppress
    NULL_RETURN_PATH = "null_return_path"
    REPORT = "report"  # a delivery or disposition report
    NO_SENDER = "no_sender"
    ROBOT_SENDER = "robot_sender"
    OURSELVES = "ourselves"
    OUR_MESSAGE = "our_message"  # one of our own Message-IDs came back
    RAW_UNAVAILABLE = "raw_unavailable"  # the worker gave up and the stored email could not be read
    AUTHENTICATION_FAILED = "authentication_failed"  # the receiving server found the sender forged (RFC 8601)


class QuarantineCode(StrEnum):
    TOO_DEEP = "too_deep"
    TOO_MANY_PARTS = "too_many_parts"
    TOO_MANY_HEADERS = "too_many_headers"
    HEADER_LINE_TOO_LONG = "header_line_too_long"
    UNPARSEABLE = "unparseable"
    OVER_MEMORY_BUDGET = "over_memory_budget"  # reading it would take more than limits.max_message_memory_mb
    WORKER_GAVE_UP = "worker_gave_up"


class ThreadMatch(StrEnum):
    """How an answer was tied to its application."""

    REFERENCE = "reference"  # the reference in the subject
    MESSAGE_ID = "message_id"  # In-Reply-To/References name one of our replies or received emails
    SENDER = "sender"  # the sender's address


@dataclass(frozen=True)
class NoReply:
    code: NoReplyCode
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"code": str(self.code), "detail": self.detail}


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    params: dict[str, Any] = field(default_factory=dict)

    def with_no_reply(self, no_reply: NoReply) -> Reason:
        return Reason(self.code, {**self.params, "no_reply": no_reply.as_dict()})

    @property
    def no_reply_code(self) -> str | None:
        """Why the loop rules kept the sender from an automatic reply (a ``NoReplyCode``), if they did."""
        no_reply = self.params.get("no_reply")
        return str(no_reply.get("code")) if isinstance(no_reply, dict) else None

    @property
    def answered(self) -> bool:
        """False when the loop rules kept the sender from getting an automatic reply."""
        return "no_reply" not in self.params

    @classmethod
    def stored(cls, code: str | None, params: dict[str, Any] | None) -> Reason | None:
        if code is None:
            return None
        try:
            return cls(ReasonCode(code), dict(params or {}))
        except ValueError:  # a code from a newer version: kept, shown as stored
            return cls(ReasonCode.LEGACY, {"text": f"{code} {params or ''}"})


class GroundCode(StrEnum):
    """A ground of a round's decision on one application: the letter words each one once, the ranking shows
    each to staff (``notifications.locale``). Parameters as noted."""

    SELECTED = "selected"  # rank, ranked, target_group_total, population_total, share, without_experience
    RANKED_LOWER = "ranked_lower"  # the same, and lowest_selected_share
    TIED = "tied"  # rank, with: the others on that rank ("Herning Kommune (AD-2019-0008)")
    SELECTION_REASON = "selection_reason"  # the selection departs from the order (a tie split): reason
    REJECTED = "rejected"  # ground: what staff gave the municipality (None: a rejection from before grounds)
    INCOMPLETE = "incomplete"  # missing: the labels of what is missing or wrong
    NOT_APPROVED = "not_approved"  # 8.1 answered "Nej" (or not "Ja" after a correction): the call's minimum
    NUMBERS_MISSING = "numbers_missing"  # 4.1 or 4.2 cannot be counted
    LATE = "late"  # received after the deadline and not admitted: received (ISO), deadline (ISO)
    LATE_ADMITTED = "late_admitted"  # received after the deadline, assessed all the same: reason (None: the rule)
    NOT_ASSESSED = "not_assessed"  # not part of the frozen ranking (arrived after the proposal)


@dataclass(frozen=True)
class Ground:
    code: GroundCode
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), **self.params}
