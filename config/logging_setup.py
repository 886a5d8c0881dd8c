"""Logging for the worker and the web app: plain text for a terminal, or one JSON object per line for a log
collector (``[logging] format = "json"``). Personal data stays out of INFO: messages are named by their row
id and UID, never by sender, subject, file name or field value."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from config.settings import LoggingSettings

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", "message", …extra fields, "exception"} on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(settings: LoggingSettings, verbose: bool = False) -> None:
    """Like ``logging.basicConfig``: a handler on standard error unless the process has one already (a test
    runner's, an embedding application's)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter() if settings.format == "json" else
                             logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else settings.level)
    for noisy in ("apscheduler", "alembic", "imapclient", "msal", "urllib3", "google"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
