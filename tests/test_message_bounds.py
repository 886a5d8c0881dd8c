"""Hostile structure is refused from the raw bytes before the email package builds a tree for it, and the
embedded Maildir moves any message without parsing it again (a nesting too deep for the parser once crashed
the whole poll there). Reading one message stays within ``limits.max_message_memory_mb``: estimated before a
parse in the poll's own process, enforced by the address-space limit in a parse worker, quarantined beyond."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from config import load_settings
from ingest import message_reading
from ingest.form_sandbox import FormSandbox
from ingest.message_reading import MessageLimits, MessageStructureError, read_message
from ingest.parse_pool import ParsePool
from ingest.poller import Intake
from parsers import UnreadableFile
from parsers.form_file import ParseOptions
from storage import InboundMessage
from storage.reasons import QuarantineCode
from storage.states import Outcome

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
from hostile import deep_nesting, tiny_parts, unbroken_base64  # the bench's hostile set, shared

MB = 1024 * 1024


def take_memory(data: bytes, filename: str, options: ParseOptions) -> tuple[str, None]:
    """A parse (run in a sandbox) that holds as many MB as ``data`` says, then lets go."""
    held = bytearray(int(data) * MB)
    held[::4096] = b"x" * len(held[::4096])  # touched, not only reserved
    return "docx", None


def _parts(count: int) -> bytes:
    part = b"--p\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    return (b"From: a@aarhus.dk\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
            b"boundary=\"p\"\r\n\r\n" + part * count + b"--p--\r\n")


def test_ten_megabytes_of_tiny_parts_are_refused_before_the_parser_sees_them(monkeypatch):
    def no_parser(*args: object, **kwargs: object) -> None:
        raise AssertionError("the message was handed to the parser")

    monkeypatch.setattr(message_reading, "BytesFeedParser", no_parser)
    with pytest.raises(MessageStructureError) as refused:
        read_message(tiny_parts())
    assert refused.value.code == "too_many_parts"


def test_the_part_limit_counts_delimiter_lines_exactly_enough_to_keep_a_message_at_the_limit():
    assert len(read_message(_parts(998)).get_payload()) == 998
    with pytest.raises(MessageStructureError):
        read_message(_parts(1_100))


def test_the_embedded_maildir_quarantines_hostile_structure_and_moves_it_without_parsing_it_again(tmp_path):
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.deep.eml").write_bytes(deep_nesting(900))  # within the part limit, too deep to parse
    (maildir / "new" / "2.tiny.eml").write_bytes(tiny_parts())
    settings = load_settings(None, mailbox={"protocol": "maildir", "maildir_path": str(maildir)},
                             smtp={"transport": "file", "outbox_dir": str(tmp_path / "outbox")},
                             database={"url": f"sqlite:///{tmp_path}/db.sqlite"},
                             storage={"archive_dir": str(tmp_path / "archive")}, parsing={"isolate": False})
    intake = Intake.from_settings(settings)
    intake.db.migrate()
    try:
        report = intake.poll_once()
        assert report.errors == 0
        with intake.db.session() as session:
            rows = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
            assert [(r.outcome, (r.reason_params or {}).get("limit")) for r in rows] == [
                (Outcome.QUARANTINED, "too_deep"), (Outcome.QUARANTINED, "too_many_parts")]
    finally:
        intake.close()
    assert list((maildir / "new").iterdir()) == [] and list((maildir / "cur").iterdir()) == []


def _maildir_settings(tmp_path: Path, **sections: dict[str, object]) -> object:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    base: dict[str, dict[str, object]] = {
        "mailbox": {"protocol": "maildir", "maildir_path": str(maildir)},
        "smtp": {"transport": "file", "outbox_dir": str(tmp_path / "outbox")},
        "database": {"url": f"sqlite:///{tmp_path}/db.sqlite"}, "storage": {"archive_dir": str(tmp_path / "archive")}}
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return load_settings(None, **base)


def test_a_message_whose_parse_would_exceed_the_memory_budget_is_refused_before_any_parse():
    raw = unbroken_base64()  # 9.9 MB: its parse and decoded file take ~50 MB
    assert len(read_message(raw, MessageLimits(max_memory_mb=256)).get_payload()) == 2
    tracemalloc.start()
    try:
        with pytest.raises(MessageStructureError) as refused:
            read_message(raw, MessageLimits(max_memory_mb=32))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.code == QuarantineCode.OVER_MEMORY_BUDGET and "(limit 32 MB)" in refused.value.detail
    assert peak < 2 * MB  # refused from its size and parts: nothing of it was parsed


def test_a_parse_worker_holds_each_request_to_the_budget_above_its_own_size_not_a_running_total():
    sandbox = FormSandbox(timeout=60, budget_mb=64, parse_function=take_memory)
    try:
        for _ in range(3):  # 40 MB three times over: each within the budget, as each is let go
            assert sandbox(b"40", "skema.docx", ParseOptions()) == ("docx", None)
        with pytest.raises(UnreadableFile) as error:
            sandbox(b"100", "skema.docx", ParseOptions())
        assert error.value.code == "too_large"
        assert sandbox(b"40", "skema.docx", ParseOptions()) == ("docx", None)  # on a fresh worker
    finally:
        sandbox.close()


def test_a_message_that_runs_a_parse_worker_out_of_its_budget_comes_back_refused_not_for_the_poll_to_parse():
    # the estimate lets it through (a limit of 1 GB), the worker's address space does not (16 MB: reading
    # this message takes 40-56 MB above the worker's size, depending on the machine's allocator)
    pool = ParsePool([FormSandbox(timeout=60, budget_mb=16)], limits=MessageLimits(max_memory_mb=1024))
    try:
        files = pool.read(unbroken_base64(), ParseOptions()).result()
        assert files.parsed is None and files.parts == []
        assert files.refusal is not None and files.refusal[0] == QuarantineCode.OVER_MEMORY_BUDGET
        readable = pool.read(_parts(3), ParseOptions()).result()  # the worker after it: a fresh one
        assert readable.refusal is None and readable.parsed is not None
    finally:
        pool.close()


@pytest.mark.parametrize("isolate", [True, False], ids=["parse-workers", "poll-process"])
def test_a_message_over_the_memory_budget_is_quarantined_with_the_reason_and_its_sender_told(tmp_path, isolate):
    settings = _maildir_settings(tmp_path, limits={"max_message_memory_mb": 32}, parsing={"isolate": isolate})
    (tmp_path / "maildir" / "new" / "1.big.eml").write_bytes(unbroken_base64())
    intake = Intake.from_settings(settings)  # type: ignore[arg-type]
    intake.db.migrate()
    try:
        report = intake.poll_once()
        assert report.errors == 0 and report.processed == 1
        with intake.db.session() as session:
            row = session.scalars(select(InboundMessage)).one()
            assert row.outcome == Outcome.QUARANTINED
            assert (row.reason_params or {})["limit"] == QuarantineCode.OVER_MEMORY_BUDGET
    finally:
        intake.close()
    assert list((tmp_path / "maildir" / "new").iterdir()) == []
    replies = list((tmp_path / "outbox").rglob("*.eml"))
    assert len(replies) == 1
    reply = message_from_bytes(replies[0].read_bytes(), policy=policy.default)
    body = reply.get_body(("plain",))
    assert body is not None and "Vi kunne ikke læse den, fordi den er for stor og indviklet til, at vi kan læse den " \
        "automatisk." in " ".join(body.get_content().split())


def test_the_parse_workers_code_imports_no_database_layer_so_each_worker_stays_small():
    code = ("import sys; import ingest.message_files, ingest.form_sandbox, parsers.form_file; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'storage', 'sqlalchemy', 'notifications'}))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).resolve().parent.parent)
    assert found.stdout.strip() == "[]"
    assert message_reading.OVER_MEMORY_BUDGET == QuarantineCode.OVER_MEMORY_BUDGET  # spelled twice, one code
