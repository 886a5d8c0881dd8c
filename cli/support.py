"""What every ``uip-intake`` command shares: the settings (bad keys named, never a traceback), the refusal of
contradictory settings, the service and the database, logging and JSON output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from config import Settings, load_settings
from config.consistency import errors
from config.logging_setup import configure_logging
from config.settings import ConfigFileError
from ingest.poller import Intake
from storage import Database


class State:
    config: Path | None = None


def _settings() -> Settings:
    """The settings, or exit 2 with each bad key named (never a traceback)."""
    try:
        return load_settings(State.config)
    except ConfigFileError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    except ValidationError as error:
        for problem in error.errors():
            key = ".".join(str(part) for part in problem["loc"])
            typer.echo(f"error: setting {key}: {problem['msg']}", err=True)
        raise typer.Exit(2) from error


def _consistent(settings: Settings) -> Settings:
    """Refuse contradictory settings (exit 2) with the message `uip-intake check` gives, instead of guessing."""
    refused = errors(settings)
    for finding in refused:
        typer.echo(f"error: settings {finding.key}: {finding.message}", err=True)
    if refused:
        typer.echo("(`uip-intake check` lists every finding and tests each connection)", err=True)
        raise typer.Exit(2)
    return settings


def _intake(settings: Settings | None = None) -> Intake:
    intake = Intake.from_settings(settings or _settings())
    intake.db.migrate()
    return intake


def _worker() -> Intake:
    """The service for the commands that read the mailbox or send: never on contradictory settings."""
    return _intake(_consistent(_settings()))


def _database(settings: Settings | None = None) -> Database:
    """The database alone (migrated), for the commands that need no mailbox."""
    db = Database((settings or _settings()).database.url)
    db.migrate()
    return db


def _logging(verbose: bool = False, settings: Settings | None = None) -> None:
    configure_logging((settings or _settings()).logging, verbose)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


