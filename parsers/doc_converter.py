"""Legacy Word 97-2003 (.doc) to .docx with LibreOffice headless, so the .docx readers take over.

Each cold run gets its own temporary profile (``-env:UserInstallation``) and HOME, so runs never share or
lock a profile; the whole process group is killed at the timeout. :class:`WarmConverter` keeps one
LibreOffice running between conversions, driven over UNO, with the cold path as its fallback. LibreOffice
missing, failing or timing out is an :class:`UnreadableFile` asking for a .docx, never a crash.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from parsers import office_bridge
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


# LibreOffice, loading a document, allocates and frees 64 MB image buffers over and over; glibc maps each one
# afresh and the kernel hands it over a 4 KB page at a time. Asked to (glibc 2.35 and newer; ignored by older
# ones and by other C libraries), glibc marks those mappings for transparent huge pages, which the kernel
# then hands over 2 MB at a time where it offers them (``/sys/kernel/mm/transparent_hugepage/enabled``:
# madvise or always). Measured on one .doc, cold: 297,000 page faults -> 17,000, 1.3 s of CPU -> 0.7 s, the
# same peak RSS (208 MB); the warm path starts LibreOffice the same way.
OFFICE_MALLOC_TUNABLES = "glibc.malloc.hugetlb=1"


def _env(home: Path) -> dict[str, str]:
    """The whole environment of LibreOffice and of its bridge: nothing of the service's own."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
            "GLIBC_TUNABLES": OFFICE_MALLOC_TUNABLES}


def convert_doc(data: bytes, libreoffice: str | None, timeout: float) -> bytes:
    """The .docx LibreOffice makes of ``data`` (a .doc file), with a fresh LibreOffice (the cold path)."""
    exe = shutil.which(libreoffice) if libreoffice else None
    if exe is None:
        raise UnreadableFile(Code.UNSUPPORTED, Cause.DOC_UNSUPPORTED)
    with tempfile.TemporaryDirectory(prefix="uip-doc-") as tmp:
        return _convert(exe, data, Path(tmp) / "profile", Path(tmp), timeout)


BRIDGE = Path(office_bridge.__file__)  # run as a script by the Python that has ``uno``; its constants shared
_LOCK_WAIT = 5.0  # seconds a .doc waits for the running LibreOffice before it takes the cold path
_START_WAIT = 30.0  # seconds a LibreOffice may take to get ready before the file takes the cold path
_MAX_FAILED_STARTS = 3


def uno_python(setting: str, exe: str | None) -> str | None:
    """The Python to run the bridge with: ``setting`` when given, else LibreOffice's own (a bundled
    ``program/python``), else the system's ``/usr/bin/python3`` (Debian's ``python3-uno``)."""
    if setting:
        return shutil.which(setting)
    candidates = [Path(os.path.realpath(exe)).with_name("python")] if exe else []
    candidates.append(Path("/usr/bin/python3"))
    return next((str(path) for path in candidates if os.access(path, os.X_OK)), None)


def has_uno(python: str | None) -> bool:
    """Whether ``python`` can import LibreOffice's ``uno`` module (what the warm converter needs)."""
    if python is None:
        return False
    try:
        return subprocess.run([python, "-c", "import uno"], capture_output=True, timeout=30,
                              env=_env(Path(tempfile.gettempdir()))).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class _NotWarm(Exception):
    """The running LibreOffice could not convert this file for a reason of its own: take the cold path."""


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # the bridge and its LibreOffice
    process.wait()


def _read(fd: int, size: int, deadline: float) -> bytes:
    """Exactly ``size`` bytes from ``fd`` by ``deadline`` (:class:`TimeoutError`), or :class:`_NotWarm` at EOF."""
    chunks, left = [], size
    while left:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([fd], [], [], wait)[0]:
            raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise _NotWarm("the bridge ended")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class WarmConverter:
    """LibreOffice kept running between conversions, driven over UNO: a .doc costs a few hundredths of a
    second instead of a LibreOffice start (0.7 s of CPU, with ``OFFICE_MALLOC_TUNABLES``).

    One LibreOffice at a time runs with its own profile, listening on a private named pipe, driven by
    :mod:`parsers.office_bridge` under the Python that has LibreOffice's ``uno`` module (``python``; found
    by :func:`uno_python` when empty). It is started ahead, converts at most ``per_office`` files and is
    then replaced by a fresh one, so its memory stays bounded and a file can affect only a few after it;
    ``retire_if_idle`` ends it after ``idle_seconds`` without a file (the next .doc starts a fresh one).
    A conversion past ``timeout`` kills it (the file is answered as unreadable, as on the cold path). Any
    other failure — no ``uno`` (:attr:`unavailable` then says so and every file goes cold), LibreOffice
    not starting or dying, a file it could not read or write — sends the file down the cold path, which
    decides. One conversion at a time goes warm; another waits for it up to a few seconds, else goes cold.
    The service owns every process it starts: ``close`` ends them.
    """

    def __init__(self, libreoffice: str | None, python: str = "", per_office: int = 50,
                 idle_seconds: float = 600) -> None:
        self.exe = shutil.which(libreoffice) if libreoffice else None
        self.python = uno_python(python, self.exe)
        self.per_office = per_office
        self.idle_seconds = idle_seconds
        self._used = time.monotonic()  # when it last started or converted
        self._root = Path(tempfile.mkdtemp(prefix="uip-warm-"))
        self._bridge: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._done = 0  # conversions by the running one
        self._failed_starts = 0  # in a row; at _MAX_FAILED_STARTS every file goes cold
        self._reapers: list[threading.Thread] = []  # each waits for a retired one to end
        self._lock = threading.Lock()
        self._count = 0
        self.warm_conversions = 0
        self.unavailable: str | None = None if self.python else "no Python with LibreOffice's uno module"

    def _start(self) -> None:
        if self.exe is None or self.python is None or self.unavailable:
            return
        self._count += 1
        work = self._root / str(self._count)
        work.mkdir()
        self._bridge = subprocess.Popen(
            [self.python, str(BRIDGE), self.exe, str(work), f"uip-{os.getpid()}-{self._root.name[-8:]}-{self._count}",
             str(self.per_office)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env(work), cwd=work,
            start_new_session=True, preexec_fn=_lift_memory_limit)
        self._ready, self._done, self._used = False, 0, time.monotonic()

    def _retire(self) -> None:
        """End the running one (gracefully when it is idle: it closes its LibreOffice) and forget it."""
        bridge, self._bridge = self._bridge, None
        if bridge is None:
            return
        work = self._root / str(self._count)
        if not (self._ready and bridge.stdin is not None):
            self._reap(bridge, work, grace=0)
            return
        with contextlib.suppress(OSError):
            bridge.stdin.close()  # end of requests: it terminates LibreOffice and exits
        reaper = threading.Thread(target=self._reap, args=(bridge, work, 15), daemon=True)
        reaper.start()
        self._reapers = [thread for thread in self._reapers if thread.is_alive()] + [reaper]

    @staticmethod
    def _reap(bridge: subprocess.Popen[bytes], work: Path, grace: float) -> None:
        """Wait up to ``grace`` seconds for it to end, then kill what is left of it and remove its files."""
        if grace:
            with contextlib.suppress(subprocess.TimeoutExpired):
                bridge.wait(grace)
        _kill(bridge)
        shutil.rmtree(work, ignore_errors=True)

    def _await_ready(self, bridge: subprocess.Popen[bytes], deadline: float) -> None:
        assert bridge.stdout is not None
        try:
            if _read(bridge.stdout.fileno(), len(office_bridge.READY), deadline) != office_bridge.READY:
                raise _NotWarm("the bridge said something else")
        except (_NotWarm, TimeoutError) as error:
            self._failed_starts += 1
            if self._failed_starts >= _MAX_FAILED_STARTS:
                self.unavailable = f"LibreOffice failed to start for the bridge {self._failed_starts} times in a row"
            with contextlib.suppress(subprocess.TimeoutExpired):  # _NotWarm: it ended before it was ready
                if isinstance(error, _NotWarm) and bridge.wait(5) == office_bridge.NO_UNO:
                    self.unavailable = f"{self.python} has no uno module (Debian: apt-get install python3-uno)"
            raise _NotWarm("LibreOffice did not get ready") from error
        self._ready, self._failed_starts = True, 0

    def _convert_warm(self, data: bytes, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        if self._bridge is None or self._bridge.poll() is not None:
            self._retire()
            self._start()
        bridge = self._bridge
        if bridge is None:
            raise _NotWarm("unavailable")
        assert bridge.stdin is not None and bridge.stdout is not None
        if not self._ready:
            self._await_ready(bridge, min(deadline, time.monotonic() + _START_WAIT))
        try:
            length = office_bridge.LENGTH
            bridge.stdin.write(length.pack(len(data)) + data)
            bridge.stdin.flush()
            head = _read(bridge.stdout.fileno(), 1 + length.size, deadline)
            payload = _read(bridge.stdout.fileno(), length.unpack(head[1:])[0], deadline)
        except TimeoutError as error:
            self._ready = False  # killed, not asked to end
            self._retire()
            raise UnreadableFile(Code.TIMEOUT, Cause.DOC_TIMEOUT) from error
        except OSError as error:  # BrokenPipeError: it had ended
            raise _NotWarm("the bridge ended") from error
        if head[:1] != office_bridge.CONVERTED:
            raise _NotWarm(payload.decode("ascii", "replace"))
        self._done += 1
        self._used = time.monotonic()
        if self._done >= self.per_office:
            self._retire()
            self._start()  # the next one gets ready while this file is read
        return payload

    def warm_up(self) -> None:
        """Start LibreOffice now if none is running (without waiting for it): a .doc is on its way."""
        if self._lock.acquire(blocking=False):
            try:
                if self._bridge is None:
                    self._start()
            finally:
                self._lock.release()

    def retire_if_idle(self) -> bool:
        """End the running LibreOffice when it has had nothing to convert for ``idle_seconds`` (it holds
        ~100 MB); the next .doc starts a fresh one. True if one was ended."""
        if not self._lock.acquire(blocking=False):
            return False  # converting right now: not idle
        try:
            if self._bridge is None or time.monotonic() - self._used < self.idle_seconds:
                return False
            self._retire()
            return True
        finally:
            self._lock.release()

    def convert(self, data: bytes, timeout: float) -> bytes:
        if self.exe is None:
            raise UnreadableFile(Code.UNSUPPORTED, Cause.DOC_UNSUPPORTED)
        if self.unavailable or not self._lock.acquire(timeout=_LOCK_WAIT):
            return convert_doc(data, self.exe, timeout)
        try:
            try:
                converted = self._convert_warm(data, timeout)
            except _NotWarm:
                self._retire()
            else:
                self.warm_conversions += 1
                return converted
        finally:
            self._lock.release()
        return convert_doc(data, self.exe, timeout)  # outside the lock: the next file may go warm meanwhile

    def close(self) -> None:
        with self._lock:
            self._retire()
            self.unavailable = self.unavailable or "closed"
        for reaper in self._reapers:
            reaper.join()
        shutil.rmtree(self._root, ignore_errors=True)


@contextlib.contextmanager
def warm_converter(libreoffice: str | None, python: str = "", per_office: int = 50) -> Iterator[WarmConverter]:
    converter = WarmConverter(libreoffice, python, per_office)
    try:
        yield converter
    finally:
        converter.close()
