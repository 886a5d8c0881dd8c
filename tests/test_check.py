"""`uip-intake check` and contradictory settings: the findings name their keys; a good configuration passes
every check against real Dovecot, aiosmtpd and the database; a broken one fails with what to do; `run` and
`poll` refuse contradictions instead of guessing."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime

import pytest
from servers import free_port
from test_form_corpus import require_libreoffice
from test_intake_end_to_end import env_of as env_for_settings
from test_warm_converter import require_uno
from typer.testing import CliRunner

from cli.main import app
from config import load_settings
from config.consistency import Severity, errors, findings
from ingest.checks import Status, check_libreoffice


def keys(settings) -> dict[str, Severity]:
    return {f.key: f.severity for f in findings(settings, now=datetime(2019, 8, 1, tzinfo=UTC))}


def test_the_embedded_default_has_no_contradiction():
    assert keys(load_settings(None)) == {}


def test_an_imap_host_with_the_maildir_protocol_is_an_error_naming_the_protocol():
    settings = load_settings(None, mailbox={"host": "imap.example.org"})
    (finding,) = errors(settings)
    assert finding.key == "mailbox.protocol" and 'mailbox.protocol = "imap"' in finding.message
    assert "var/maildir" in finding.message


def test_smtp_settings_with_the_file_transport_is_an_error_naming_the_transport():
    settings = load_settings(None, smtp={"host": "smtp.example.org", "username": "uip-imp2"})
    (finding,) = errors(settings)
    assert finding.key == "smtp.transport" and 'smtp.transport = "smtp"' in finding.message


def test_oauth2_without_a_client_names_each_missing_key():
    settings = load_settings(None, mailbox={"protocol": "imap", "host": "outlook.office365.com", "auth": "oauth2",
                                            "username": "uip-imp2@socialstyrelsen.dk"})
    assert keys(settings) == {"oauth2.tenant": Severity.ERROR, "oauth2.client_id": Severity.ERROR,
                              "oauth2.client_secret": Severity.ERROR}


def test_a_google_provider_needs_its_service_account_file():
    settings = load_settings(None, mailbox={"protocol": "imap", "host": "imap.gmail.com", "auth": "oauth2",
                                            "username": "uip@board.dk"}, oauth2={"provider": "google"})
    assert keys(settings) == {"oauth2.service_account_file": Severity.ERROR}


def test_a_deadline_past_while_the_call_is_open_is_a_warning():
    settings = load_settings(None)
    (finding,) = findings(settings, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert (finding.severity, finding.key) == (Severity.WARNING, "call.deadline")


def test_plain_text_to_a_remote_server_is_a_warning():
    settings = load_settings(None, mailbox={"protocol": "imap", "host": "imap.example.org", "security": "none",
                                            "username": "u", "password": "p"})
    assert keys(settings) == {"mailbox.security": Severity.WARNING}


def test_an_unknown_time_zone_is_refused_naming_the_key(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[call]\ntimezone = "Europe/Odense"\n')
    result = CliRunner().invoke(app, ["--config", str(config), "check"])
    assert result.exit_code == 2 and "call.timezone" in result.output


def env_of(settings, **extra: str) -> dict[str, str]:
    return {**env_for_settings(settings), "UIP_INTAKE_SMTP__AUTH": "none", **extra}


@pytest.mark.servers
def test_a_good_configuration_passes_every_check_and_creates_the_folders_when_asked(settings, imap):
    env = env_of(settings)
    before = CliRunner().invoke(app, ["check"], env=env)
    assert "! database" in before.output and "run `uip-intake migrate`" in before.output
    assert CliRunner().invoke(app, ["migrate"], env=env).exit_code == 0
    first = CliRunner().invoke(app, ["check"], env=env)
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    for name in ("database", "mailbox sign-in", "smtp", "archive", "disk"):
        assert any(line.startswith(f"✓ {name}") for line in lines), (name, first.output)
    assert any(line.startswith("! mailbox folders: Processed, Rejected, Quarantine missing") for line in lines)
    created = CliRunner().invoke(app, ["check", "--create-folders", "--json"], env=env)
    assert created.exit_code == 0, created.output
    results = {r["name"]: r for r in json.loads(created.output)}
    assert results["mailbox folders"]["status"] == "ok" and "created Processed" in results["mailbox folders"]["detail"]
    assert all(imap.folder_exists(f) for f in ("Processed", "Rejected", "Quarantine"))


@pytest.mark.servers
def test_a_broken_configuration_fails_with_what_to_do_and_shows_no_secret(settings):
    env = env_of(settings, UIP_INTAKE_MAILBOX__PASSWORD="wrong-password-xyz",
                 UIP_INTAKE_SMTP__PORT=str(free_port()))
    result = CliRunner().invoke(app, ["check"], env=env)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("✗ mailbox sign-in") and "AUTHENTICATIONFAILED" in line for line in lines), lines
    assert any(line.startswith("✗ smtp") and "ConnectionRefusedError" in line for line in lines), lines
    assert "wrong-password-xyz" not in result.output


def test_run_and_poll_refuse_contradictory_settings_with_the_same_message(tmp_path):
    env = {"UIP_INTAKE_MAILBOX__HOST": "imap.example.org", "UIP_INTAKE_DATABASE__URL": f"sqlite:///{tmp_path}/x.db",
           "UIP_INTAKE_STORAGE__ARCHIVE_DIR": str(tmp_path / "archive"),
           "UIP_INTAKE_MAILBOX__MAILDIR_PATH": str(tmp_path / "maildir"), "HOME": os.environ.get("HOME", "/root")}
    for command in (["poll", "--once"], ["run"]):
        result = CliRunner().invoke(app, command, env=env)
        assert result.exit_code == 2, result.output
        assert "mailbox.protocol" in result.output and 'Set mailbox.protocol = "imap"' in result.output
    assert not (tmp_path / "maildir").exists()  # nothing was polled


def test_the_database_password_can_come_from_a_file_and_is_never_printed(tmp_path):
    secret = tmp_path / "db_password"
    secret.write_text("p@ss/wörd\n")
    settings = load_settings(None, database={"url": "postgresql+psycopg://uip@db.internal/uip",
                                             "password_file": str(secret)})
    from sqlalchemy.engine import make_url

    assert make_url(settings.database.url).password == "p@ss/wörd"
    from ingest.checks import check_database

    result = check_database(settings)  # no such server: the failure names the URL without the password
    assert "p@ss" not in result.detail and "uip:***@db.internal" in result.detail


def test_the_libreoffice_check_says_the_running_libreoffice_is_used_when_its_python_has_uno():
    require_uno()
    result = check_libreoffice(load_settings(None))
    assert result.status == Status.OK and "kept running over UNO" in result.detail


def test_the_libreoffice_check_warns_naming_the_key_when_the_python_has_no_uno():
    require_libreoffice()
    result = check_libreoffice(load_settings(None, parsing={"uno_python": sys.executable}))
    assert result.status == Status.WARNING and "has no uno module" in result.detail
    assert "python3-uno" in result.fix and "parsing.uno_python" in result.fix
