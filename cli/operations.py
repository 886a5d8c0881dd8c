"""Operators' commands: `check` (settings and connections), `health` (for a container's health check),
`reprocess` (stored forms read again after a parser fix), `purge` (retention), `bundle` (case files for the
Board's case system) and `rounds` (the application rounds)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.support import _database, _print_json, _settings
from storage import Archive
from storage.models import utcnow
from storage.staff import service_status


def register(app: typer.Typer) -> None:
    for command in (check, health, reprocess, purge, bundle, rounds):
        app.command()(command)


def bundle(reference: Annotated[str | None, typer.Argument(help="the application's reference")] = None,
           output: Annotated[Path, typer.Option("--output", "-o", help="the zip (with --all: a folder)")] = Path("."),
           every: Annotated[bool, typer.Option("--all", help="one zip per application, into the folder -o")] = False,
           ) -> None:
    """The case file of an application as a zip for the case system (ESDH): summary.pdf, every email in and out
    as .eml, the form and annexes as received, metadata.json with every file's SHA-256."""
    from notifications.case_file import build_case_file, round_name
    from storage.queries import get_application, list_applications

    settings = _settings()
    db, archive = _database(settings), Archive(settings.storage.archive_dir)
    if every == (reference is not None):
        typer.echo("error: give a reference, or --all", err=True)
        raise typer.Exit(2)
    with db.session() as session:
        applications = list_applications(session) if every else [get_application(session, reference or "")]
        if applications == [None]:
            typer.echo(f"no application {reference}", err=True)
            raise typer.Exit(1)
        if every:
            output.mkdir(parents=True, exist_ok=True)
        for application in applications:
            assert application is not None
            data = build_case_file(application, archive, settings.smtp.sender, round_name(settings, application),
                                   settings.call.zone)
            target = output / f"{application.reference}.zip" if every else output
            target.write_bytes(data)
            typer.echo(f"{application.reference}: {target} ({len(data):,} bytes)")
    db.dispose()


def check(create_folders: Annotated[bool, typer.Option("--create-folders", help="create the mailbox folders the "
                                                       "service moves mail to, when missing")] = False,
          as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the settings, then every connection (database, OAuth2, IMAP, SMTP, LibreOffice, archive, disk)."""
    from ingest.checks import Status, run_checks

    settings = _settings()
    ask: Any = create_folders
    if not (create_folders or as_json or not sys.stdin.isatty()):
        def ask(missing: list[str]) -> bool:
            return typer.confirm(f"The folders {', '.join(missing)} do not exist. Create them now?", default=True)
    results = run_checks(settings, ask)
    if as_json:
        _print_json([r.as_dict() for r in results])
    else:
        for result in results:
            typer.echo(result.line())
    if any(r.status == Status.FAILED for r in results):
        raise typer.Exit(1)


def health() -> None:
    """Exit 0 when a poll read the mailbox to its end within three poll intervals, else 1 (for the worker's
    container health check; reads only the database)."""
    settings = _settings()
    db = _database(settings)
    with db.session() as session:
        status = service_status(session)
        last = status.last_success_at if status else None
    db.dispose()
    limit = timedelta(seconds=3 * settings.mailbox.poll_seconds)
    if last is None or utcnow() - last > limit:
        typer.echo(f"unhealthy: last good poll {last.isoformat() if last else 'never'}", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: last good poll {last.isoformat()}")


def _show(value: Any) -> str:
    return "(tom)" if value in (None, "", []) else str(value)


def reprocess(references: Annotated[list[str] | None, typer.Argument(help="references; none: every one")] = None,
              since: Annotated[datetime | None, typer.Option(help="only applications received since (UTC)")] = None,
              dry_run: Annotated[bool, typer.Option("--dry-run", help="show, change nothing")] = False,
              notify: Annotated[bool, typer.Option("--notify", help="send the acknowledgement or clarification "
                                                   "the new version calls for")] = False) -> None:
    """Read the stored forms again with today's readers: which fields would change; applied, a new version
    marked "reprocessed" (nothing is sent unless --notify)."""
    from ingest.parse_pool import ParsePool
    from ingest.reprocess import reprocess as run_reprocess
    from parsers.form_file import parse_form

    settings = _settings()
    db = _database(settings)
    # the service's parsing: bounded workers and, for .doc files, the LibreOffice kept running
    parser = ParsePool.from_settings(settings.parsing, settings.limits) if settings.parsing.isolate else None
    try:
        results = run_reprocess(settings, db, Archive(settings.storage.archive_dir), parser or parse_form,
                                references or (), since.replace(tzinfo=since.tzinfo or UTC) if since else None,
                                apply=not dry_run, notify=notify)
    finally:
        if parser is not None:
            parser.close()
        db.dispose()
    for result in results:
        if result.error:
            typer.echo(f"{result.reference}: could not be read today: {result.error}")
            continue
        if not result.changed:
            typer.echo(f"{result.reference}: no change")
            continue
        done = f" → version {result.version} (reprocessed)" if result.version else " (dry run: nothing written)"
        typer.echo(f"{result.reference}:{done}")
        for key, (before, after) in result.changes.items():
            typer.echo(f"  {key}: {_show(before)} → {_show(after)}")
        if result.problems_before != result.problems_after:
            typer.echo(f"  problems: {len(result.problems_before)} → {len(result.problems_after)}")
    if not results:
        typer.echo("no application with a stored form matched")


def purge(older_than: Annotated[int, typer.Option("--older-than", min=1, help="days")],
          dry_run: Annotated[bool, typer.Option("--dry-run", help="count, delete nothing")] = False) -> None:
    """Delete personal data received more than DAYS ago (raw mail, files, form values, notes); an anonymised
    record of each application and an audit line stay."""
    from storage.retention import purge as run_purge

    settings = _settings()
    db = _database(settings)
    try:
        report = run_purge(db, Archive(settings.storage.archive_dir), utcnow() - timedelta(days=older_than),
                           dry_run=dry_run, days=older_than)
    finally:
        db.dispose()
    verb = "would purge" if dry_run else "purged"
    typer.echo(f"{verb} {report.messages} emails and {report.applications} applications received before "
               f"{report.cutoff:%Y-%m-%d}; {report.files} archive files ({report.bytes / 1_048_576:.1f} MB)")


def rounds(as_json: Annotated[bool, typer.Option("--json", help="as JSON")] = False) -> None:
    """The application rounds (``[[rounds]]``, or the call as the one round): opening, deadline, closing, how
    many may be selected, whether mail is taken in now, and how many applications each holds."""
    from sqlalchemy import func, select

    from config.rounds import round_at
    from notifications.locale import time_text
    from storage.models import Application

    settings = _settings()
    configured = settings.call_rounds
    with _database(settings).session() as session:
        counts = dict(session.execute(select(Application.round, func.count(Application.id))
                                      .group_by(Application.round)).tuples().all())
    now_open = round_at(configured, utcnow()) if settings.call.open else None
    rows = [{"name": r.name, "opens": r.opens.isoformat() if r.opens else None, "deadline": r.deadline.isoformat(),
             "closes": r.closes.isoformat() if r.closes else None, "max_selected": r.max_selected,
             "open_now": r is now_open,
             "applications": counts.get(r.name, 0) + (counts.get(None, 0) if index == 0 else 0)}
            for index, r in enumerate(configured)]
    if as_json:
        _print_json(rows)
        return
    zone = settings.call.zone
    for r, row in zip(configured, rows, strict=True):
        opens = time_text(r.opens, "da", zone) if r.opens else "fra start"
        closes = f", lukker {time_text(r.closes, 'da', zone)}" if r.closes else ""
        typer.echo(f"{r.name:<12} åbner {opens}; frist {time_text(r.deadline, 'da', zone)}{closes}; "
                   f"højst {r.max_selected} udvalgt; {row['applications']} ansøgninger"
                   f"{'  [åben nu]' if row['open_now'] else ''}")
    if now_open is None:
        typer.echo("Ingen runde er åben nu: ny post får svaret om, at der ikke er åbent for ansøgninger.")
