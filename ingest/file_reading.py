"""What reading one attached file as a form gave, carried on its ``MimePart``: read already in a parse worker
(the outcome as data, from ``form_sandbox.outcome_of``), or under way beside the pipeline (a .doc on the
LibreOffice kept running). The form finder asks each part for its reading; a part without one is parsed on
demand. A failure is rebuilt from its data each time it is asked for, never a raised exception kept, so
nothing holds a traceback (and the message's bytes in its frames) after the message is done."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from ingest.form_sandbox import failure_of, spent
from parsers.file_safety import FileKind
from parsers.form_record import FormRecord

Parsed = tuple[FileKind, FormRecord | None]


class Reading:
    """One file's reading: ``outcome`` (done) or ``under_way`` (a future of an outcome)."""

    def __init__(self, filename: str, outcome: tuple[Any, ...] | None = None,
                 under_way: Future[tuple[Any, ...]] | None = None) -> None:
        assert (outcome is None) != (under_way is None)
        self.filename = filename
        self._outcome = outcome
        self._under_way = under_way

    @property
    def spent(self) -> bool:
        """The worker ran out of memory on it (known only once done)."""
        return self._outcome is not None and spent(self._outcome)

    def result(self) -> Parsed:
        """The file's kind and record, or its ``UnreadableFile`` / ``ParserCrash`` raised (a fresh one)."""
        outcome = self._under_way.result() if self._under_way is not None else self._outcome
        assert outcome is not None  # one of the two, always (see __init__)
        failure = failure_of(outcome, self.filename)
        if failure is not None:
            try:
                raise failure
            finally:
                del failure  # else this frame holds it, and its traceback this frame: a cycle
        kind, record = outcome[1]
        return kind, record

    def cancel(self) -> None:
        """Not wanted after all (the message stopped before its form was looked for)."""
        if self._under_way is not None:
            self._under_way.cancel()
