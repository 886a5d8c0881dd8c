"""MIME handling with the standard library's ``email`` package (policy.default), defensively.

Headers may be malformed, filenames hostile (RFC 2231/2047 can decode to ``../../x``), nesting deep:
every accessor here returns clean text and every walk is bounded.
"""

from __future__ import annotations

import base64
import binascii
import email
import mimetypes
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses
from typing import TYPE_CHECKING

from tnefparse import TNEF

from ingest.message_reading import DEFAULT_LIMITS, READING_POLICY
from parsers.display_text import visible_text

if TYPE_CHECKING:
    from ingest.file_reading import Reading

_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "text/plain": ".txt",
}


@dataclass(frozen=True)
class MimePart:
    filename: str
    content_type: str
    data: bytes
    reading: Reading | None = field(default=None, compare=False, repr=False)  # read as a form ahead, if it was
    sha256: str | None = field(default=None, compare=False, repr=False)  # its name in the archive, once stored


def decoded_payload(part: Message) -> bytes | None:
    """``part.get_payload(decode=True)``, with less memory for well-formed base64: the email package splits the
    text into a list of lines to join them again (~42 MB at once for a 7 MB annex); a plain translate and one
    strict decode give the same bytes in ~27 MB. Anything else (bad padding or characters, other encodings)
    goes to the email package, defects and all."""
    payload = part.get_payload()
    if isinstance(payload, str) and str(part.get("Content-Transfer-Encoding", "")).lower() == "base64":
        try:
            joined = payload.encode("ascii", "surrogateescape").translate(None, b"\r\n")
            if len(joined) % 4 == 0:
                return base64.b64decode(joined, validate=True)
        except (UnicodeError, binascii.Error):
            pass
    decoded = part.get_payload(decode=True)
    return decoded if isinstance(decoded, bytes) else None


def parse_message(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=READING_POLICY)


def clean(value: str, limit: int = 998) -> str:
    """Text safe to store, show and copy into a header: no control or bidi/format characters."""
    return visible_text(value, limit)


def header(message: Message, name: str) -> str:
    """A header's decoded value, cleaned of control characters; '' if absent. Never raises: a value the
    header registry refuses (an encoded word decoding to a line break, a broken address list) is decoded
    from the raw field with ``decode_header`` instead, and failing that kept as its raw text."""
    try:
        value = message.get(name)
        return clean(str(value)) if value is not None else ""
    except Exception:  # any header the registry refuses falls back to the raw field
        pass
    raw = _raw_field(message, name)
    return clean(_decoded(raw)) if raw is not None else ""


def _raw_field(message: Message, name: str) -> str | None:
    """The first field ``name`` as it stands in the message, undecoded; None if absent."""
    wanted = name.lower()
    return next((str(value) for key, value in message.raw_items() if key.lower() == wanted), None)


def _decoded(raw: str) -> str:
    try:
        return str(make_header(decode_header(raw)))
    except Exception:  # unknown charsets, bad base64: the raw text, cleaned by the caller
        return raw.encode("ascii", "replace").decode("ascii")


# an address we will answer: a plain addr-spec, nothing that could be a second address, a header or a group
_SAFE_ADDRESS = re.compile(r"[^\s\"(),:;<>@\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


_NAME_AND_ADDRESS = re.compile(r"\s*([^<>]*?)\s*<([^<>]*)>\s*")


def address_of(message: Message, name: str) -> tuple[str, str]:
    """(display name, address) of the first address in header ``name``; ('', '') if none.

    The address is the one the header's own syntax names: the header registry's address objects, or, where
    the registry refuses the field (an encoded word in the display name that decodes to a line break), the
    raw field's addr-specs with every encoded word still encoded. It is never read from decoded display text,
    which a sender controls completely (``=?utf-8?q?Ole=0D=0ABcc:_x@evil.example?= <ole@aarhus.dk>`` is
    ole@aarhus.dk). The display name is decoded and cleaned for showing only. An address that is not a plain
    ``local@domain`` is no address ('')."""
    pairs = _registry_addresses(message, name)
    if pairs is None:
        pairs = _raw_addresses(message, name)
    for display, address in pairs:
        if _SAFE_ADDRESS.fullmatch(address):
            return clean(display, 255), clean(address, 320)
    return (clean(pairs[0][0], 255), "") if pairs else ("", "")


def _registry_addresses(message: Message, name: str) -> list[tuple[str, str]] | None:
    """The header's addresses as the registry parsed them; None when it could not (or the field is absent:
    ``[]``)."""
    try:
        value = message.get(name)
    except Exception:  # a field the registry refuses: read from the raw field instead
        return None
    if value is None:
        return []
    addresses = getattr(value, "addresses", None)
    if addresses is None:
        return None
    return [(str(a.display_name), str(a.addr_spec)) for a in addresses]


def _raw_addresses(message: Message, name: str) -> list[tuple[str, str]]:
    # the raw field, unfolded: its encoded words are still opaque atoms here
    unfolded = re.sub(r"[\r\n]+", " ", _raw_field(message, name) or "")
    single = _NAME_AND_ADDRESS.fullmatch(unfolded)
    if single:  # "phrase <addr>": the phrase is the display name, whatever it decodes to
        return [(_decoded(single.group(1).strip('"')), single.group(2).strip())]
    return [(_decoded(display), address) for display, address in getaddresses([unfolded]) if address]


def reply_address(message: Message) -> str:
    """Where a reply goes: Reply-To if it names an address, else From."""
    return address_of(message, "Reply-To")[1] or address_of(message, "From")[1]


def safe_filename(name: str | None, content_type: str, index: int) -> str:
    """A display name only: no directories, no control characters, bounded; never used as a path."""
    name = clean(name or "", 1000)
    name = re.split(r"[\\/]", name)[-1].strip(" .")
    if not name:
        name = f"bilag-{index}{_EXTENSIONS.get(content_type, '.bin')}"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name


def _filename(part: Message) -> str | None:
    try:
        return part.get_filename()
    except (ValueError, TypeError, IndexError, AttributeError, LookupError):
        return None


def attachments(message: Message) -> list[MimePart]:
    """Every attached file, including those inside forwarded messages (message/rfc822), in order."""
    found: list[MimePart] = []
    _walk(message, 0, found)
    return found


def _walk(part: Message, depth: int, found: list[MimePart]) -> None:
    # the structure stage has quarantined anything deeper or larger: these bounds only guard direct callers
    if depth > DEFAULT_LIMITS.max_depth or len(found) >= DEFAULT_LIMITS.max_parts:
        return
    content_type = part.get_content_type()
    if part.is_multipart():
        payload = part.get_payload()
        children = payload if isinstance(payload, list) else [payload]
        for child in children:
            if isinstance(child, Message):
                _walk(child, depth + 1, found)
        return
    filename = _filename(part)
    disposition = part.get_content_disposition()
    if content_type in ("text/plain", "text/html") and not filename and disposition != "attachment":
        return  # body text, not an attachment
    try:
        payload = decoded_payload(part)
    except (ValueError, TypeError, LookupError):
        payload = None
    data = payload if isinstance(payload, bytes) else b""
    if not data and disposition != "attachment":
        return
    if content_type == "application/ms-tnef" or (filename or "").lower() == "winmail.dat":
        unpacked = tnef_attachments(data, len(found))
        if unpacked:
            found.extend(unpacked[: DEFAULT_LIMITS.max_parts - len(found)])
            return
    found.append(MimePart(safe_filename(filename, content_type, len(found) + 1), content_type, data))


def tnef_attachments(data: bytes, already: int = 0) -> list[MimePart]:
    """The files inside an Outlook ``winmail.dat`` (TNEF); [] when it holds none or cannot be read, in which
    case the winmail.dat itself is kept as an attachment and the sender is asked to resend."""
    try:
        tnef = TNEF(data, do_checksum=False)
        files = [(a.long_filename() or a.name, a.data) for a in tnef.attachments]
    except Exception:  # tnefparse raises ValueError, struct.error, IndexError … on damaged data
        return []
    parts = []
    for n, (name, content) in enumerate(files, start=1):
        if not isinstance(content, bytes) or not content:
            continue
        filename = safe_filename(name if isinstance(name, str) else "", "application/octet-stream", already + n)
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        parts.append(MimePart(filename, content_type, content))
    return parts
