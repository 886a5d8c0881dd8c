"""Several workers (and staff) on one database: counters, claims, serialised checks and the SQLite lease.

* ``next_reference``: reference numbers from a counter row bumped with one ``UPDATE … RETURNING``. On
  PostgreSQL the bump commits on its own connection at once, as a sequence would: two workers never get the
  same number and neither waits for the other's message to commit (a rolled-back message leaves a gap).
* ``claim``: one worker at a time per key (a message's folder, UIDVALIDITY and UID). On PostgreSQL a
  session-level advisory lock on a connection of its own, released when the work is done or when the worker
  dies (its connection closes); SQLite runs one worker only (the lease), so there a claim always succeeds.
* ``serialise``: a check-then-act inside one transaction (count the selected, then select one more) made
  atomic by writing a counter row first: its row lock (PostgreSQL) or the write lock (SQLite) holds every
  other such transaction until this one commits.
* ``acquire_lease``: on SQLite, the one worker that may poll; a second is refused with who holds it.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from storage.database import Database
from storage.models import Application, WorkerLease, utcnow

_BUMP = text("UPDATE named_counter SET value = value + 1 WHERE name = :name RETURNING value")
_SEED = {
    "postgresql": text("INSERT INTO named_counter (name, value) VALUES (:name, :value) ON CONFLICT DO NOTHING"),
    "sqlite": text("INSERT OR IGNORE INTO named_counter (name, value) VALUES (:name, :value)"),
}


def _bump(connection: Connection | Session, name: str, start: Callable[[], int]) -> int:
    """The counter ``name`` plus one; a counter not there yet starts after ``start()`` (asked only then)."""
    dialect = connection.get_bind().dialect.name if isinstance(connection, Session) else connection.dialect.name
    value = connection.execute(_BUMP, {"name": name}).scalar()
    if value is None:
        connection.execute(_SEED.get(dialect, _SEED["postgresql"]), {"name": name, "value": start()})
        value = connection.execute(_BUMP, {"name": name}).scalar()
    assert value is not None
    return int(value)


def _highest_reference(session: Session, stem: str) -> int:
    numbers = [int(ref[len(stem):]) for ref in session.scalars(
        select(Application.reference).where(Application.reference.like(f"{stem}%"))) if ref[len(stem):].isdigit()]
    return max(numbers, default=0)


def next_reference(session: Session, prefix: str, year: int) -> str:
    """The next free reference, e.g. AD-2019-0007; unique across workers (a database counter)."""
    stem = f"{prefix}-{year}-"

    def start() -> int:  # a new counter starts after references made before it existed (read once, not per form)
        return _highest_reference(session, stem)

    name = f"reference:{stem}"
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":  # one writer at a time: the bump belongs to this message's transaction
        return f"{stem}{_bump(session, name, start):04d}"
    with bind.engine.connect() as connection:  # commits at once, like nextval(): never handed out twice
        number = _bump(connection, name, start)
        connection.commit()
    return f"{stem}{number:04d}"


def serialise(session: Session, name: str) -> None:
    """Hold every other transaction that serialises on ``name`` until this one ends."""
    _bump(session, f"lock:{name}", lambda: 0)


def _lock_key(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


@contextmanager
def claim(db: Database, key: str) -> Iterator[bool]:
    """True while this worker alone works on ``key``; False when another worker has it now."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    lock = _lock_key(key)
    with db.engine.connect() as connection:
        got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock}).scalar())
        connection.commit()
        try:
            yield got
        finally:
            if got:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock})
                connection.commit()


@contextmanager
def claim_many(db: Database, keys: list[str]) -> Iterator[list[bool]]:
    """``claim`` for several keys at once, on one connection (a chunk of messages holds one connection, not one
    per message); each flag says whether this worker alone has that key."""
    if db.engine.dialect.name != "postgresql" or not keys:
        yield [True] * len(keys)
        return
    locks = [_lock_key(key) for key in keys]
    with db.engine.connect() as connection:
        got = [bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock}).scalar())
               for lock in locks]
        connection.commit()
        try:
            yield got
        finally:
            for lock, mine in zip(locks, got, strict=True):
                if mine:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock})
            connection.commit()


@dataclass(frozen=True)
class Lease:
    holder: str
    host: str
    pid: int
    expires_at: datetime


def this_worker() -> tuple[str, int]:
    return socket.gethostname()[:200], os.getpid()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_lease(db: Database, ttl: timedelta, name: str = "mailbox") -> Lease | None:
    """Take or renew the lease for this process; None when taken. Returns the other holder when refused.

    Only SQLite needs it (returns None at once elsewhere). A holder on this host whose process is gone, or
    whose lease expired, is replaced: a crashed worker never locks the mailbox out.
    """
    if db.engine.dialect.name != "sqlite":
        return None
    host, pid = this_worker()
    holder = f"{host}:{pid}"
    now = utcnow()
    with db.session() as session:
        session.execute(text("UPDATE worker_lease SET holder = holder WHERE name = :n"), {"n": name})  # write lock
        lease = session.get(WorkerLease, name)
        if lease is None:
            session.add(WorkerLease(name=name, holder=holder, host=host, pid=pid, expires_at=now + ttl))
            return None
        free = (lease.holder == holder or lease.expires_at <= now
                or (lease.host == host and not _alive(lease.pid)))
        if not free:
            return Lease(lease.holder, lease.host, lease.pid, lease.expires_at)
        lease.holder, lease.host, lease.pid, lease.expires_at = holder, host, pid, now + ttl
    return None


def release_lease(db: Database, name: str = "mailbox") -> None:
    if db.engine.dialect.name != "sqlite":
        return
    host, pid = this_worker()
    with db.session() as session:
        lease = session.get(WorkerLease, name)
        if lease is not None and lease.holder == f"{host}:{pid}":
            session.delete(lease)
