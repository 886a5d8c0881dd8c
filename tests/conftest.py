"""Fixtures: real Dovecot and aiosmtpd servers, a database per test (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient
from servers import REQUIRE_SERVERS, Dovecot, SmtpSink, start_dovecot, start_smtp

from config import Settings, load_settings
from ingest.poller import Intake
from storage import Database

POSTGRES_URL = os.environ.get("UIP_INTAKE_TEST_POSTGRES_URL", "")


def _missing(what: str, error: Exception | None = None) -> None:
    message = f"{what} is not available{': ' + str(error) if error else ''}"
    if REQUIRE_SERVERS:
        pytest.fail(f"{message} (UIP_INTAKE_REQUIRE_SERVERS=1: a missing server is a failure)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    try:
        server = start_dovecot()
    except (FileNotFoundError, RuntimeError) as error:
        _missing("Dovecot", error)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[tuple[SmtpSink, int]]:
    sink = SmtpSink()
    controller, port = start_smtp(sink)
    yield sink, port
    controller.stop()


@pytest.fixture()
def smtp(smtp_sink: tuple[SmtpSink, int]) -> Iterator[tuple[SmtpSink, int]]:
    sink, port = smtp_sink
    sink.clear()
    sink.fail_with = None
    yield sink, port
    sink.fail_with = None


def _database_params() -> list[object]:
    params: list[object] = [pytest.param("sqlite", id="sqlite")]
    if POSTGRES_URL or REQUIRE_SERVERS:
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


@pytest.fixture(params=_database_params())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'intake.db'}"
        return
    if not POSTGRES_URL:
        _missing("PostgreSQL (set UIP_INTAKE_TEST_POSTGRES_URL)")
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as error:
        _missing("PostgreSQL", error)
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture()
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture()
def memory_db() -> Iterator[Database]:
    """SQLite in memory, migrated: the stages' unit tests (no servers)."""
    database = Database("sqlite://")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture()
def mail_user() -> str:
    return f"kommune-{uuid.uuid4().hex[:10]}"


@pytest.fixture()
def settings(tmp_path: Path, dovecot: Dovecot, smtp: tuple[SmtpSink, int], db_url: str,
             mail_user: str) -> Settings:
    """Settings for a real IMAP mailbox (a fresh user per test) and the real SMTP sink."""
    return load_settings(None, **{
        "mailbox": {"protocol": "imap", "host": "127.0.0.1", "port": dovecot.port, "security": "none",
                    "username": mail_user, "password": dovecot.password, "timeout_seconds": 20},
        "smtp": {"transport": "smtp", "host": "127.0.0.1", "port": smtp[1], "security": "none",
                 "sender": "Socialstyrelsen <uip-imp2@socialstyrelsen.dk>"},
        "database": {"url": db_url},
        "storage": {"archive_dir": str(tmp_path / "archive")},
    })


@pytest.fixture()
def intake(settings: Settings) -> Iterator[Intake]:
    service = Intake.from_settings(settings)
    service.db.migrate()
    yield service
    service.close()


@pytest.fixture()
def imap(settings: Settings) -> Iterator[IMAPClient]:
    """A second, independent IMAP client: delivers test mail and inspects folders."""
    client = IMAPClient("127.0.0.1", port=settings.mailbox.port, ssl=False, timeout=20)
    client.login(settings.mailbox.username, settings.mailbox.password.get_secret_value())
    yield client
    client.logout()




@pytest.fixture(scope="session")
def demo_maildir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's eleven emails, built once (one is over 10 MB) and copied for each test that needs them."""
    from ingest.demo import seed_maildir

    path = tmp_path_factory.mktemp("demo") / "maildir"
    seed_maildir(path)
    return path


@pytest.fixture()
def bench(tmp_path: Path, db_url: str, demo_maildir: Path) -> Iterator[object]:
    """The demo's mail processed into a fresh database (SQLite, and PostgreSQL in CI) with a staff account."""
    from web_support import Bench, demo_settings, populate

    settings = demo_settings(tmp_path, db_url)
    shutil.copytree(demo_maildir, settings.mailbox.maildir_path)
    database = populate(settings)
    yield Bench(settings, database)
    database.dispose()
