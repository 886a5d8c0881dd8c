"""The pipeline: stages in one tuple, control-flow exceptions caught in one loop.

The caller commits once per message: the outcome, the stored application and the queued reply
land together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable

from ingest.context import MessageContext
from ingest.errors import RejectMessage, StopPipeline
from ingest.handlers import (
    acknowledge,
    application,
    attachments,
    duplicates,
    find_form,
    loop_guard,
    oversized,
    round_open,
    structure,
    thread,
    validate_form,
)
from ingest.mime import header
from notifications.reply_queue import queue_reply
from storage.models import utcnow
from storage.reasons import Reason, ReasonCode
from storage.states import ApplicationStatus, MessageState, Outcome

Stage = Callable[[MessageContext], None]

PIPELINE: tuple[Stage, ...] = (
    duplicates.process,
    structure.process,
    loop_guard.process,
    attachments.process,
    thread.process,
    round_open.process,
    find_form.process,
    validate_form.process,
    application.process,
    acknowledge.process,
)
# a message over the size limit: judged on its headers alone, never downloaded
OVERSIZED_PIPELINE: tuple[Stage, ...] = (duplicates.process, oversized.process)


def run_pipeline(ctx: MessageContext, stages: tuple[Stage, ...] = PIPELINE) -> None:
    """Run ``stages`` over one message and record its outcome on ``ctx.row`` (not committed)."""
    row = ctx.row
    try:
        for stage in stages:
            stage(ctx)
    except StopPipeline as stop:
        row.outcome = stop.outcome
        row.reason = stop.reason
        if isinstance(stop, RejectMessage) and stop.template is not None:
            queue_reply(row, ctx.settings, stop.template, dict(stop.context), stop.application,
                        prior_references=header(ctx.message, "References"))
    else:
        row.outcome = Outcome.APPLICATION
        row.reason = None if ctx.application is None else (
            Reason(ReasonCode.COMPLETE) if ctx.application.status == ApplicationStatus.COMPLETE
            else Reason(ReasonCode.TO_CLARIFY, {"count": len(ctx.problems)}))
    row.state = MessageState.PROCESSED
    row.error = None
    row.processed_at = utcnow()
