"""A message's attached files stored in the archive, all at once, before its pipeline runs: the fetch step does
it for a chunk as its readings come back (on the read-ahead thread), so the pipeline's commit never waits for
an fsync, and a row names only a file already on disk."""

from __future__ import annotations

from dataclasses import replace

from ingest.message_files import MessageFiles
from storage import Archive


def store_files(archive: Archive, messages: list[MessageFiles]) -> None:
    """Archive every part of ``messages`` (concurrent writes, one wait: durable when this returns) and name each
    part by its digest."""
    pending = [(files, n, part) for files in messages for n, part in enumerate(files.parts) if part.sha256 is None]
    writes = archive.put_many("files", [part.data for _, _, part in pending])
    digests = [write.result() for write in writes]  # every write done (or its error raised) before any is named
    for (files, n, part), digest in zip(pending, digests, strict=True):
        files.parts[n] = replace(part, sha256=digest)
