"""Operations: Prometheus metrics on the web app (behind a token) and logs an operator can ship — one line per
message, optionally JSON, with no personal data at INFO."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

from web_support import client_for

from ingest.demo import sample_mail


def test_metrics_are_off_without_a_token_and_refused_with_a_wrong_one(bench):
    assert client_for(bench).get("/metrics").status_code == 404
    bench.settings.metrics.token = type(bench.settings.metrics.token)("scrape-me-7c1")
    client = client_for(bench)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_metrics_count_messages_replies_polls_and_processing_time(bench):
    bench.settings.metrics.token = type(bench.settings.metrics.token)("scrape-me-7c1")
    response = client_for(bench).get("/metrics", headers={"Authorization": "Bearer scrape-me-7c1"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    values = {m[0]: float(m[1]) for m in re.findall(r"^(uip_intake_[^\s]+) ([0-9.e+-]+)$", text, re.M)}
    assert values['uip_intake_messages{outcome="application",state="processed"}'] == 7  # the demo's seven
    assert values['uip_intake_messages{outcome="duplicate",state="processed"}'] == 1
    assert values['uip_intake_polls_total{result="ok"}'] == 1
    assert values["uip_intake_message_processing_seconds_count"] == 11
    assert values["uip_intake_message_processing_seconds_sum"] > 0
    assert values['uip_intake_outbox_replies{status="sent"}'] >= 8
    assert 0 <= values["uip_intake_seconds_since_last_good_poll"] < 600


def test_json_logs_have_one_line_per_message_and_no_personal_data_at_info(tmp_path, demo_maildir):
    shutil.copytree(demo_maildir, tmp_path / "maildir")
    env = {**os.environ, "UIP_INTAKE_LOGGING__FORMAT": "json", "UIP_INTAKE_PARSING__ISOLATE": "false",
           "UIP_INTAKE_MAILBOX__MAILDIR_PATH": str(tmp_path / "maildir"),
           "UIP_INTAKE_DATABASE__URL": f"sqlite:///{tmp_path}/intake.db",
           "UIP_INTAKE_STORAGE__ARCHIVE_DIR": str(tmp_path / "archive"),
           "UIP_INTAKE_SMTP__OUTBOX_DIR": str(tmp_path / "outbox")}
    run = subprocess.run([sys.executable, "-m", "cli.main", "poll", "--once"], env=env, capture_output=True,
                         text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    entries = [json.loads(line) for line in run.stderr.splitlines() if line.strip()]
    per_message = [e for e in entries if "message_row" in e]
    assert len(per_message) == 11
    assert {e["outcome"] for e in per_message} == {"application", "rejected", "ignored", "duplicate"}
    assert all(isinstance(e["ms"], int) and e["level"] == "INFO" for e in per_message)
    personal = set()
    for _name, raw, _when in sample_mail():
        head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        found = re.search(r"^From: (.*?)<([^>]+)>", head, re.M)
        if found:
            personal |= {found.group(2), found.group(1).strip(' "')}
    info = "\n".join(json.dumps(e, ensure_ascii=False) for e in entries if e["level"] == "INFO")
    leaked = [p for p in personal if p and p in info]
    assert not leaked, leaked
