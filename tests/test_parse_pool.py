"""The parse pool: several bounded workers, each message read in one with its files' readings carried on its
parts; .doc files converted by a LibreOffice kept running (none left behind)."""

from __future__ import annotations

import gc
import mailbox
import subprocess
import time
import weakref

import pytest
from form_corpus import FIXTURES
from servers import wait_for
from sqlalchemy import select
from test_form_corpus import die, require_libreoffice
from test_warm_converter import require_uno

from config import ParsingSettings, load_settings
from ingest.demo import application_email, complete_values, to_bytes
from ingest.fetch_step import CHUNK_MESSAGES
from ingest.form_sandbox import FormSandbox
from ingest.message_files import MessageFiles
from ingest.parse_pool import ParsePool
from ingest.poller import Intake
from parsers import UnreadableFile
from parsers.blank_form import fill_form
from parsers.doc_converter import WarmConverter
from parsers.form_file import FormCandidate, ParseOptions, choose_form
from storage import InboundMessage

pytestmark = pytest.mark.slow  # starts parse worker processes (and LibreOffice for a .doc)

OPTIONS = ParseOptions()


@pytest.fixture()
def pool():
    parse_pool = ParsePool([FormSandbox(timeout=60), FormSandbox(timeout=60)])
    yield parse_pool
    parse_pool.close()


def _read(pool: ParsePool, raw: bytes) -> MessageFiles:
    return pool.read(raw, OPTIONS).result(timeout=120)


def _candidates(files: MessageFiles) -> list[FormCandidate]:
    """As the form finder builds them: each part with its reading."""
    return [FormCandidate(n, part.filename, part.data, part.reading.result if part.reading is not None else None)
            for n, part in enumerate(files.parts)]


def test_each_file_of_a_message_comes_back_with_its_own_reading_the_same_file_twice_too(pool):
    form = fill_form(complete_values())
    files = _read(pool, to_bytes(application_email(None, annexes={"a.docx": form, "b.docx": form})))
    first, second = (part.reading.result() for part in files.parts if part.reading is not None)
    assert first[1] is not None and second[1] is not None and first[1] is not second[1]
    assert first[1].get("municipality") == "Aarhus Kommune"


def test_a_refusal_read_in_the_worker_is_raised_when_the_pipeline_asks_for_the_reading(pool):
    files = _read(pool, to_bytes(application_email(None, annexes={"skema.docx": b"PK\x03\x04 not really a zip"})))
    (part,) = files.parts
    assert part.reading is not None
    with pytest.raises(UnreadableFile) as refused:
        part.reading.result()
    assert refused.value.code == "corrupt" and refused.value.filename == "skema.docx"


class _CallersData:
    """Stands for the message a pipeline frame holds while it asks for a file (bytes take no weak reference)."""


def _refused_through(pool: ParsePool, way: str, held: list[weakref.ref[_CallersData]]) -> str:
    data = _CallersData()
    held.append(weakref.ref(data))
    broken = b"PK\x03\x04 not really a zip"
    if way == "chosen":  # as the find_form stage asks: the refusal is kept as the choice's reason
        (_name, refusal), = choose_form([FormCandidate(0, "skema.docx", broken)], OPTIONS, pool).unreadable
        return str(refusal.code)
    if way == "ahead":  # a reading carried on its part, asked for by the form finder
        files = _read(pool, to_bytes(application_email(None, annexes={"skema.docx": broken})))
        (_name, refusal), = choose_form(_candidates(files), OPTIONS, pool).unreadable
        return str(refusal.code)
    try:
        pool(broken, "skema.docx", OPTIONS)
    except UnreadableFile as refused:
        return str(refused.code)
    return "read"


@pytest.mark.parametrize("way", ["ahead", "asked", "chosen"])
def test_a_refused_file_leaves_no_reference_cycle_keeping_the_callers_data_alive(pool, way):
    """A refusal raised from a local, or kept with a reading, holds its traceback's frames (and a 9.9 MB
    message in them) until a full collection; freed by reference counting, the memory goes back at once."""
    held: list[weakref.ref[_CallersData]] = []
    gc.collect()
    gc.disable()
    try:
        assert _refused_through(pool, way, held) == "corrupt"
        assert held[0]() is None
    finally:
        gc.enable()


def _our_office_processes(converter: WarmConverter) -> int:
    found = subprocess.run(["pgrep", "-f", str(converter._root)], capture_output=True, text=True).stdout.split()
    return len(found)


def test_a_doc_is_read_through_a_libreoffice_kept_running_and_none_is_left_running_after_close():
    require_libreoffice()
    require_uno()
    doc = next(f for f in FIXTURES if f.filename == "skema.doc").build()
    converter = WarmConverter("soffice")
    pool = ParsePool([FormSandbox(timeout=90)], converter)
    try:
        for _ in range(3):
            kind, record = pool(doc, "skema.doc", OPTIONS)
            assert kind == "doc" and record is not None and record.reader == "doc (LibreOffice)"
            assert record.get("municipality") == "Aarhus Kommune"
        assert converter.warm_conversions == 3  # the first waited for it to start; none took the cold path
        assert _our_office_processes(converter) >= 2  # the bridge and its LibreOffice wait for the next file
    finally:
        pool.close()
    assert _our_office_processes(converter) == 0


def test_a_pool_warmed_up_has_its_workers_running_before_the_first_file_arrives():
    pool = ParsePool.from_settings(ParsingSettings(workers=2))
    try:
        assert all(s._process is None for s in pool._sandboxes)  # nothing runs until it is asked to
        pool.warm_up()
        assert wait_for(lambda: all(s._process is not None and s._process.is_alive() for s in pool._sandboxes), 20)
        started = {s._process.pid for s in pool._sandboxes}
        _, record = pool(fill_form(complete_values()), "a.docx", OPTIONS)
        assert record is not None and {s._process.pid for s in pool._sandboxes} == started  # none started again
    finally:
        pool.close()
    assert all(s._process is None for s in pool._sandboxes)


def test_a_doc_found_in_a_message_starts_libreoffice_at_once_and_its_reading_comes_from_the_kept_one():
    require_uno()
    doc = next(f for f in FIXTURES if f.filename == "skema.doc").build()
    converter = WarmConverter("soffice")
    pool = ParsePool([FormSandbox(timeout=90)], converter)
    try:
        files = _read(pool, to_bytes(application_email(None, annexes={"skema.doc": doc})))
        assert converter._bridge is not None  # started as the .doc was found, not when a worker got to it
        (part,) = files.parts
        assert part.reading is not None
        _, record = part.reading.result()
        assert record is not None and converter.warm_conversions == 1
    finally:
        pool.close()
    assert _our_office_processes(converter) == 0


def _maildir_settings(tmp_path, **parsing):
    return load_settings(None, mailbox={"maildir_path": str(tmp_path / "maildir")},
                         database={"url": f"sqlite:///{tmp_path}/intake.db"},
                         storage={"archive_dir": str(tmp_path / "archive")},
                         smtp={"outbox_dir": str(tmp_path / "outbox")}, parsing=parsing)


def test_the_parse_workers_load_their_modules_without_the_settings_models():
    """The forkserver preloads the readers, and a worker imports the whole-message reader: neither needs
    pydantic, which took half of a worker's start (~0.2 s) when ``config`` loaded it with the package."""
    import sys

    code = ("import sys, parsers.form_file, ingest.message_files, ingest.form_sandbox; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_settings')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
    from config import ParsingSettings as again  # the names still import from the package, on first use

    assert again is ParsingSettings


def test_a_poll_starts_the_parse_workers_before_it_reads_the_mailbox(tmp_path):
    settings = _maildir_settings(tmp_path)
    intake = Intake.from_settings(settings)
    intake.db.migrate()
    try:
        pool = intake.reader
        assert isinstance(pool, ParsePool) and all(s._process is None for s in pool._sandboxes)
        intake.poll_once()  # an empty mailbox: no file to parse
        assert wait_for(lambda: all(s._process is not None and s._process.is_alive() for s in pool._sandboxes), 20)
    finally:
        intake.close()
    assert all(s._process is None for s in pool._sandboxes)


def test_a_poll_ends_the_libreoffice_no_doc_has_needed_for_office_idle_minutes(tmp_path):
    require_uno()
    doc = next(f for f in FIXTURES if f.filename == "skema.doc").build()
    settings = _maildir_settings(tmp_path, workers=1, office_idle_minutes=0.02)  # 1.2 s
    mailbox.Maildir(settings.mailbox.maildir_path, create=True).add(to_bytes(application_email(
        None, message_id="<doc@kommune.dk>", annexes={"skema.doc": doc})))
    intake = Intake.from_settings(settings)
    intake.db.migrate()
    try:
        pool = intake.reader
        assert isinstance(pool, ParsePool) and pool._converter is not None
        assert intake.poll_once().outcomes == {"application": 1}
        assert pool._converter.warm_conversions == 1 and pool._converter._bridge is not None
        intake.poll_once()  # at once: still kept
        assert pool._converter._bridge is not None
        time.sleep(1.5)
        intake.poll_once()
        assert pool._converter._bridge is None
    finally:
        intake.close()


@pytest.mark.parametrize("with_doc", [False, True], ids=["docx-only", "a-doc-in-the-second-chunk"])
def test_a_backlog_starts_libreoffice_only_for_a_doc_it_finds_and_reads_that_doc_on_it(tmp_path, with_doc):
    require_uno()
    settings = _maildir_settings(tmp_path, workers=1)
    box = mailbox.Maildir(settings.mailbox.maildir_path, create=True)
    doc = next(f for f in FIXTURES if f.filename == "skema.doc").build()
    count = CHUNK_MESSAGES + 2
    for n in range(count):
        as_doc = with_doc and n == CHUNK_MESSAGES  # the first message of the second chunk
        message = application_email(None if as_doc else complete_values(municipality=f"Kommune {n}"),
                                    message_id=f"<backlog-{n}@kommune.dk>")
        if as_doc:
            message.add_attachment(doc, maintype="application", subtype="msword", filename="skema.doc")
        box.add(to_bytes(message))
    intake = Intake.from_settings(settings)
    intake.db.migrate()
    try:
        pool = intake.reader
        assert isinstance(pool, ParsePool) and pool._converter is not None and pool._converter._bridge is None
        assert intake.poll_once().outcomes == {"application": count}
        assert (pool._converter._bridge is not None) == with_doc  # no .doc: no LibreOffice's start to pay for
        assert pool._converter.warm_conversions == (1 if with_doc else 0)  # the .doc read on the kept one
    finally:
        intake.close()
    assert _our_office_processes(pool._converter) == 0


# --- whole messages read in a worker: MIME, files and forms, handed to the pipeline ------------------------

def _tasks(pool: ParsePool) -> int:
    return sum(sandbox._tasks for sandbox in pool._sandboxes)


def test_a_message_read_in_a_worker_hands_its_form_to_the_finder_without_a_second_parse(pool):
    raw = to_bytes(application_email(complete_values(municipality="Odense"), message_id="<whole@odense.dk>",
                                     annexes={"budget.txt": b"budget"}))
    files = _read(pool, raw)
    assert files.parsed is not None and files.parsed["Message-ID"] == "<whole@odense.dk>"
    assert [part.filename for part in files.parts] == ["Ansøgningsskema Åben Dialog.docx", "budget.txt"]
    asked = _tasks(pool)
    choice = choose_form(_candidates(files), OPTIONS, pool)
    assert choice.form is not None and choice.form.record.get("municipality") == "Odense Kommune"
    assert _tasks(pool) == asked  # both files' readings came with the message: no worker was asked again


def test_a_message_beyond_its_limits_comes_back_refused_for_the_structure_stage_to_quarantine_unparsed(pool):
    deep = (b"From: a@aarhus.dk\r\nMessage-ID: <d@aarhus.dk>\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
            + b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
                       for i in range(40)))
    files = _read(pool, deep)
    assert files.parsed is None and files.refusal is not None
    assert files.refusal[0] == "too_deep"


def test_a_message_whose_worker_dies_is_read_by_the_poll_itself_and_its_form_refused_not_lost(tmp_path):
    settings = _maildir_settings(tmp_path, workers=1)
    mailbox.Maildir(settings.mailbox.maildir_path, create=True).add(
        to_bytes(application_email(complete_values(), message_id="<dies@kommune.dk>")))
    intake = Intake.from_settings(settings)
    intake.reader.close()
    intake.reader = ParsePool([FormSandbox(timeout=60, parse_function=die)])
    intake.db.migrate()
    try:
        report = intake.poll_once()
        with intake.db.session() as session:
            row = session.scalars(select(InboundMessage)).one()
            assert row.state == "processed" and row.reason is not None and row.reason.code == "form_unreadable"
            assert [reply.kind for reply in row.replies] == ["rejection"]  # "we could not read your form"
        assert report.processed == 1 and report.errors == 0
    finally:
        intake.close()
