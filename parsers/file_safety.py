"""Look at a file's bytes before anything opens it: what it really is, and whether it is safe to read.

Checks are made on the zip directory (declared sizes, entry count, ratio) before any part is inflated,
so a zip bomb costs nothing; OOXML parts are refused when they declare a DOCTYPE or entities.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass
from typing import Literal

from parsers.errors import UnreadableFile
from parsers.problem_codes import RefusalCause as Cause
from parsers.problem_codes import UnreadableCode as Code

FileKind = Literal["docx", "doc", "pdf", "other"]

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_ENTRIES = 1000
MAX_TOTAL_UNCOMPRESSED = 64 * 1024 * 1024
MAX_PART_BYTES = 32 * 1024 * 1024
MAX_RATIO = 120  # typical OOXML parts compress 5-20x; bombs 1000x and more
RATIO_FLOOR = 1024 * 1024  # small parts may compress well without being suspicious

@dataclass(frozen=True)
class FileInspection:
    kind: FileKind
    detail: str = ""


def _looks_like(filename: str) -> str:
    name = filename.lower()
    return name.rsplit(".", 1)[-1] if "." in name else ""


def inspect_file(data: bytes, filename: str) -> FileInspection:
    """Classify ``data`` by content (not by name) and raise :class:`UnreadableFile` for unsafe files."""
    if data.startswith(OLE_MAGIC):
        return _inspect_ole(data, filename)
    if data.startswith(b"%PDF-"):
        if b"/Encrypt" in data[-4096:] or b"/Encrypt" in data[:4096]:
            raise UnreadableFile(Code.ENCRYPTED, Cause.ENCRYPTED_PDF, filename)
        return FileInspection("pdf")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _inspect_zip(data, filename)
    if _looks_like(filename) in {"docx", "docm", "doc", "pdf", "dotx"}:
        raise UnreadableFile(Code.CORRUPT, Cause.MISNAMED, filename)
    return FileInspection("other")


def _inspect_ole(data: bytes, filename: str) -> FileInspection:
    # A password-protected OOXML file is an OLE container holding "EncryptedPackage" (UTF-16 stream name).
    if "EncryptedPackage".encode("utf-16-le") in data[:65536] or b"EncryptedPackage" in data[:65536]:
        raise UnreadableFile(Code.ENCRYPTED, Cause.PASSWORD, filename)
    if "Macros".encode("utf-16-le") in data or "_VBA_PROJECT".encode("utf-16-le") in data:
        raise UnreadableFile(Code.MACRO, Cause.MACROS, filename)
    return FileInspection("doc")


def _inspect_zip(data: bytes, filename: str) -> FileInspection:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError) as exc:  # "zip file version 6.4"
        raise UnreadableFile(Code.CORRUPT, Cause.DAMAGED, filename) from exc
    names = {info.filename for info in infos}
    if "word/document.xml" not in names:
        if _looks_like(filename) in {"docx", "docm", "dotx"}:
            raise UnreadableFile(Code.CORRUPT, Cause.NOT_WORD, filename)
        return FileInspection("other", "zip")
    if len(infos) > MAX_ENTRIES:
        raise UnreadableFile(Code.UNSAFE, Cause.UNUSUAL_STRUCTURE, filename)
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_PART_BYTES or (info.file_size > RATIO_FLOOR and ratio > MAX_RATIO):
            raise UnreadableFile(Code.UNSAFE, Cause.ZIP_BOMB, filename)
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise UnreadableFile(Code.TOO_LARGE, Cause.UNPACKS_TOO_LARGE, filename)
    content_types = _read_part(archive, "[Content_Types].xml", filename)
    if any(n.lower().endswith("vbaproject.bin") for n in names) or b"macroEnabled" in content_types:
        raise UnreadableFile(Code.MACRO, Cause.MACRO_DOCUMENT, filename)
    for info in infos:
        if info.filename.endswith((".xml", ".rels")) and b"<!DOCTYPE" in _read_part(archive, info.filename, filename):
            raise UnreadableFile(Code.UNSAFE, Cause.UNSAFE_XML, filename)
    return FileInspection("docx")


def _read_part(archive: zipfile.ZipFile, name: str, filename: str) -> bytes:
    try:
        return archive.read(name)
    except KeyError:
        return b""
    # a bad CRC, encryption, a cut, a compression method or zip version zipfile does not implement
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, zlib.error, NotImplementedError) as exc:
        raise UnreadableFile(Code.CORRUPT, Cause.DAMAGED, filename) from exc
