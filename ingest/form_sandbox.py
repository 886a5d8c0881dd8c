"""Parse each attachment (and, for the parse pool, each whole message) in its own process, bounded in wall
time and memory, so no file can stall or kill the worker.

The worker comes from a ``forkserver`` (safe beside the scheduler's and the SMTP client's threads, unlike a
plain fork) and is reused from file to file. Before each file (or message) it lowers its own address-space
limit (``RLIMIT_AS``) to its size then plus the budget of one message (``limits.max_message_memory_mb``),
never above ``parsing.memory_mb``. A worker that overruns the time is killed; one that runs out of memory or dies
answers as an unreadable file: the sender gets a clear reply, staff see the reason, and the poll goes on
with the next message on a fresh worker.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import resource
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from config.errors import UipIntakeError
from ingest.message_reading import DEFAULT_LIMITS
from parsers import UnreadableFile
from parsers.file_safety import FileKind
from parsers.form_file import Parse, ParseOptions, parse_form
from parsers.form_record import FormRecord
from parsers.problem_codes import RefusalCause as Cause
from parsers.problem_codes import UnreadableCode as Code

if TYPE_CHECKING:
    from config import ParsingSettings

log = logging.getLogger(__name__)
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["parsers.form_file"])
T = TypeVar("T")


class ParserCrash(UipIntakeError):
    """The parser itself failed (a bug, not a bad file): the message goes to the error state for staff."""


def options_from(settings: ParsingSettings) -> ParseOptions:
    return ParseOptions(libreoffice=settings.libreoffice or None, convert_timeout=settings.convert_timeout_seconds,
                        max_pdf_pages=settings.max_pdf_pages)


def outcome_of(function: Callable[..., Any], args: tuple[Any, ...], filename: str) -> tuple[Any, ...]:
    """``function(*args)`` as data a pipe can carry: ("ok", result), ("unreadable", the refusal as a dict) or
    ("crash", the error, its traceback); ``filename`` names the file a MemoryError is charged to."""
    try:
        return ("ok", function(*args))
    except UnreadableFile as error:
        return ("unreadable", error.as_dict())
    except MemoryError:
        return ("unreadable", UnreadableFile(Code.TOO_LARGE, Cause.MEMORY, filename).as_dict())
    except Exception as exc:  # reported to the parent, which records it for staff
        return ("crash", f"{type(exc).__name__}: {exc}", traceback.format_exc())


def failure_of(outcome: tuple[Any, ...], filename: str) -> UnreadableFile | ParserCrash | None:
    """The parent's side of :func:`outcome_of`: None when it succeeded, else the refusal or the crash (logged
    for staff), built and not raised."""
    if outcome[0] == "ok":
        return None
    if outcome[0] == "unreadable":
        return UnreadableFile.from_dict(outcome[1])
    log.error("parser failed on a %s file: %s", Path(filename).suffix or "(no suffix)", outcome[2])
    return ParserCrash(outcome[1])


def spent(outcome: tuple[Any, ...]) -> bool:
    """True when the worker ran out of memory: it is not trusted with the next file."""
    return outcome[0] == "unreadable" and outcome[1].get("code") == Code.TOO_LARGE


def address_space() -> int | None:
    """This process's address space (VmSize) in bytes, from /proc; None where there is none."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None


def limit_memory(cap_bytes: int, budget_bytes: int | None = None) -> int:
    """Set this process's soft address-space limit to its size now plus ``budget_bytes`` (``None``: no budget),
    at most ``cap_bytes`` and the hard limit (a soft limit may be raised again, up to the hard one); returns
    the limit set."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = cap_bytes
    if budget_bytes is not None and (size := address_space()) is not None:
        limit = min(cap_bytes, size + budget_bytes)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return limit


def _serve(connection: Connection, cap_bytes: int, budget_bytes: int) -> None:
    """The worker: run what the parent sends until told to stop. A request is received within the cap, then
    run within the budget above what the worker holds with the request received."""
    while True:
        limit_memory(cap_bytes)
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        function, args, filename = request
        limit_memory(cap_bytes, budget_bytes)
        result = outcome_of(function, args, filename)
        del request, args
        limit_memory(cap_bytes)  # the result is sent within the cap (what it holds was made within the budget)
        connection.send(result)


@dataclass
class FormSandbox:
    """A :data:`parsers.form_file.Parse` that runs the real one in a bounded worker process.

    One worker is kept and reused (starting one costs an interpreter's imports); it is replaced after
    ``max_tasks`` files, after running out of memory, and whenever it is killed for overrunning its time.
    """

    timeout: float = 90.0
    memory_mb: int = 1536  # the worker's address space, whatever it reads
    budget_mb: int = DEFAULT_LIMITS.max_memory_mb  # what one request may take above the worker's size then
    parse_function: Parse = field(default=parse_form)
    max_tasks: int = 200
    _process: Any = field(default=None, init=False, repr=False)
    _connection: Connection | None = field(default=None, init=False, repr=False)
    _tasks: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: ParsingSettings, budget_mb: int = DEFAULT_LIMITS.max_memory_mb) -> FormSandbox:
        return cls(timeout=settings.timeout_seconds, memory_mb=settings.memory_mb, budget_mb=budget_mb)

    def _start(self) -> Connection:
        receiver, sender = _CONTEXT.Pipe(duplex=True)
        self._process = _CONTEXT.Process(target=_serve, args=(sender, self.memory_mb << 20, self.budget_mb << 20),
                                         daemon=True, name="uip-intake parser")
        self._process.start()
        sender.close()
        self._connection, self._tasks = receiver, 0
        return receiver

    def _running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def start(self) -> None:
        """Start the worker now (when it is not running), so the first file does not wait for it."""
        with self._lock:
            if not self._running():
                self.close()
                self._start()

    def close(self, kill: bool = False) -> None:
        """Stop the worker (politely, or at once with ``kill``)."""
        process, connection = self._process, self._connection
        self._process, self._connection = None, None
        if connection is not None:
            if not kill:
                with contextlib.suppress(OSError, ValueError):
                    connection.send(None)
            connection.close()
        if process is not None:
            if kill:
                process.kill()
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()

    def __call__(self, data: bytes, filename: str, options: ParseOptions) -> tuple[FileKind, FormRecord | None]:
        return self.call(self.parse_function, (data, filename, options), filename)

    def run(self, function: Parse, data: bytes, filename: str, options: ParseOptions
            ) -> tuple[FileKind, FormRecord | None]:
        """``function`` (another module-level Parse) in the worker, with the same bounds."""
        return self.call(function, (data, filename, options), filename)

    def call(self, function: Callable[..., T], args: tuple[Any, ...], filename: str) -> T:
        """``function(*args)`` (module-level, its arguments picklable) in the worker, with the same bounds;
        ``filename`` is what a timeout, a crash or running out of memory is charged to."""
        with self._lock:
            return self._call(function, args, filename)

    def _call(self, function: Callable[..., T], args: tuple[Any, ...], filename: str) -> T:
        if not self._running() or self._tasks >= self.max_tasks:
            self.close()
            self._start()
        connection = self._connection
        assert connection is not None
        self._tasks += 1
        try:
            connection.send((function, args, filename))
            if not connection.poll(self.timeout):
                log.warning("parsing a %s file took over %.0f s; worker stopped",
                            Path(filename).suffix or "(no suffix)", self.timeout)
                self.close(kill=True)
                raise UnreadableFile(Code.TIMEOUT, Cause.SLOW, filename, seconds=round(self.timeout))
            result = connection.recv()
        except (EOFError, OSError):  # the worker died: killed by the OS, out of memory, a crash
            self.close(kill=True)
            raise UnreadableFile(Code.TOO_LARGE, Cause.RESOURCES, filename) from None
        if spent(result):
            self.close()  # a worker that ran out of memory is not trusted with the next file
        if result[0] != "ok":
            # raised without a local name: an exception held by a local of the frame it is raised from is a
            # reference cycle (exception → traceback → frame → exception) keeping the caller's data alive
            raise cast(Exception, failure_of(result, filename))
        return cast(T, result[1])
