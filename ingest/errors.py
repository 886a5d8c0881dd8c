"""The intake's errors (under the project's root, ``config.errors.UipIntakeError``) and the control-flow
signals that end one message's pipeline (``PipelineSignal``: never caught by ``except Exception``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError

from config.errors import PipelineSignal, UipIntakeError
from storage.archive import ArchiveUnavailable
from storage.reasons import Reason
from storage.states import Outcome

if TYPE_CHECKING:
    from storage import Application


class MailboxError(UipIntakeError):
    """The mailbox could not be reached or answered unexpectedly; the poll is retried later."""


class WorkerConflict(UipIntakeError):
    """Another worker holds the mailbox (SQLite allows one); this one must not start."""


# an outage, not a fault of the message: the poll stops and no message is charged an attempt
OUTAGES = (MailboxError, ArchiveUnavailable, DBAPIError)


class StopPipeline(PipelineSignal):
    """Ends the pipeline for one message with an outcome; caught in one place, the pipeline loop."""

    outcome: Outcome

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.code)
        self.reason = reason


class IgnoreMessage(StopPipeline):
    """Stored, never answered: auto-replies, bounces, lists (RFC 3834)."""

    outcome = Outcome.IGNORED


class DuplicateMessage(StopPipeline):
    """The same email seen before: no second application, no second reply."""

    outcome = Outcome.DUPLICATE


class RejectMessage(StopPipeline):
    """Stored and answered with the reply ``template`` explaining what to do (None: not answered, when the
    loop rules forbid it)."""

    outcome = Outcome.REJECTED

    def __init__(self, reason: Reason, template: str | None, application: Application | None = None,
                 **context: Any) -> None:
        super().__init__(reason)
        self.template = template
        self.application = application  # the application the answer belongs to, when it follows one up
        self.context = context


class QuarantineMessage(RejectMessage):
    """A message beyond the structure limits, or one the worker gave up on: moved to the quarantine folder,
    kept for staff, and its sender asked to send it again in an ordinary form (when it may be answered)."""

    outcome = Outcome.QUARANTINED


class FollowUpMessage(RejectMessage):
    """An answer to an application without a new form: attached to it for staff, with a short receipt."""

    outcome = Outcome.FOLLOW_UP
