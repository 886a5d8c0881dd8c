"""`run_pipeline`'s outcome bookkeeping and the control-flow signals, on an in-memory context (no servers).
Each stage has its own file (tests/test_stage_<name>.py)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from stage_support import context, email

from config.errors import PipelineSignal
from ingest.demo import complete_values
from ingest.errors import DuplicateMessage
from ingest.file_archive import store_files
from ingest.message_files import MessageFiles, read_message_files
from ingest.message_reading import MessageLimits
from ingest.pipeline import OVERSIZED_PIPELINE, run_pipeline
from parsers.form_file import ParseOptions
from storage import Archive, ArchiveUnavailable
from storage.archive import Kind
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


class _SlowArchive(Archive):
    """An archive whose every write takes 0.3 s (a slow disk), or fails."""

    def __init__(self, root: Path, fail: bool = False) -> None:
        super().__init__(root)
        self.fail = fail

    def put(self, kind: Kind, data: bytes) -> str:
        time.sleep(0.3)
        if self.fail:
            raise ArchiveUnavailable("archive: No space left on device")
        return super().put(kind, data)


def _files(raw: bytes) -> MessageFiles:
    return read_message_files(raw, ParseOptions(), MessageLimits())


def test_a_chunks_files_are_stored_at_once_and_named_only_when_every_one_is_on_disk(tmp_path):
    """Three messages' files on a disk where each write takes 0.3 s: all written concurrently, one wait, and
    each part named by its digest once every write is done."""
    archive = _SlowArchive(tmp_path / "archive")
    chunk = [_files(email(f"<m{n}@aarhus.dk>", complete_values(municipality=f"Kommune {n}"))) for n in range(3)]
    started = time.monotonic()
    store_files(archive, chunk)
    assert time.monotonic() - started < 0.3 * 3  # concurrent, not one write after the other
    parts = [part for files in chunk for part in files.parts]
    assert len(parts) == 3 and all(part.sha256 == hashlib.sha256(part.data).hexdigest() for part in parts)
    assert all(archive.path("files", part.sha256).is_file() for part in parts if part.sha256)


def test_a_file_the_archive_cannot_write_is_raised_and_no_part_is_named(tmp_path):
    files = _files(email())
    with pytest.raises(ArchiveUnavailable):
        store_files(_SlowArchive(tmp_path / "archive", fail=True), [files])
    assert files.parts and all(part.sha256 is None for part in files.parts)


def test_every_handler_has_its_own_stage_test_module():
    from pathlib import Path

    handlers = Path(__file__).resolve().parent.parent / "ingest" / "handlers"
    stages = {path.stem for path in handlers.glob("*.py") if path.stem != "__init__"}
    tests = Path(__file__).resolve().parent
    missing = sorted(stage for stage in stages if not (tests / f"test_stage_{stage}.py").exists())
    assert stages and missing == [], f"handlers without tests/test_stage_<name>.py: {missing}"
