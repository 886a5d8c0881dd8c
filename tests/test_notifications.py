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
    assert message.get_content().replace("\r\n", "\n") == "Kære Mette\n\nTak.\n"


def test_sender_with_a_comma_in_its_name_gives_one_from_address_and_our_message_id_domain():
    from notifications.compose import new_message_id, parse_sender

    sender = "Socialstyrelsen, Åben Dialog <uip-imp2@socialstyrelsen.dk>"
    assert parse_sender(sender) == ("Socialstyrelsen, Åben Dialog", "uip-imp2@socialstyrelsen.dk")
    assert new_message_id(sender).endswith("@socialstyrelsen.dk>")
    reply = Reply(message_id_header="<r@socialstyrelsen.dk>", kind="acknowledgement", to_addr="a@aarhus.dk",
                  subject="s", body="b\n", created_at=datetime(2019, 9, 2, 10, tzinfo=UTC))
    message = message_from_bytes(build_email(reply, sender).as_bytes(), policy=policy.default)
    assert [a.addr_spec for a in message["From"].addresses] == ["uip-imp2@socialstyrelsen.dk"]
