"""The LibreOffice kept running for .doc files (parsers.doc_converter.WarmConverter over parsers.office_bridge):
real LibreOffice, real UNO. Every file comes out converted or answered as the cold path would answer it,
whatever happens to the running LibreOffice; it is replaced after its quota; nothing is left running."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from form_corpus import FIXTURES
from servers import REQUIRE_SERVERS, wait_for
from test_form_corpus import require_libreoffice

from parsers import UnreadableFile
from parsers.doc_converter import OFFICE_MALLOC_TUNABLES, WarmConverter, convert_doc, has_uno, uno_python
from parsers.problem_codes import RefusalCause, UnreadableCode


def require_uno() -> None:
    require_libreoffice()
    if not has_uno(uno_python("", "/usr/bin/soffice")):
        message = "LibreOffice's Python module uno is not installed"
        if REQUIRE_SERVERS:
            pytest.fail(f"{message} (UIP_INTAKE_REQUIRE_SERVERS=1: CI must install python3-uno)")
        pytest.skip(message)


@pytest.fixture(scope="module")
def doc() -> bytes:
    return next(f for f in FIXTURES if f.filename == "skema.doc").build()


def _is_docx(data: bytes) -> bool:
    with zipfile.ZipFile(BytesIO(data)) as archive:
        return "word/document.xml" in archive.namelist()


@pytest.fixture()
def make_converter() -> Iterator[Callable[..., WarmConverter]]:
    """WarmConverters for the test, each closed after it; none may leave a process behind."""
    made: list[WarmConverter] = []

    def make(**kwargs: Any) -> WarmConverter:
        made.append(WarmConverter("soffice", **kwargs))
        return made[-1]

    yield make
    for converter in made:
        converter.close()
    assert [_processes(converter) for converter in made] == [[] for _ in made]


def _processes(converter: WarmConverter) -> list[int]:
    found = subprocess.run(["pgrep", "-f", str(converter._root)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def _bridge_pid(converter: WarmConverter) -> int:
    assert converter._bridge is not None
    return converter._bridge.pid


def test_every_doc_is_converted_by_the_running_libreoffice_which_is_replaced_after_its_quota(doc, make_converter):
    require_uno()
    converter = make_converter(per_office=2)
    bridges = []
    for _ in range(5):
        assert _is_docx(converter.convert(doc, 60))
        bridges.append(_bridge_pid(converter))
    assert converter.warm_conversions == 5  # none took the cold path
    # two files each: the second conversion starts the next one at once, ready for the third file
    assert bridges[0] != bridges[1] == bridges[2] != bridges[3] == bridges[4]


def test_a_conversion_past_its_timeout_is_answered_as_unreadable_and_the_next_file_gets_a_fresh_libreoffice(
        doc, make_converter):
    require_uno()
    converter = make_converter()
    converter.convert(doc, 60)  # running and ready
    hung = _bridge_pid(converter)
    with pytest.raises(UnreadableFile) as error:
        converter.convert(doc, 0.001)
    assert error.value.code == UnreadableCode.TIMEOUT
    assert _is_docx(converter.convert(doc, 60))
    assert _bridge_pid(converter) != hung and converter.warm_conversions == 2


def test_a_libreoffice_idle_past_its_idle_time_is_ended_and_the_next_doc_starts_a_fresh_one(doc, make_converter):
    require_uno()
    converter = make_converter(idle_seconds=1.0)
    converter.convert(doc, 60)
    first = _bridge_pid(converter)
    assert not converter.retire_if_idle()  # just used: kept
    time.sleep(1.2)
    assert converter.retire_if_idle()
    assert converter._bridge is None and wait_for(lambda: _processes(converter) == [], 20)  # LibreOffice too
    assert not converter.retire_if_idle()  # nothing running: nothing to end
    assert _is_docx(converter.convert(doc, 60))
    assert _bridge_pid(converter) != first and converter.warm_conversions == 2


def test_a_libreoffice_that_died_between_files_costs_the_next_file_nothing_but_the_cold_path(doc, make_converter):
    require_uno()
    converter = make_converter()
    converter.convert(doc, 60)
    bridge = _bridge_pid(converter)
    offices = [pid for pid in _processes(converter) if pid != bridge]
    assert offices  # oosplash and soffice.bin
    for pid in offices:
        os.kill(pid, signal.SIGKILL)
    assert _is_docx(converter.convert(doc, 60))  # the bridge could not load it: the cold path did
    assert converter.warm_conversions == 1
    assert _is_docx(converter.convert(doc, 60))  # and a fresh one took over
    assert converter.warm_conversions == 2


def test_without_the_uno_module_every_doc_takes_the_cold_path_and_the_reason_is_kept(doc, make_converter):
    require_libreoffice()
    converter = make_converter(python=sys.executable)  # the test's own Python: no uno here
    assert _is_docx(converter.convert(doc, 60))
    assert converter.warm_conversions == 0
    assert converter.unavailable is not None and "python3-uno" in converter.unavailable
    assert _is_docx(converter.convert(doc, 60))  # not tried again
    assert converter._bridge is None


def test_a_file_libreoffice_cannot_read_gets_the_cold_paths_answer_and_the_next_file_goes_warm_again(
        doc, make_converter):
    require_uno()
    converter = make_converter()
    converter.convert(doc, 60)
    with pytest.raises(UnreadableFile) as warm:
        converter.convert(doc[:3000], 60)  # a .doc cut short
    with pytest.raises(UnreadableFile) as cold:
        convert_doc(doc[:3000], "soffice", 60)
    assert (warm.value.code, warm.value.cause) == (cold.value.code, cold.value.cause) == (
        UnreadableCode.CORRUPT, RefusalCause.DOC_DAMAGED)
    assert _is_docx(converter.convert(doc, 60))
    assert converter.warm_conversions == 2


def _environments(directory: Path) -> list[dict[str, str]]:
    return [dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
            for path in sorted(directory.glob("env-*"))]


def test_libreoffice_and_its_bridge_get_glibc_asked_for_huge_pages_and_nothing_of_the_services_environment(
        tmp_path, monkeypatch):
    """Stand-ins for soffice and for the bridge's Python write down the environment they were given: the cold
    path's LibreOffice and the warm path's bridge (whose LibreOffice inherits it) both get the malloc
    tunable, and no variable of the service's own (where its secrets may be)."""
    monkeypatch.setenv("UIP_INTAKE_MAILBOX__PASSWORD", "not-for-libreoffice")
    for name in ("soffice", "python"):
        stand_in = tmp_path / name
        stand_in.write_text(f'#!/bin/sh\nenv > "{tmp_path}/env-{name}-$$"\nexit 1\n')
        stand_in.chmod(0o755)
    with pytest.raises(UnreadableFile):
        convert_doc(b"\xd0\xcf\x11\xe0 not a real .doc", str(tmp_path / "soffice"), 10)
    converter = WarmConverter(str(tmp_path / "soffice"), python=str(tmp_path / "python"))
    try:
        with pytest.raises(UnreadableFile):  # the bridge ends at once: the cold path answers
            converter.convert(b"\xd0\xcf\x11\xe0 not a real .doc", 10)
    finally:
        converter.close()
    written = sorted(path.name.split("-")[1] for path in tmp_path.glob("env-*"))
    assert written == ["python", "soffice", "soffice"]  # the cold path, the bridge, then the cold path again
    for environment in _environments(tmp_path):
        assert environment["GLIBC_TUNABLES"] == OFFICE_MALLOC_TUNABLES == "glibc.malloc.hugetlb=1"
        assert "UIP_INTAKE_MAILBOX__PASSWORD" not in environment
        assert set(environment) - {"PWD", "SHLVL", "_"} == {"PATH", "HOME", "LANG", "GLIBC_TUNABLES"}


def _huge_pages_offered() -> bool:
    try:
        setting = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False
    return "[never]" not in setting


def test_a_cold_conversion_takes_its_large_buffers_in_huge_pages_not_a_quarter_million_page_faults(doc):
    """LibreOffice maps and fills 64 MB image buffers over and over while it loads a document: 4 KB at a time
    that was ~297,000 minor page faults for one .doc (1.3 s of CPU); in huge pages ~17,000 (0.7 s)."""
    require_libreoffice()
    if not _huge_pages_offered():
        pytest.skip("this kernel offers no transparent huge pages (transparent_hugepage/enabled is never)")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
    assert _is_docx(convert_doc(doc, "soffice", 60))
    faults = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - before
    assert faults < 100_000, faults
