"""What a watcher keeps between runs (``SyncState``): read it, replace it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.models import SyncState, utcnow


def sync_value(session: Session, name: str) -> str | None:
    row = session.get(SyncState, name)
    return row.value if row is not None else None


def keep_sync_value(session: Session, name: str, value: str | None) -> None:
    """Store ``value`` under ``name`` (None forgets it)."""
    row = session.get(SyncState, name)
    if value is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(SyncState(name=name, value=value, updated_at=utcnow()))
    else:
        row.value = value
