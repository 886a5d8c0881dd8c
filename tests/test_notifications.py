"""Reply texts and the message built for each: Danish, threaded, marked as auto-replied."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from jinja2 import UndefinedError

from notifications import FileTransport, build_email, render_reply
from storage import Reply


def test_templates_refuse_missing_values_rather_than_print_blanks():
    with pytest.raises(UndefinedError):
        render_reply("acknowledgement", {"reference": "AD-2019-0001"})


def test_file_transport_writes_a_complete_threaded_auto_reply(tmp_path):
    reply = Reply(message_id_header="<r1@socialstyrelsen.dk>", kind="acknowledgement", to_addr="a@aarhus.dk",
                  subject="[AD-2019-0001] Kvittering\r\nBcc: x@y.dk", in_reply_to="<m1@aarhus.dk>",
                  references="<m0@aarhus.dk> <m1@aarhus.dk>", body="Kære Mette\n\nTak.\n",
                  created_at=datetime(2019, 9, 2, 10, tzinfo=UTC))
    FileTransport(tmp_path).send(build_email(reply, "Socialstyrelsen <uip-imp2@socialstyrelsen.dk>"))
    (eml,) = tmp_path.glob("*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["Subject"] == "[AD-2019-0001] Kvittering Bcc: x@y.dk"
    assert message["Bcc"] is None
    assert message["In-Reply-To"] == "<m1@aarhus.dk>" and message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Kære Mette\n\nTak.\n"


def test_sender_with_a_comma_in_its_name_gives_one_from_address_and_our_message_id_domain():
    from notifications.compose import new_message_id, parse_sender

    sender = "Socialstyrelsen, Åben Dialog <uip-imp2@socialstyrelsen.dk>"
    assert parse_sender(sender) == ("Socialstyrelsen, Åben Dialog", "uip-imp2@socialstyrelsen.dk")
    assert new_message_id(sender).endswith("@socialstyrelsen.dk>")
    reply = Reply(message_id_header="<r@socialstyrelsen.dk>", kind="acknowledgement", to_addr="a@aarhus.dk",
                  subject="s", body="b\n", created_at=datetime(2019, 9, 2, 10, tzinfo=UTC))
    message = message_from_bytes(build_email(reply, sender).as_bytes(), policy=policy.default)
    assert [a.addr_spec for a in message["From"].addresses] == ["uip-imp2@socialstyrelsen.dk"]


CONTEXT = {
    "reference": "AD-2019-0001", "greeting": "Mette", "form_filename": "skema.docx", "municipality": "Aarhus Kommune",
    "partners": ["Odder Kommune"], "target_group_size": "1.250", "population": "352.751",
    "already_implemented": "Nej", "director_approved": "Ja", "director_name": "Kirsten Bach",
    "approval_date": "02-09-2019", "annexes": ["Budget.pdf"], "problems": [], "version": 2, "late": True,
    "correction_after_deadline": True, "subject": "Ansøgning", "received_local": "02-09-2019 kl. 10.00",
    "deadline_local": "09-09-2019 kl. 12.00", "questions_address": "spm-uip2@socialstyrelsen.dk",
    "attachments": ["winmail.dat"], "unreadable": [{"filename": "x.docx", "reason": "Filen »x.docx« …"}],
    "size_mb": "10.5", "limit_mb": "10",
}
TEMPLATES = ["acknowledgement", "clarification", "size_rejection", "no_form", "unreadable", "round_closed", "receipt"]


@pytest.mark.parametrize("language", ["da", "en"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_exists_in_danish_and_english_with_the_same_values(template, language):
    rendered = render_reply(template, CONTEXT, language)
    assert rendered.subject and rendered.body.strip() and rendered.language == language
    assert ("Med venlig hilsen" if language == "da" else "Kind regards") in rendered.body
    if "reference" in rendered.subject or template in {"acknowledgement", "clarification", "receipt"}:
        assert rendered.subject.startswith("[AD-2019-0001]")


def test_an_operators_template_folder_is_used_first_and_the_rest_fall_back(tmp_path):
    (tmp_path / "da").mkdir()
    (tmp_path / "da" / "receipt.txt.j2").write_text("[{{ reference }}] Tak for svaret\nKære kommune\n",
                                                    encoding="utf-8")
    assert render_reply("receipt", CONTEXT, "da", str(tmp_path)).subject == "[AD-2019-0001] Tak for svaret"
    assert render_reply("no_form", CONTEXT, "da", str(tmp_path)).subject.startswith("Vi fandt ikke")


def test_the_html_alternative_says_the_same_and_escapes_what_came_from_outside():
    reply = Reply(message_id_header="<r@socialstyrelsen.dk>", kind="rejection", to_addr="a@aarhus.dk",
                  subject="s", body="Emnet »<script>alert(1)</script>«\n\nTak & farvel\n", language="da",
                  created_at=datetime(2019, 9, 2, 10, tzinfo=UTC))
    message = message_from_bytes(build_email(reply, "S <uip-imp2@socialstyrelsen.dk>").as_bytes(),
                                 policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Tak &amp; farvel" in html and '<html lang="da">' in html
