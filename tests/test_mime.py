"""MIME handling: forwarded messages, encoded filenames, hostile names, header injection."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from email.policy import SMTP

from ingest.demo import application_email, complete_values
from ingest.mime import attachments, header, parse_message, reply_address, safe_filename


def test_form_inside_a_forwarded_message_is_found():
    inner = application_email(complete_values())
    outer = EmailMessage()
    outer["From"] = "Leder <leder@aarhus.dk>"
    outer["Subject"] = "VS: Ansøgning"
    outer.set_content("Videresender ansøgningen.")
    outer.add_attachment(inner)  # message/rfc822
    parts = attachments(parse_message(outer.as_bytes(policy=SMTP)))
    assert [p.filename for p in parts] == ["Ansøgningsskema Åben Dialog.docx"]
    assert parts[0].data[:2] == b"PK"


def test_rfc2231_encoded_filenames_are_decoded():
    raw = (b"From: a@b.dk\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\n"
           b"Content-Type: text/plain\r\n\r\nhej\r\n--X\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Disposition: attachment; filename*=utf-8''Ans%C3%B8gning%20%C3%85ben%20Dialog.docx\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n--X--\r\n")
    (part,) = attachments(parse_message(raw))
    assert part.filename == "Ansøgning Åben Dialog.docx" and part.data == b"PK\x03\x04"


def test_filenames_never_carry_a_path():
    assert safe_filename("../../etc/passwd", "text/plain", 1) == "passwd"
    assert safe_filename("C:\\Users\\x\\skema.docx", "x/y", 1) == "skema.docx"
    assert safe_filename("..", "application/pdf", 3) == "bilag-3.pdf"
    assert safe_filename("a\r\nb.docx", "x/y", 1) == "a b.docx"
    assert len(safe_filename("x" * 500 + ".docx", "x/y", 1)) <= 200


def test_a_decoded_subject_with_crlf_cannot_inject_a_header():
    raw = b"From: a@b.dk\r\nSubject: =?utf-8?q?hi=0D=0ABcc:_evil@x.dk?=\r\n\r\nbody\r\n"
    assert header(parse_message(raw), "Subject") == "hi Bcc: evil@x.dk"


def test_replies_go_to_reply_to_when_given():
    raw = b"From: Mette <mette@aarhus.dk>\r\nReply-To: ansoegning@aarhus.dk\r\n\r\nx\r\n"
    assert reply_address(parse_message(raw)) == "ansoegning@aarhus.dk"
    assert reply_address(parse_message(b"From: Mette <mette@aarhus.dk>\r\n\r\nx\r\n")) == "mette@aarhus.dk"


def test_plain_body_text_is_not_an_attachment():
    raw = application_email(None).as_bytes(policy=SMTP)
    assert attachments(parse_message(raw)) == []


def test_a_header_is_parsed_once_and_reads_as_the_default_policy_reads_it():
    raw = (b"From: =?utf-8?q?M=C3=B8ller?= <mette@aarhus.dk>\r\nTo: uip-imp2@socialstyrelsen.dk\r\n"
           b"Subject: =?utf-8?q?Ans=C3=B8gning?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nx\r\n")
    ours, default = parse_message(raw), email.message_from_bytes(raw, policy=policy.default)
    assert ours["Content-Type"] is ours["Content-Type"]  # the default policy makes a new object at every read
    assert default["Content-Type"] is not default["Content-Type"]
    for name in ("From", "To", "Subject", "Content-Type"):
        assert str(ours[name]) == str(default[name]) and type(ours[name]).__name__ == type(default[name]).__name__
    assert ours["From"].addresses == default["From"].addresses and ours.get_content_type() == "text/plain"
