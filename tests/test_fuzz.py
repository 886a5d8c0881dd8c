"""Property-based tests (Hypothesis): header decoding, the bounded MIME parse and walk, file-name cleaning and the
form readers never crash and never let a control or bidi character through, on random input and on real emails
and forms mutated byte by byte.

CI runs the "ci" profile (a bounded number of examples per test); ``HYPOTHESIS_PROFILE=long`` runs many more.
"""

from __future__ import annotations

import base64
import os
import re
import unicodedata
import zipfile
from functools import cache
from io import BytesIO

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.demo import application_email, complete_values, to_bytes
from ingest.message_reading import MessageStructureError, content_digest, normalised_body, read_headers, read_message
from ingest.mime import address_of, attachments, decoded_payload, header, parse_message, reply_address, safe_filename
from notifications.locale import refusal_text
from parsers.blank_form import fill_form
from parsers.file_safety import UnreadableFile
from parsers.form_file import ParseOptions, parse_form

settings.register_profile("ci", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("long", max_examples=5_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_UNSAFE = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def is_visible(text: str) -> bool:
    return not any(unicodedata.category(c) in _UNSAFE for c in text)


@cache
def real_email() -> bytes:
    return to_bytes(application_email(complete_values(), message_id="<fuzz@aarhus.dk>",
                                      annexes={"bilag.pdf": b"%PDF-1.4 fuzz"}))


@cache
def real_form() -> bytes:
    return fill_form(complete_values())


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    buffer = bytearray(data)
    for position, value in edits:
        buffer[position % len(buffer)] = value
    return bytes(buffer[:cut] if cut else buffer)


edits = st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), max_size=40)
header_text = st.text(st.characters(codec="utf-8"), max_size=200)
encoded_word = st.builds(lambda charset, enc, payload: f"=?{charset}?{enc}?{payload}?=",
                         st.sampled_from(["utf-8", "iso-8859-1", "x-unknown", "utf-7", ""]),
                         st.sampled_from(["q", "b", "Q", "B", "x"]),
                         st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="?"),
                                 max_size=60))


@given(name=st.sampled_from(["From", "Subject", "Reply-To", "Message-ID", "To", "Content-Type"]),
       value=st.one_of(header_text, encoded_word, st.lists(encoded_word, max_size=4).map(" ".join),
                       st.builds(lambda w, a: f"{w} <{a}>", encoded_word, header_text)))
@example(name="From", value="=?utf-8?q?Jens=0AHansen?= <jens@kommune.dk>")
@example(name="Subject", value="=?utf-8?q?hi=0D=0ABcc:_x?=")
@example(name="Content-Type", value="0;0*")  # CPython's parser raised IndexError on it (found by this test)
def test_any_header_value_decodes_without_raising_to_visible_text(name: str, value: str) -> None:
    raw = f"{name}: {value}\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n".encode("utf-8", "surrogateescape")
    message = read_headers(raw)
    for text in (header(message, name), *address_of(message, name), reply_address(message)):
        assert is_visible(text) and "\n" not in text
    content_digest(raw)


@given(body=st.lists(st.sampled_from([b" ", b"\t", b"\r", b"\n", b"\r\n", b" \r\n", b"x", b"\xff"]),
                    max_size=60).map(b"".join))
def test_the_digests_fast_body_normalisation_equals_the_regular_expression(body: bytes) -> None:
    assert normalised_body(body) == re.sub(rb"[ \t]*\r?\n", b"\n", body).rstrip()


@given(data=st.binary(max_size=600), line=st.integers(min_value=4, max_value=80),
       noise=st.sampled_from([b"", b"=", b"==", b"!", b" ", b"\xff", b"A", b"\r\n\r\n"]), cte=st.sampled_from(
           ["base64", "BASE64 ", "quoted-printable", "7bit"]))
def test_the_lean_base64_decoding_gives_what_the_email_package_gives(data: bytes, line: int, noise: bytes,
                                                                       cte: str) -> None:
    encoded = base64.b64encode(data)
    body = b"\r\n".join(encoded[i:i + line] for i in range(0, len(encoded), line)) + noise
    part = parse_message(b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: " + cte.encode()
                         + b"\r\n\r\n" + body + b"\r\n")
    assert decoded_payload(part) == part.get_payload(decode=True)


@given(raw=st.binary(max_size=4_000))
def test_any_bytes_are_read_or_refused_by_the_bounded_parse_never_crash(raw: bytes) -> None:
    read_headers(raw)
    content_digest(raw)
    try:
        message = read_message(raw)
    except MessageStructureError:
        return
    for part in attachments(message):
        assert is_visible(part.filename) and "/" not in part.filename


@given(changes=edits, cut=st.one_of(st.none(), st.integers(min_value=1, max_value=60_000)))
def test_a_real_email_mutated_byte_by_byte_is_read_or_quarantined(changes: list[tuple[int, int]],
                                                                   cut: int | None) -> None:
    raw = mutate(real_email(), changes, cut)
    headers = read_headers(raw)
    assert is_visible(header(headers, "Subject"))
    try:
        message = read_message(raw)
    except MessageStructureError:
        return
    for part in attachments(message):
        assert is_visible(part.filename) and 0 < len(part.filename) <= 200


def _tree(depth: int) -> st.SearchStrategy[bytes]:
    leaf = st.builds(
        lambda kind, name, body: (f"Content-Type: {kind}; name=\"{name}\"\r\n"
                                  f"Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n").encode(
            "utf-8", "surrogateescape") + body,
        st.sampled_from(["application/octet-stream", "text/plain", "application/ms-tnef", "message/rfc822",
                         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"]),
        st.text(max_size=40), st.binary(max_size=200))
    if depth == 0:
        return leaf
    children = st.lists(_tree(depth - 1), min_size=0, max_size=4)
    multipart = st.builds(lambda parts, boundary: (
        f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n".encode()
        + b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
        + b"--" + boundary.encode() + b"--\r\n"), children, st.sampled_from(["a", "b1", "zz", "a"]))
    return st.one_of(leaf, multipart)


@given(tree=_tree(4))
def test_random_mime_trees_are_walked_within_bounds(tree: bytes) -> None:
    raw = b"From: a@b.dk\r\nMIME-Version: 1.0\r\n" + tree
    try:
        message = read_message(raw)
    except MessageStructureError:
        return
    for part in attachments(message):
        assert is_visible(part.filename)


@given(name=st.one_of(st.none(), st.text(max_size=400)), kind=st.sampled_from(["application/pdf", "text/plain",
                                                                                "x/unknown"]),
       index=st.integers(min_value=1, max_value=10_000))
@example(name="faktura\u202egpj.exe", kind="application/pdf", index=1)
@example(name="../../etc/passwd", kind="text/plain", index=1)
def test_file_names_lose_paths_and_unsafe_characters_and_stay_bounded(name: str | None, kind: str,
                                                                     index: int) -> None:
    cleaned = safe_filename(name, kind, index)
    assert cleaned and len(cleaned) <= 200 and is_visible(cleaned)
    assert "/" not in cleaned and "\\" not in cleaned and cleaned not in {".", ".."}


@settings(max_examples=int(os.environ.get("UIP_INTAKE_FUZZ_FORMS", "60")))
@given(changes=edits, cut=st.one_of(st.none(), st.integers(min_value=1, max_value=40_000)))
@example(changes=[(272206, 64)], cut=None)  # a zip entry of "version 6.4": NotImplementedError in zipfile
def test_a_real_form_mutated_byte_by_byte_is_read_or_refused_with_a_reason(changes: list[tuple[int, int]],
                                                                           cut: int | None) -> None:
    data = mutate(real_form(), changes, cut)
    try:
        kind, record = parse_form(data, "skema.docx", ParseOptions(libreoffice=""))
    except UnreadableFile as refused:
        assert refusal_text(refused)  # a Danish reason for the sender
        return
    assert kind in {"docx", "other", "doc", "pdf", "image", "text"} or record is None or record.reader


@settings(max_examples=int(os.environ.get("UIP_INTAKE_FUZZ_FORMS", "60")))
@given(part=st.sampled_from(["word/document.xml", "[Content_Types].xml", "word/_rels/document.xml.rels"]),
       changes=edits, cut=st.one_of(st.none(), st.integers(min_value=1, max_value=20_000)))
# found by this test: a renamed root element made python-docx raise AttributeError (a parser crash, not a reply)
@example(part="word/_rels/document.xml.rels", changes=[(82, 39)], cut=None)
@example(part="[Content_Types].xml", changes=[(74, 39)], cut=None)
def test_a_form_with_a_mutated_xml_part_is_read_or_refused_with_a_reason(part: str,
                                                                         changes: list[tuple[int, int]],
                                                                         cut: int | None) -> None:
    source = zipfile.ZipFile(BytesIO(real_form()))
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, mutate(data, changes, cut) if item.filename == part else data)
    try:
        parse_form(out.getvalue(), "skema.docx", ParseOptions(libreoffice=""))
    except UnreadableFile as refused:
        assert refusal_text(refused)
