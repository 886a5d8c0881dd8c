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


@pytest.fixture(scope="session")
def populated_sqlite(tmp_path_factory: pytest.TempPathFactory, demo_maildir: Path) -> Path:
    """The demo's mail processed once by a real poll into SQLite (with a staff account): each SQLite bench starts
    from a copy of the folder (database, archive, Maildir, outbox), as if it had run the poll itself."""
    from web_support import demo_settings, populate

    root = tmp_path_factory.mktemp("populated")
    settings = demo_settings(root, f"sqlite:///{root / 'intake.db'}")
    shutil.copytree(demo_maildir, settings.mailbox.maildir_path)
    populate(settings).dispose()
    return root


@pytest.fixture()
def bench(tmp_path: Path, db_url: str, demo_maildir: Path, request: pytest.FixtureRequest) -> Iterator[object]:
    """The demo's mail processed into a fresh database (SQLite, and PostgreSQL in CI) with a staff account."""
    from web_support import Bench, demo_settings, populate

    settings = demo_settings(tmp_path, db_url)
    if db_url.startswith("sqlite:"):
        template: Path = request.getfixturevalue("populated_sqlite")
        shutil.copytree(template, tmp_path, dirs_exist_ok=True)
        database = Database(db_url)
        with database.session() as session:  # its poll is this test's: just now, not when the template was made
            from sqlalchemy import update

            from storage.models import ServiceStatus, utcnow

            session.execute(update(ServiceStatus).values(last_attempt_at=utcnow(), last_success_at=utcnow()))
    else:
        shutil.copytree(demo_maildir, settings.mailbox.maildir_path)
        database = populate(settings)
    yield Bench(settings, database)
    database.dispose()


# What each marker means, told from what a test uses, so a new test is marked by its fixtures: `make check` runs
# the tests that start none of these (and are not marked slow or image by hand)
SERVER_FIXTURES = frozenset({
    "dovecot", "smtp_sink", "smtp", "settings", "intake", "imap", "large_message_user",  # Dovecot, aiosmtpd
    "idp", "graph", "oauth_dovecot", "oauth_smtp", "mailbox_user",  # the identity provider, the Graph server
    "pki", "tls_dovecot", "misnamed_dovecot", "tls_smtp"})
BROWSER_FIXTURES = frozenset({"browser", "page", "site"})
LIBREOFFICE_FIXTURES = frozenset({"doc", "make_converter"})


def _uses_libreoffice(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    params = callspec.params.values() if callspec is not None else ()
    return any(getattr(value, "libreoffice", False) is True for value in params)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("db_url") == "postgresql"
        if used & SERVER_FIXTURES or on_postgres:
            item.add_marker(pytest.mark.servers)
        if used & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if used & LIBREOFFICE_FIXTURES or _uses_libreoffice(item):
            item.add_marker(pytest.mark.libreoffice)
