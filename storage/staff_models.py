"""The schema's staff and service tables: staff users, their sessions and failed sign-ins, the audit log,
the service's status, named counters, sync state and the worker lease. None refers to an application."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.model_base import Base, UTCDateTime, utcnow
from storage.states import StaffRole


class StaffUser(Base):
    """A member of the Board's staff who may read the queue; the password is stored as an Argon2 hash."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(16), default=StaffRole.STAFF, server_default="staff")  # a StaffRole
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffSession(Base):
    """A signed-in browser: the cookie holds a random token, the database only its SHA-256."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    staff: Mapped[StaffUser] = relationship()


class LoginFailure(Base):
    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class AuditEntry(Base):
    """Who did what, when: every staff action (and every sign-in, refused or not)."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(String(32), index=True)
    detail: Mapped[Any] = mapped_column(JSON, default=dict)
    client: Mapped[str | None] = mapped_column(String(64))


class ServiceStatus(Base):
    """What the worker last did, for /healthz: one row per activity ("poll")."""

    __tablename__ = "service_status"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    runs_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failures_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class NamedCounter(Base):
    """A counter per name, bumped with one UPDATE … RETURNING: reference numbers that never repeat across
    workers, and a row whose write lock serialises a check-then-act (the 3–5 selection cap)."""

    __tablename__ = "named_counter"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class SyncState(Base):
    """Where a watcher left off with a server, by name: a Graph folder's ``@odata.deltaLink``."""

    __tablename__ = "sync_state"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class WorkerLease(Base):
    """Who polls the mailbox on SQLite, where only one worker may run: host, pid and until when."""

    __tablename__ = "worker_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
