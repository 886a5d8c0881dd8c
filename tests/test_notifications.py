"""Reply texts and the message built for each: Danish, threaded, marked as auto-replied."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from jinja2 import UndefinedError

from notifications import FileTransport, build_email, render_reply
from notifications.locale import time_text
from parsers import Problem, UnreadableFile
from parsers.problem_codes import ProblemCode
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


def test_replies_share_one_class_per_header_name_and_come_out_as_with_the_stock_policy(monkeypatch):
    from notifications import compose

    def reply(number: int) -> Reply:
        return Reply(message_id_header=f"<r{number}@socialstyrelsen.dk>", kind="acknowledgement",
                     to_addr=f"Åse Ø <a{number}@aarhus.dk>", subject=f"[AD-2019-000{number}] Kvittering – æøå",
                     in_reply_to="<m1@aarhus.dk>", references="<m0@aarhus.dk> <m1@aarhus.dk>",
                     body="Kære Åse\n\nTak for ansøgningen.\n", created_at=datetime(2019, 9, 2, 10, tzinfo=UTC))

    sender = "Socialstyrelsen <uip-imp2@socialstyrelsen.dk>"
    first, second = build_email(reply(1), sender), build_email(reply(2), sender)
    assert type(first["Subject"]) is type(second["Subject"])  # made once, not once per message
    assert type(first["To"]) is not type(first["Subject"])  # each name still has its own kind of header
    ours = first.as_bytes(policy=policy.SMTP)
    monkeypatch.setattr(compose, "REPLY_POLICY", policy.default)
    stock = build_email(reply(1), sender)
    stock.set_boundary(first.get_boundary())  # the same boundary, so the bytes can be compared whole
    assert stock.as_bytes(policy=policy.SMTP) == ours


CONTEXT = {
    "reference": "AD-2019-0001", "greeting": "Mette", "form_filename": "skema.docx", "municipality": "Aarhus Kommune",
    "partners": ["Odder Kommune"], "target_group_size": 1250, "population": 352751,
    "already_implemented": False, "director_approved": True, "director_name": "Kirsten Bach",
    "approval_date": "2019-09-02", "annexes": ["Budget.pdf"], "problems": [], "version": 2, "late": True,
    "correction_after_deadline": True, "subject": "Ansøgning", "received_local": "2. september 2019 kl. 10.00",
    "deadline_local": "9. september 2019 kl. 12.00", "questions_address": "spm-uip2@socialstyrelsen.dk",
    "attachments": ["winmail.dat"], "unreadable": [UnreadableFile("macro", "macros", "x.docm").as_dict()],
    "size": 11_010_048, "limit": 10_485_760, "structure_limit": "too_deep",
    "files": [{"filename": "skema.docx", "role": "form", "size": 54_288, "sha256": "ab" * 32},
              {"filename": "Budget.pdf", "role": "annex", "size": 18, "sha256": "cd" * 32}],
}
PROBLEMS = [Problem("population", ProblemCode.UNREADABLE, {"value_code": "not_a_number", "value": "mange"}),
            Problem("director_approved", ProblemCode.NOT_APPROVED),
            Problem("approval_date", ProblemCode.APPROVAL_AFTER_RECEIPT,
                    {"approval_date": "2019-09-20", "received_on": "2019-09-03"})]
TEMPLATES = ["acknowledgement", "clarification", "size_rejection", "no_form", "unreadable", "round_closed", "receipt",
             "quarantined"]


@pytest.mark.parametrize("language", ["da", "en"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_exists_in_danish_and_english_with_the_same_values(template, language):
    rendered = render_reply(template, CONTEXT, language)
    assert rendered.subject and rendered.body.strip() and rendered.language == language
    assert ("Med venlig hilsen" if language == "da" else "Kind regards") in rendered.body
    if "reference" in rendered.subject or template in {"acknowledgement", "clarification", "receipt"}:
        assert rendered.subject.startswith("[AD-2019-0001]")


DANISH_WORDS = ("Ja", "Nej", "ikke angivet", "Vi har brug for", "Filen", "Feltet", "modtaget", "Kære", "kl.")


@pytest.mark.parametrize("template", TEMPLATES)
def test_an_english_reply_is_english_throughout_values_problems_and_refusals_included(template):
    english_times = {"received_local": time_text(datetime(2019, 9, 2, 8, tzinfo=UTC), "en"),
                     "deadline_local": time_text(datetime(2019, 9, 9, 10, tzinfo=UTC), "en")}
    body = render_reply(template, {**CONTEXT, **english_times, "problems": PROBLEMS}, "en").body
    found = [word for word in DANISH_WORDS if f" {word} " in f" {body} ".replace("\n", " ").replace(":", " ")]
    assert found == [], body
    if template == "clarification":
        assert '"mange" is not a number. We need a whole number at least as large as the target group.' in body
        assert "The date 20 September 2019 is after the day the application was received (3 September 2019)." in body
    if template == "acknowledgement":
        assert "Has implemented Open Dialogue: No" in body and "(Kirsten Bach, 2 September 2019)" in body
    if template == "size_rejection":
        assert "was 10.5 MB" in body and "at most 10 MB" in body


def test_a_danish_reply_words_values_and_problems_in_danish():
    body = render_reply("clarification", {**CONTEXT, "problems": PROBLEMS}, "da").body
    assert "»mange« er ikke et tal. Vi har brug for et helt tal, mindst lige så stort som målgruppen." in body
    assert "Datoen 20. september 2019 ligger efter den dag, ansøgningen blev modtaget (3. september 2019)." in body
    acknowledgement = render_reply("acknowledgement", CONTEXT, "da").body
    assert "1.250" in acknowledgement and "352.751" in acknowledgement and "2. september 2019" in acknowledgement
    assert "fyldte 10,5 MB" in render_reply("size_rejection", CONTEXT, "da").body


@pytest.mark.parametrize("language", ["da", "en"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_paragraphs_flow_as_one_line_each_and_the_signature_keeps_its_lines(template, language):
    body = render_reply(template, {**CONTEXT, "problems": PROBLEMS}, language).body
    for paragraph in body.split("\n\n"):
        lines = paragraph.split("\n")
        prose = [line for line in lines if line and not line.startswith((" ", "* ", "- "))]
        # a soft break inside a sentence would leave a line that ends without punctuation and is followed by prose
        assert len(prose) == 1 or paragraph.startswith(("Med venlig hilsen", "Kind regards")) or all(
            line.startswith(" ") for line in lines[1:]), paragraph
    closing = "Med venlig hilsen\nSocialstyrelsen\n" if language == "da" else "Kind regards\nThe National Board"
    assert closing in body


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


def test_replies_address_the_municipality_as_i_and_jer_and_greet_the_sender_by_name(bench):
    import email
    import glob
    import re
    from email import policy
    from pathlib import Path

    from ingest.poller import Intake

    intake = Intake.from_settings(bench.settings)
    try:
        intake.send_replies()
    finally:
        intake.close()
    written = [email.message_from_bytes(Path(path).read_bytes(), policy=policy.default)
               for path in glob.glob(f"{bench.settings.smtp.outbox_dir}/*.eml")]
    assert len(written) >= 8
    for message in written:
        body = message.get_body(("plain",)).get_content()
        assert not re.search(r"\b(du|din|dit|dine|dig)\b", body + str(message["Subject"]), re.I), message["Subject"]
        assert "Kære afsender" not in body  # every demo sender gave a name
    by_subject = {str(m["Subject"]): m.get_body(("plain",)).get_content() for m in written}
    vejle = next(body for subject, body in by_subject.items() if "AD-2019-0003" in subject)
    assert "Kære Jan Vad" in vejle
    assert "Samarbejdskommune:            Fredericia Kommune: 150 borgere i målgruppen, 51.000 indbyggere" in vejle
    aarhus = next(body for subject, body in by_subject.items() if "AD-2019-0001" in subject)
    assert "Vi modtog ansøgningen 2. september 2019 kl. 10.15 (det tidspunkt, hvor vores server modtog " in aarhus
    assert "og den har fået referencenummeret AD-2019-0001" in aarhus
    too_big = next(body for subject, body in by_subject.items() if "for stor" in subject)
    assert "omkring en tredjedel mere i en e-mail" in too_big and "ca. 7,5 MB" in too_big


def test_the_html_part_is_a_letter_with_the_echoed_fields_as_a_table_and_no_doubled_breaks():
    from notifications.render import text_to_html

    body = ("Kære Mette\n\nVi har læst:\n\n  Ansøgende kommune:            Aarhus Kommune\n"
            "  Antal indbyggere:             352.751\n\n  * 4.2 Antal indbyggere\n    Feltet er ikke udfyldt.\n\n"
            "Med venlig hilsen\nSocialstyrelsen\n")
    page = text_to_html(body)
    assert "<th scope=\"row\" style=\"text-align: left; padding: 2px 12px 2px 0\">Ansøgende kommune</th>" \
           "<td>Aarhus Kommune</td>" in page
    assert "<li>4.2 Antal indbyggere<br>Feltet er ikke udfyldt.</li>" in page
    assert "<p>Med venlig hilsen<br>Socialstyrelsen</p>" in page
    assert "pre-wrap" not in page and "  " not in page.split("<body")[1].replace("\n", "")


@pytest.mark.parametrize("language", ["da", "en"])
def test_a_caseworkers_reply_and_forward_keep_their_line_breaks_in_both_languages(language):
    context = {**CONTEXT, "author": "anna@socialstyrelsen.dk", "sender_line": "Karen Hald <karen@esbjerg.dk>",
               "sender_address": "karen@esbjerg.dk", "text": "Hej Karen\nsvar på to linjer", "quoted": "> Hej\n> to",
               "reply_subject": "Sv: Spørgsmål", "note": "", "quoted_text": "Hej\nto linjer"}
    reply = render_reply("staff_reply", context, language)
    assert reply.subject == "Sv: Spørgsmål" and reply.body.startswith("Hej Karen\nsvar på to linjer\n")
    assert "> Hej\n> to" in reply.body and "Karen Hald <karen@esbjerg.dk>" in reply.body
    forward = render_reply("forward", context, language)
    assert "karen@esbjerg.dk" in forward.body and forward.body.rstrip().endswith("Hej\nto linjer")
    assert ("Videresendt" if language == "da" else "Forwarded") in forward.body


@pytest.mark.parametrize(("language", "said"), [("da", "fyldte lidt over 10 MB."), ("en", "was just over 10 MB.")])
def test_an_email_just_over_the_limit_is_not_said_to_be_as_large_as_the_limit(language, said):
    body = render_reply("size_rejection", {**CONTEXT, "size": 10 * 1024 * 1024 + 1}, language).body
    assert said in body
    assert "lidt over" not in render_reply("size_rejection", CONTEXT, "da").body  # 10,5 MB is said as it is
