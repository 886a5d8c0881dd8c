"""The embedded default as a new user runs it: `uip-intake demo`, `run` stopping on SIGTERM, `form`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cli.main import app
from ingest.parse_pool import ParsePool
from ingest.poller import Intake
from parsers import parse_form
from parsers.form_file import ParseOptions

pytestmark = pytest.mark.slow  # runs the service as its own process


@pytest.fixture()
def demo(tmp_path, monkeypatch) -> Result:
    """`uip-intake demo` as a new user runs it: in an empty folder, with no UIP_INTAKE_ variable set."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("UIP_INTAKE_"):
            monkeypatch.delenv(name)
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    return result


def test_demo_processes_every_sample_into_one_outcome_each(tmp_path, demo):
    result = demo
    messages = json.loads(CliRunner().invoke(app, ["messages", "--json"]).output)
    assert [m["outcome"] for m in messages] == ["application", "application", "application", "rejected",
                                                "ignored", "rejected", "duplicate", "application", "application",
                                                "application", "application", "follow_up", "follow_up"]
    queue = json.loads(CliRunner().invoke(app, ["queue", "--json"]).output)
    assert [(a["reference"], a["municipality"], a["status"], a["late"]) for a in queue] == [
        ("AD-2019-0001", "Aarhus Kommune", "complete", False),
        ("AD-2019-0002", "Odense Kommune", "needs_clarification", False),
        ("AD-2019-0003", "Vejle Kommune", "complete", False),
        ("AD-2019-0004", "Herning Kommune", "complete", False),
        ("AD-2019-0005", "Holbæk Kommune", "complete", False),
        ("AD-2019-0006", "Svendborg Kommune", "needs_clarification", False),
        ("AD-2019-0007", "Viborg Kommune", "complete", True)]
    written = [BytesParser(policy=policy.default).parse(path.open("rb"))
               for path in (tmp_path / "var/outbox").glob("*.eml")]
    letters = [m for m in written if str(m["Subject"]).startswith("Afgørelse")]
    # the replies to the mail and to the two answers, then a letter per application
    assert len(written) == 9 + 2 + 7 and len(letters) == 7
    assert all(m["In-Reply-To"] for m in letters)  # each in its application's conversation
    # the late one is not ranked (call.late_policy = "exclude"); the three best split the tie on rank 3
    assert "proposed AD-2019-0003, AD-2019-0001, AD-2019-0004 (splitting the tie" in result.output
    bodies = {str(m["Subject"]).split("[")[-1].rstrip("]"): m.get_body(("plain",)).get_content() for m in letters}
    assert "deler 3. pladsen med Herning Kommune (AD-2019-0004)" in bodies["AD-2019-0005"]
    assert "efter ansøgningsfristen" in bodies["AD-2019-0007"] and "er ikke vurderet" in bodies["AD-2019-0007"]
    assert "minimumskriterium" in bodies["AD-2019-0006"] and "ikke komplet" not in bodies["AD-2019-0006"]
    assert all("Klagevejledning" in body and "Martin Sandø" in body for body in bodies.values())
    assert "3 award and 4 decline letters drafted" in result.output and "7 written to" in result.output
    assert not any((tmp_path / "var/maildir/new").iterdir()) and not any((tmp_path / "var/maildir/cur").iterdir())


def test_demo_until_ranking_leaves_the_round_undecided_for_staff_to_decide_by_hand(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("UIP_INTAKE_"):
            monkeypatch.delenv(name)
    result = CliRunner().invoke(app, ["demo", "--until", "ranking"])
    assert result.exit_code == 0, result.output
    assert "waits for its decision" in result.output and "--role approver" in result.output
    written = [BytesParser(policy=policy.default).parse(path.open("rb"))
               for path in (tmp_path / "var/outbox").glob("*.eml")]
    assert len(written) == 9 + 2 and not any(str(m["Subject"]).startswith("Afgørelse") for m in written)
    from storage import Database
    from storage.models import Decision

    db = Database("sqlite:///var/uip-intake.db")
    try:
        with db.session() as session:
            assert session.query(Decision).count() == 0
    finally:
        db.dispose()


def test_reprocess_reads_the_stored_forms_with_the_services_parse_pool_and_closes_it(demo, monkeypatch):
    pools: list[ParsePool] = []
    real_call = ParsePool.__call__

    def counted(self: ParsePool, data: bytes, filename: str, options: ParseOptions) -> object:
        pools.append(self)
        return real_call(self, data, filename, options)

    monkeypatch.setattr(ParsePool, "__call__", counted)
    result = CliRunner().invoke(app, ["reprocess", "AD-2019-0001", "--dry-run"])
    assert result.exit_code == 0 and "AD-2019-0001: no change" in result.output, result.output
    assert pools and all(s._process is None for s in pools[0]._sandboxes)  # read through it, then closed


def test_the_commands_that_only_read_the_database_start_no_parse_worker(demo, monkeypatch):

    def no_worker(self: Intake) -> None:
        raise AssertionError("a read-only command built the worker (and with it the parse processes)")

    monkeypatch.setattr(Intake, "__post_init__", no_worker)
    for args in (["migrate"], ["queue"], ["show", "AD-2019-0001"], ["messages"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, (args, result.output, result.exception)


def test_form_command_writes_the_blank_form(tmp_path):
    target = tmp_path / "skema.docx"
    assert CliRunner().invoke(app, ["form", "-o", str(target)]).exit_code == 0
    kind, record = parse_form(target.read_bytes(), "skema.docx")
    assert kind == "docx" and record is not None and record.values == {}


CONSOLE_SCRIPT = Path(sys.executable).with_name("uip-intake")  # what `pip install` made of [project.scripts]


def test_the_console_script_run_again_by_a_parse_worker_imports_none_of_the_service():
    """A forkserver worker runs its parent's main script again (as __mp_main__) before its own code: for the
    uip-intake command that must not mean importing the whole service into every parse worker."""
    heavy = ("cli.main", "ingest.poller", "sqlalchemy", "jinja2", "web.app")
    code = ("import runpy, sys; runpy.run_path(sys.argv[1], run_name='__mp_main__'); "
            f"print([name for name in {heavy!r} if name in sys.modules])")
    rerun = subprocess.run([sys.executable, "-c", code, str(CONSOLE_SCRIPT)], capture_output=True, text=True,
                           check=True)
    assert rerun.stdout.strip() == "[]"
    usage = subprocess.run([str(CONSOLE_SCRIPT), "--help"], capture_output=True, text=True)
    assert usage.returncode == 0 and "poll" in usage.stdout, usage.stderr


def test_run_polls_then_stops_cleanly_on_sigterm(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("UIP_INTAKE_")}
    env["UIP_INTAKE_MAILBOX__POLL_SECONDS"] = "1"
    process = subprocess.Popen([str(CONSOLE_SCRIPT), "run"], cwd=tmp_path, env=env,
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


def test_a_new_user_runs_demo_adds_an_account_serves_and_reads_the_queue_in_the_web_app(tmp_path):
    """The README's path: `demo`, `staff add`, `serve`; then a real HTTP client signs in and reads the pages."""
    import re
    import socket

    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("UIP_INTAKE_")}
    cli = [sys.executable, "-m", "cli.main"]
    assert subprocess.run([*cli, "demo"], cwd=tmp_path, env=env, capture_output=True).returncode == 0
    added = subprocess.run([*cli, "staff", "add", "anna@socialstyrelsen.dk"], cwd=tmp_path, env=env, text=True,
                           input="correct-horse-battery\ncorrect-horse-battery\n", capture_output=True)
    assert added.returncode == 0 and "created staff account anna@socialstyrelsen.dk" in added.stdout, added.stderr
    short = subprocess.run([*cli, "staff", "add", "bo@socialstyrelsen.dk"], cwd=tmp_path, env=env, text=True,
                           input="kort\nkort\n", capture_output=True)
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/healthz")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline and server.poll() is None, "serve did not start"
                time.sleep(0.2)
        assert health.json()["database"] == "ok" and health.json()["last_successful_poll"]
        with httpx.Client(base_url=base) as client:
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
            signed_in = client.post("/login", data={"email": "anna@socialstyrelsen.dk", "csrf_token": token,
                                                    "password": "correct-horse-battery"}, follow_redirects=True)
            assert signed_in.url.path == "/til-behandling" and "Spørgsmål om målgruppen" in signed_in.text
            assert client.get("/queue").text.count('href="/applications/AD-2019-') == 7
            assert "Fredericia Kommune" in client.get("/applications/AD-2019-0003").text
            assert "Korrespondance" in client.get("/applications/AD-2019-0002").text
            assert client.get("/ranking").text.count('<tr id="r-') == 4  # the late one is listed, not ranked
    finally:
        server.terminate()
        server.wait(timeout=20)
