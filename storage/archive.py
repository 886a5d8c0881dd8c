"""Raw files on disk, content-addressed by SHA-256: written once, atomically, never named by the sender."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from config.errors import UipIntakeError

Kind = Literal["messages", "files"]
WRITERS = 8  # files written at once by put_many: their fsyncs share the file system's journal commits


class ArchiveUnavailable(UipIntakeError):
    """The archive cannot be written (disk full, read-only, gone): nothing can be stored, so the poll stops
    and every message stays in the mailbox until it can."""


class Archive:
    def __init__(self, root: Path, writers: int = WRITERS) -> None:
        self.root = Path(root)
        self._writers = writers
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def path(self, kind: Kind, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 digest: {sha256!r}")
        return self.root / kind / sha256[:2] / sha256[2:4] / sha256

    def put(self, kind: Kind, data: bytes) -> str:
        """Store ``data`` durably and return its SHA-256: the bytes are fsynced before the rename, and the
        directory after it (and the parent of each directory made for it), so a power cut right after can lose
        neither the bytes nor the name the database refers to."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(kind, digest)
        if target.exists() and target.stat().st_size == len(data):
            return digest
        try:
            made = _make_directories(target.parent)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        except OSError as error:
            raise ArchiveUnavailable(f"archive {self.root}: {error.strerror or error}") from error
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            for directory in (target.parent, *(made_one.parent for made_one in made)):
                _sync_directory(directory)
        except OSError as error:
            Path(tmp).unlink(missing_ok=True)
            raise ArchiveUnavailable(f"archive {self.root}: {error.strerror or error}") from error
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def put_many(self, kind: Kind, datas: list[bytes]) -> list[Future[str]]:
        """``put`` each of ``datas`` at once, on up to ``writers`` threads; each future is that one's digest or
        its error. Once every future is done, every file stored is as durable as ``put`` makes it (not before:
        two writers needing the same new directory share the fsync of its parent, made by the one that made it).
        Waiting on one fsync at a time is most of what storing a chunk of mail costs; concurrent fsyncs share
        the file system's journal commits."""
        if len(datas) <= 1:
            return [self._now(kind, data) for data in datas]
        pool = self._writer_pool()
        return [pool.submit(self.put, kind, data) for data in datas]

    def _writer_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._writers, thread_name_prefix="uip-archive")
            return self._pool

    def _now(self, kind: Kind, data: bytes) -> Future[str]:
        done: Future[str] = Future()
        try:
            done.set_result(self.put(kind, data))
        except Exception as error:
            done.set_exception(error)
        return done

    def close(self) -> None:
        """End the writer threads (put_many starts them again when called)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def get(self, kind: Kind, sha256: str) -> bytes:
        return self.path(kind, sha256).read_bytes()

    def delete(self, kind: Kind, sha256: str) -> bool:
        """Remove a stored file (retention); True when there was one."""
        try:
            self.path(kind, sha256).unlink()
        except FileNotFoundError:
            return False
        return True


def _make_directories(directory: Path) -> list[Path]:
    """Make ``directory`` and any missing parent; the ones this call made, innermost first."""
    missing: list[Path] = []
    while not directory.is_dir():
        missing.append(directory)
        directory = directory.parent
    for one in reversed(missing):
        one.mkdir(exist_ok=True)  # another writer may make it at the same moment
    return missing


def _sync_directory(directory: Path) -> None:
    """fsync a directory, so the names just written in it are on disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
