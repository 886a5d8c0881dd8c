"""The embedded default as a new user runs it: `uip-intake demo`, `run` stopping on SIGTERM, `form`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from ingest.cli import app
from parsers import parse_form


def test_demo_processes_every_sample_into_one_outcome_each(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("UIP_INTAKE_"):
            monkeypatch.delenv(name)
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    messages = json.loads(CliRunner().invoke(app, ["messages", "--json"]).output)
    assert [m["outcome"] for m in messages] == ["application", "application", "application", "rejected",
                                                "ignored", "rejected", "duplicate", "application", "application",
                                                "application", "application"]
    queue = json.loads(CliRunner().invoke(app, ["queue", "--json"]).output)
    assert [(a["reference"], a["municipality"], a["status"], a["late"]) for a in queue] == [
        ("AD-2019-0001", "Aarhus Kommune", "complete", False),
        ("AD-2019-0002", "Odense Kommune", "needs_clarification", False),
        ("AD-2019-0003", "Vejle Kommune", "complete", False),
        ("AD-2019-0004", "Herning Kommune", "complete", False),
        ("AD-2019-0005", "Holbæk Kommune", "complete", False),
        ("AD-2019-0006", "Svendborg Kommune", "needs_clarification", False),
        ("AD-2019-0007", "Viborg Kommune", "complete", True)]
    assert len(list((tmp_path / "var/outbox").glob("*.eml"))) == 9
    assert not any((tmp_path / "var/maildir/new").iterdir()) and not any((tmp_path / "var/maildir/cur").iterdir())


def test_form_command_writes_the_blank_form(tmp_path):
    target = tmp_path / "skema.docx"
    assert CliRunner().invoke(app, ["form", "-o", str(target)]).exit_code == 0
    kind, record = parse_form(target.read_bytes(), "skema.docx")
    assert kind == "docx" and record is not None and record.values == {}


def test_run_polls_then_stops_cleanly_on_sigterm(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("UIP_INTAKE_")}
    env["UIP_INTAKE_MAILBOX__POLL_SECONDS"] = "1"
    process = subprocess.Popen([sys.executable, "-m", "ingest.cli", "run"], cwd=tmp_path, env=env,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (tmp_path / "var/uip-intake.db").exists():
        time.sleep(0.1)
    time.sleep(1.5)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "worker stopped" in stderr
    assert Path(tmp_path / "var/maildir").is_dir()
