"""The ``uip-intake`` command: the worker, one poll, the staff views and the embedded demo."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from cli import operations as cli_operations
from cli.support import (
    State,
    _database,
    _intake,
    _logging,
    _print_json,
    _settings,
    _worker,
)
from config.runtime import tune_process
from ingest.errors import OUTAGES, WorkerConflict
from ingest.poller import Intake
from notifications.locale import problem_text, reason_text
from storage.models import StaffUser
from storage.passwords import PasswordTooShort, hash_password
from storage.queries import application_view, get_application, list_applications, list_messages, message_view
from storage.states import StaffRole

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Application intake for the Open Dialogue implementation-support call.")


cli_operations.register(app)


@app.callback()
def main(config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file "
                                                     "(also $UIP_INTAKE_CONFIG)", show_default=False)] = None
         ) -> None:
    State.config = config
    tune_process()


@app.command()
def run(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run the worker: poll the mailbox every mailbox.poll_seconds until SIGTERM/SIGINT."""

    _logging(verbose)
    _run_worker(_worker())


def _run_worker(intake: Intake) -> None:
    from ingest.worker import run_worker

    try:
        run_worker(intake)
    except WorkerConflict as error:
        intake.close()
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(3) from error


@app.command()
def poll(once: Annotated[bool, typer.Option("--once", help="one cycle, then exit")] = False,
         verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Poll the mailbox: one cycle with --once (for cron and tests), else like `run`."""
    _logging(verbose)
    if not once:
        _run_worker(_worker())
        return
    intake = _worker()
    try:
        report = intake.poll_once()
    except WorkerConflict as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(3) from error
    except OUTAGES as error:
        typer.echo(f"error: {type(error).__name__}: {error}", err=True)
        raise typer.Exit(1) from error
    finally:
        intake.close()
    parked = f", {report.parked} parked" if report.parked else ""
    elsewhere = f", {report.claimed_elsewhere} claimed by another worker" if report.claimed_elsewhere else ""
    typer.echo(f"{report.seen} seen, {report.processed} processed, {report.moved} moved, {report.errors} errors"
               f"{parked}{elsewhere}; "
               f"outcomes {_counted(report.outcomes)}; replies sent {report.outbox.sent if report.outbox else 0}, "
               f"deferred {report.outbox.deferred if report.outbox else 0}")


@app.command("send")
def send_replies() -> None:
    """Send the pending replies now (they are also sent after every poll)."""
    _logging()
    intake = _worker()
    try:
        report = intake.send_replies()
    finally:
        intake.close()
    typer.echo(f"sent {report.sent}, deferred {report.deferred}, failed {report.failed}")


@app.command()
def messages(as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False) -> None:
    """Every inbound message and what became of it."""
    settings = _settings()
    with _database(settings).session() as session:
        rows = [{**message_view(m), "reason_text": reason_text(m.reason, "en", settings.call.zone)}
                for m in list_messages(session)]
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        replies = ", ".join(f"{r['kind']}:{r['status']}" for r in row["replies"]) or "-"
        typer.echo(f"{row['received_at'][:16]}  {row['outcome'] or row['state']:<12} {row['reference'] or '-':<13} "
                   f"{row['sender'][:30]:<30} {row['subject'][:40]:<40} {replies}")
        if row["reason_text"] or row["error"]:
            typer.echo(f"{'':18}{row['error'] or row['reason_text']}")


def _queue_table(apps: list[dict[str, Any]]) -> str:
    header = f"{'Reference':<13} {'Status':<20} {'Late':<4} {'Received (UTC)':<16} {'Municipality':<28} " \
             f"{'Problems':>8}  Last reply"
    lines = [header, "-" * len(header)]
    for a in apps:
        last = a["replies"][-1] if a["replies"] else None
        lines.append(f"{a['reference']:<13} {a['status']:<20} {'yes' if a['late'] else 'no':<4} "
                     f"{a['received_at'][:16]:<16} {(a['municipality'] or '?')[:28]:<28} {len(a['problems']):>8}  "
                     f"{last['kind'] + ' (' + last['status'] + ')' if last else '-'}")
    return "\n".join(lines)


@app.command()
def queue(as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False) -> None:
    """Every application: status, late, fields and problems."""
    with _database().session() as session:
        apps = [application_view(a) for a in list_applications(session)]
    if as_json:
        _print_json(apps)
    else:
        typer.echo(_queue_table(apps))


@app.command()
def show(reference: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One application in full."""
    with _database().session() as session:
        application = get_application(session, reference)
        view = application_view(application) if application else None
        if view is not None and application is not None and application.current_submission is not None:
            for problem, row in zip(view["problems"], application.current_submission.problems, strict=True):
                problem["text"] = problem_text(row.problem(), "en")
    if view is None:
        typer.echo(f"no application {reference}", err=True)
        raise typer.Exit(1)
    if as_json:
        _print_json(view)
        return
    from parsers.form_fields import FIELDS

    typer.echo(f"{view['reference']}  {view['status']}{'  (late)' if view['late'] else ''}  "
               f"received {view['received_at']}")
    for spec in FIELDS:
        if spec.key in view["fields"]:
            typer.echo(f"  {spec.label[:60]:<60} {view['fields'][spec.key]}")
    for problem in view["problems"]:
        typer.echo(f"  ! {problem['label']}: {problem['text']}")
    for reply in view["replies"]:
        typer.echo(f"  > {reply['kind']} to {reply['to']}: {reply['status']}")


staff_app = typer.Typer(no_args_is_help=True, help="Staff accounts for the web app (`uip-intake serve`).")
app.add_typer(staff_app, name="staff")


def _password_hash(password: str) -> str:
    try:
        return hash_password(password)
    except PasswordTooShort as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


def _staff_member(session: Session, email: str) -> StaffUser:
    from storage.staff import find_staff

    user = find_staff(session, email)
    if user is None:
        typer.echo(f"error: no account {email}", err=True)
        raise typer.Exit(1)
    return user


@staff_app.command("add")
def staff_add(email: str,
              password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                                    envvar="UIP_INTAKE_STAFF_PASSWORD",
                                                    help="asked for when not given (at least 12 characters)")],
              role: Annotated[StaffRole, typer.Option(help="staff: read, correct, propose; approver: also "
                                                      "approve a round's selection; admin: everything")
                              ] = StaffRole.STAFF,
              ) -> None:
    """Create a staff account that can sign in to the web app."""
    from storage.staff import StaffExists, add_staff, audit

    if "@" not in email:
        typer.echo("error: give the member's e-mail address", err=True)
        raise typer.Exit(2)
    hashed = _password_hash(password)
    settings = _settings()
    try:
        with _database(settings).session() as session:
            user = add_staff(session, email, hashed, role)
            audit(session, "cli", "staff_add", detail={"email": user.email, "role": str(role)})
    except StaffExists as error:
        typer.echo(f"error: {email} already has an account (reset it with `uip-intake staff password`)", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"created {role} account {user.email}; sign in at http://{settings.web.host}:{settings.web.port}/login "
               "after `uip-intake serve`")


@staff_app.command("password")
def staff_password(email: str,
                   password: Annotated[str, typer.Option(prompt="New password", hide_input=True,
                                                         confirmation_prompt=True,
                                                         envvar="UIP_INTAKE_STAFF_PASSWORD")]) -> None:
    """Set a new password (and enable the account); the member's open sessions end."""
    from storage.staff import audit, close_sessions_of

    hashed = _password_hash(password)
    with _database().session() as session:
        user = _staff_member(session, email)
        user.password_hash, user.disabled = hashed, False
        close_sessions_of(session, user)
        audit(session, "cli", "staff_password", detail={"email": user.email})
    typer.echo(f"new password set for {email}")


@staff_app.command("disable")
def staff_disable(email: str) -> None:
    """Stop an account from signing in; its open sessions end at once."""
    from storage.staff import audit, close_sessions_of

    with _database().session() as session:
        user = _staff_member(session, email)
        user.disabled = True
        close_sessions_of(session, user)
        audit(session, "cli", "staff_disable", detail={"email": user.email})
    typer.echo(f"disabled {email}")


@staff_app.command("list")
def staff_list() -> None:
    """Every staff account and when it last signed in."""
    from storage.staff import list_staff

    with _database().session() as session:
        for user in list_staff(session):
            last = user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "never"
            typer.echo(f"{user.email:<40} {user.role:<9} {'disabled' if user.disabled else 'active':<9} "
                       f"last sign-in {last}")


@staff_app.command("role")
def staff_role(email: str, role: Annotated[StaffRole, typer.Argument(help="staff | approver | admin")]) -> None:
    """Give a staff account another role (takes effect at its next request)."""
    from storage.staff import audit

    with _database().session() as session:
        user = _staff_member(session, email)
        before, user.role = user.role, role
        audit(session, "cli", "staff_role", detail={"email": user.email, "from": before, "to": str(role)})
    typer.echo(f"{user.email} is now {role}")


@app.command()
def serve(host: Annotated[str | None, typer.Option(help="default: web.host")] = None,
          port: Annotated[int | None, typer.Option(help="default: web.port")] = None) -> None:
    """Serve the staff web app (the queue, applications, ranking) with uvicorn."""
    import uvicorn

    from web import create_app

    settings = _settings()
    db = _database(settings)
    _logging(settings=settings)
    bind_host, bind_port = host or settings.web.host, port or settings.web.port
    typer.echo(f"uip-intake web app on http://{bind_host}:{bind_port}/ (sign in with an account from "
               "`uip-intake staff add`)")
    # proxy_headers off: the app itself believes X-Forwarded-* from web.forwarded_allow_ips only
    uvicorn.run(create_app(settings, db), host=bind_host, port=bind_port, proxy_headers=False,
                root_path=settings.web.root_path, server_header=False,
                log_config=None)  # uvicorn's loggers go through ours (text or JSON)


@app.command()
def form(output: Annotated[Path, typer.Option("--output", "-o", help="where to write the .docx")]) -> None:
    """Write the official blank application form (.docx)."""
    from parsers.blank_form import blank_form

    output.write_bytes(blank_form())
    typer.echo(f"wrote {output}")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (also done by every other command)."""
    _database()
    typer.echo("database schema is up to date")


def _counted(counts: Mapping[str, int]) -> str:
    """{Outcome.APPLICATION: 7, …} as "application 7, …" (the codes, as the logs and --json give them)."""
    return ", ".join(f"{key} {count}" for key, count in counts.items()) or "none"


class DemoEnd(StrEnum):
    RANKING = "ranking"  # stop with the ranking: the decision is yours to take in the web app
    DECISION = "decision"  # take the round to its end: letters in the outbox


@app.command()
def demo(fresh: Annotated[bool, typer.Option("--fresh/--keep", help="start from an empty var/")] = True,
         until: Annotated[DemoEnd, typer.Option(help="how far the demo goes: 'ranking' leaves the decision to you "
                                                     "in the web app")] = DemoEnd.DECISION) -> None:
    """Run the real pipeline on the embedded default: a seeded Maildir, SQLite and an .eml outbox."""
    from ingest.demo import DEMO_APPEAL_TEXT, sample_answers, seed_maildir

    settings = _settings()
    if not settings.call.appeal_text.get(settings.call.language):
        settings.call.appeal_text = dict(DEMO_APPEAL_TEXT)  # the demo's letters carry one; the Board sets its own
    if settings.mailbox.protocol != "maildir" or settings.smtp.transport != "file":
        typer.echo("error: the demo runs on the embedded default (mailbox.protocol = \"maildir\", "
                   "smtp.transport = \"file\"); unset the overrides or use another --config", err=True)
        raise typer.Exit(2)
    _logging()
    logging.getLogger().setLevel(logging.WARNING)
    if fresh:
        for path in (settings.mailbox.maildir_path, settings.storage.archive_dir, settings.smtp.outbox_dir):
            shutil.rmtree(path, ignore_errors=True)
        if settings.database.url.startswith("sqlite:///"):
            for suffix in ("", "-wal", "-shm"):
                Path(settings.database.url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    shown = seed_maildir(settings.mailbox.maildir_path)
    typer.echo(f"Seeded {settings.mailbox.maildir_path} with {len(shown)} emails:")
    for what in shown:
        typer.echo(f"  - {what}")
    intake = _intake(settings)
    try:
        report = intake.poll_once()
        typer.echo(f"\nOne poll: {report.seen} seen, {report.processed} processed, "
                   f"outcomes {_counted(report.outcomes)}, {report.outbox.sent if report.outbox else 0} replies "
                   f"written to {settings.smtp.outbox_dir}/\n")
        with intake.db.session() as session:
            apps = [application_view(a) for a in list_applications(session)]
            msgs = [message_view(m) for m in list_messages(session)]
        typer.echo(_queue_table(apps))
        typer.echo("\nMessages:")
        for m in msgs:
            typer.echo(f"  {m['outcome']:<12} {m['reference'] or '-':<13} {m['subject'][:50]:<50} "
                       f"{', '.join(r['kind'] for r in m['replies']) or 'no reply'}")
        answers = seed_maildir(settings.mailbox.maildir_path, sample_answers())
        typer.echo(f"\nThe municipalities answer the two clarification requests: {'; '.join(answers)}")
        again = intake.poll_once()
        typer.echo(f"One more poll: {again.processed} processed, outcomes {_counted(again.outcomes)}, "
                   f"{again.outbox.sent if again.outbox else 0} replies written")
        if until == DemoEnd.RANKING:
            typer.echo("\nThe round is ranked and waits for its decision. Take it by hand in the web app:\n"
                       "  uip-intake staff add you@example.org                     # selects and proposes\n"
                       "  uip-intake staff add boss@example.org --role approver    # approves (another person)\n"
                       "  uip-intake serve                                         # http://127.0.0.1:8080/ranking\n"
                       "Set call.appeal_text (or UIP_INTAKE_CALL__APPEAL_TEXT) for the letters' guidance on appeal.")
            return
        from cli.demo_decision import decide_demo_round

        typer.echo("\nThe round's decision (as staff and an approver do it on /ranking and /decision):")
        for line in decide_demo_round(intake, settings):
            typer.echo(f"  {line}")
        typer.echo("\nTry: uip-intake queue --json | uip-intake show AD-2019-0001 | uip-intake messages\n"
                   "Web app: uip-intake staff add you@example.org (--role approver to approve), then uip-intake serve\n"
                   "To take the decision yourself: uip-intake demo --until ranking")
    finally:
        intake.close()  # its parse workers and LibreOffice too


if __name__ == "__main__":
    app()
