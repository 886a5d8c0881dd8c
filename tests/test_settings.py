"""Settings: documented defaults, a TOML file on top, environment variables above all."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from config import load_settings
from config.settings import ConfigFileError


def test_defaults_run_on_the_embedded_mailbox_with_the_calls_deadline(monkeypatch):
    monkeypatch.delenv("UIP_INTAKE_CONFIG", raising=False)
    s = load_settings()
    assert (s.mailbox.protocol, s.smtp.transport) == ("maildir", "file")
    assert s.database.url.startswith("sqlite:///")
    assert s.call.max_message_bytes == 10_485_760 and s.call.reference_prefix == "AD"
    assert s.call.deadline == datetime(2019, 9, 9, 12, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))


def test_a_config_file_overrides_defaults_and_the_environment_overrides_the_file(tmp_path, monkeypatch):
    file = tmp_path / "intake.toml"
    file.write_text('[mailbox]\nprotocol = "imap"\nhost = "imap.file"\nport = 143\n[call]\nopen = false\n')
    monkeypatch.setenv("UIP_INTAKE_MAILBOX__HOST", "imap.env")
    s = load_settings(file)
    assert (s.mailbox.protocol, s.mailbox.host, s.mailbox.port, s.mailbox.folder) == ("imap", "imap.env", 143,
                                                                                      "INBOX")
    assert s.call.open is False


def test_secrets_can_come_from_a_file(tmp_path, monkeypatch):
    secret = tmp_path / "imap-password"
    secret.write_text("hemmeligt\n")
    monkeypatch.setenv("UIP_INTAKE_MAILBOX__PASSWORD_FILE", str(secret))
    assert load_settings().mailbox.password.get_secret_value() == "hemmeligt"


def test_a_missing_config_file_is_an_error_not_silently_ignored(tmp_path):
    with pytest.raises(ConfigFileError):
        load_settings(tmp_path / "nope.toml")


def test_invalid_values_are_refused(monkeypatch):
    monkeypatch.setenv("UIP_INTAKE_MAILBOX__SECURITY", "sometimes")
    with pytest.raises(ValueError, match="security"):
        load_settings()
