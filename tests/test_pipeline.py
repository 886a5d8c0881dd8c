"""`run_pipeline`'s outcome bookkeeping and the control-flow signals, on an in-memory context (no servers).
Each stage has its own file (tests/test_stage_<name>.py)."""

from __future__ import annotations

from stage_support import context, email

from config.errors import PipelineSignal
from ingest.demo import complete_values
from ingest.errors import DuplicateMessage
from ingest.pipeline import OVERSIZED_PIPELINE, run_pipeline
from storage.reasons import Reason, ReasonCode


def test_run_pipeline_records_the_outcome_and_queues_the_reply_of_a_rejection(memory_db, tmp_path):
    head = email().split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    ctx = context(memory_db, tmp_path, head, size=11_000_000, headers_only=True)
    run_pipeline(ctx, OVERSIZED_PIPELINE)
    assert (ctx.row.state, ctx.row.outcome) == ("processed", "rejected")
    (reply,) = ctx.row.replies
    assert (reply.kind, reply.status, reply.to_addr) == ("size_rejection", "pending", "a@aarhus.dk")


def test_pipeline_signals_are_not_exceptions_so_no_stage_can_swallow_them():
    assert issubclass(DuplicateMessage, PipelineSignal) and not issubclass(DuplicateMessage, Exception)


def test_the_whole_pipeline_turns_a_complete_form_into_an_application_with_reason_complete(memory_db, tmp_path):
    ctx = context(memory_db, tmp_path, email())
    run_pipeline(ctx)
    assert (ctx.row.outcome, ctx.row.reason) == ("application", Reason(ReasonCode.COMPLETE))
    assert ctx.application is not None and ctx.application.reference == "AD-2019-0001"
    assert [r.kind for r in ctx.row.replies] == ["acknowledgement"]


def test_the_whole_pipeline_counts_the_problems_to_clarify_in_the_reason(memory_db, tmp_path):
    ctx = context(memory_db, tmp_path, email(values=complete_values(population=None, director_name=None)))
    run_pipeline(ctx)
    assert ctx.row.reason == Reason(ReasonCode.TO_CLARIFY, {"count": 2})
    assert [r.kind for r in ctx.row.replies] == ["clarification"]
