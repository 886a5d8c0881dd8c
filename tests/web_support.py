"""The web app's test bench: the demo's real mail run through the real pipeline into a database, a staff
account, and a signed-in client."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi.testclient import TestClient

from config import Settings, load_settings
from ingest.demo import DEMO_APPEAL_TEXT
from ingest.poller import Intake
from storage import Database
from storage.passwords import hash_password
from storage.staff import add_staff
from web import create_app

PASSWORD = "correct-horse-battery"
EMAIL = "anna@socialstyrelsen.dk"


@dataclass
class Bench:
    settings: Settings
    db: Database


def demo_settings(tmp_path: Path, db_url: str, **web: object) -> Settings:
    return load_settings(None, **{
        "mailbox": {"protocol": "maildir", "maildir_path": str(tmp_path / "maildir")},
        "smtp": {"transport": "file", "outbox_dir": str(tmp_path / "outbox")},
        "database": {"url": db_url},
        "storage": {"archive_dir": str(tmp_path / "archive")},
        "parsing": {"isolate": False},
        "call": {"appeal_text": DEMO_APPEAL_TEXT},
        "web": web,
    })


def populate(settings: Settings) -> Database:
    """The mail in the settings' Maildir, processed by one real poll; one staff account."""
    intake = Intake.from_settings(settings)
    intake.db.migrate()
    intake.poll_once()
    intake.close()
    db = Database(settings.database.url)
    with db.session() as session:
        add_staff(session, EMAIL, hash_password(PASSWORD))
    return db


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def sign_in(client: TestClient, email: str = EMAIL, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the session's CSRF token (read from the queue page)."""
    page = client.get("/login")
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_of(page.text),
                                           "next_page": "/queue"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/queue").text)


def client_for(bench: Bench) -> TestClient:
    return TestClient(create_app(bench.settings, bench.db), follow_redirects=False)


@contextmanager
def serving(bench: Bench, root_path: str = "") -> Iterator[str]:
    """A real uvicorn serving the app on a free loopback port (as `uip-intake serve` does); yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(bench.settings, bench.db), host="127.0.0.1", port=port,
                                           root_path=root_path, log_level="warning",
                                           proxy_headers=False))  # as `uip-intake serve`: the app decides
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def deliver(bench: Bench, *raw: bytes) -> None:
    """Mail into the bench's Maildir, processed by one more real poll."""
    import mailbox

    box = mailbox.Maildir(bench.settings.mailbox.maildir_path)
    for message in raw:
        box.add(message)
    intake = Intake.from_settings(bench.settings)
    try:
        intake.poll_once()
    finally:
        intake.close()
