"""Legacy Word 97-2003 (.doc) to .docx with LibreOffice headless, so the .docx readers take over.

Each cold run gets its own temporary profile (``-env:UserInstallation``) and HOME, so runs never share or
lock a profile; the whole process group is killed at the timeout. :class:`WarmConverter` keeps one
instance ready between conversions (one file per instance). LibreOffice missing, failing or
timing out is an :class:`UnreadableFile` asking for a .docx, never a crash.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from parsers.errors import UnreadableFile
from parsers.problem_codes import RefusalCause as Cause
from parsers.problem_codes import UnreadableCode as Code


def _lift_memory_limit() -> None:
    """LibreOffice maps far more address space than it uses: give it the hard limit, not the parser's."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def _convert(exe: str, data: bytes, profile: Path, work: Path, timeout: float) -> bytes:
    """One ``soffice --convert-to`` with ``profile``: done by an instance already running with that profile
    when there is one (the request is handed to it), else by a fresh one."""
    source, out = work / "form.doc", work / "out"
    source.write_bytes(data)
    command = [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore", "--nologo",
               "--nodefault", "--nolockcheck", "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out),
               str(source)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(profile.parent),
                               cwd=work, start_new_session=True, preexec_fn=_lift_memory_limit)
    try:
        process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise UnreadableFile(Code.TIMEOUT, Cause.DOC_TIMEOUT) from exc
    result = out / "form.docx"
    if process.returncode != 0 or not result.exists():
        raise UnreadableFile(Code.CORRUPT, Cause.DOC_DAMAGED)
    return result.read_bytes()


def _env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}


def convert_doc(data: bytes, libreoffice: str | None, timeout: float) -> bytes:
    """The .docx LibreOffice makes of ``data`` (a .doc file), with a fresh LibreOffice (the cold path)."""
    exe = shutil.which(libreoffice) if libreoffice else None
    if exe is None:
        raise UnreadableFile(Code.UNSUPPORTED, Cause.DOC_UNSUPPORTED)
    with tempfile.TemporaryDirectory(prefix="uip-doc-") as tmp:
        return _convert(exe, data, Path(tmp) / "profile", Path(tmp), timeout)


class WarmConverter:
    """LibreOffice kept ready between conversions, so a .doc costs a tenth of a second instead of a start.

    An instance is started ahead with its own profile, listening; a conversion is handed to it (``soffice
    --convert-to`` with the same profile passes the request to the running instance), after which that
    instance exits and the next one is started at once in the background. So each instance converts exactly
    one file (its memory never grows, a file cannot affect the next), and the service owns every instance it
    starts (``close`` ends them). When none is ready — the first file, files in quick succession, an instance
    that died — the file takes the cold path with a fresh profile. One conversion at a time goes warm; others
    meanwhile go cold.
    """

    def __init__(self, libreoffice: str | None) -> None:
        self.exe = shutil.which(libreoffice) if libreoffice else None
        self._root = Path(tempfile.mkdtemp(prefix="uip-warm-"))
        self._profile = self._root / "profile"
        self._ready: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._count = 0
        self.warm_conversions = 0

    def _start(self) -> None:
        if self.exe is None:
            return
        self._count += 1
        self._ready = subprocess.Popen(
            [self.exe, f"-env:UserInstallation={self._profile.as_uri()}", "--headless", "--invisible",
             "--norestore", "--nologo", "--nodefault", "--nolockcheck",
             f"--accept=pipe,name=uip-warm-{os.getpid()}-{self._count};urp;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(self._root), cwd=self._root,
            start_new_session=True, preexec_fn=_lift_memory_limit)

    def _stop(self, process: subprocess.Popen[bytes] | None) -> None:
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        if process is not None:
            process.wait()

    def convert(self, data: bytes, timeout: float) -> bytes:
        if self.exe is None:
            raise UnreadableFile(Code.UNSUPPORTED, Cause.DOC_UNSUPPORTED)
        if not self._lock.acquire(blocking=False):
            return convert_doc(data, self.exe, timeout)  # another conversion holds the warm instance
        try:
            instance, self._ready = self._ready, None
            if instance is None or instance.poll() is not None:
                self._stop(instance)
                try:
                    return convert_doc(data, self.exe, timeout)
                finally:
                    self._start()  # ready for the next one
            with tempfile.TemporaryDirectory(prefix="uip-doc-") as work:
                try:
                    converted = _convert(self.exe, data, self._profile, Path(work), timeout)
                finally:
                    try:
                        instance.wait(5)  # it exits after its one conversion
                    except subprocess.TimeoutExpired:
                        self._stop(instance)
                    self._start()
            self.warm_conversions += 1
            return converted
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            instance, self._ready = self._ready, None
            self._stop(instance)
            shutil.rmtree(self._root, ignore_errors=True)


@contextlib.contextmanager
def warm_converter(libreoffice: str | None) -> Iterator[WarmConverter]:
    converter = WarmConverter(libreoffice)
    try:
        yield converter
    finally:
        converter.close()
