"""Sign-in: Argon2 password hashes, server-side sessions, CSRF tokens and the failed-sign-in limit.

The session cookie holds a random token; the database keeps only its SHA-256, so a copy of the database
signs nobody in, and "Log ud" (or disabling the account) ends the session at once. Every form carries the
session's CSRF token (the login form a token of its own, double-submitted in a cookie), and a POST from
another origin is refused before its token is even looked at.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from config import Settings
from config.errors import UipIntakeError
from storage import Database
from storage.coordination import serialise
from storage.models import utcnow
from storage.passwords import hash_password, needs_rehash, verify_password
from storage.staff import (
    audit,
    find_session,
    find_staff,
    forget_login_failure,
    forget_login_failures,
    login_failures,
    open_session,
    record_login_failure,
)
from storage.states import StaffRole

SESSION_COOKIE = "uip_session"
LOGIN_CSRF_COOKIE = "uip_login_csrf"


class NotSignedIn(UipIntakeError):
    """No valid session: pages redirect to the login page."""


class CsrfRefused(UipIntakeError):
    """A form without the session's token, or posted from another origin."""


class WrongCredentials(UipIntakeError):
    """An unknown address, a wrong password or a disabled account (one answer for all three)."""


class TooManyFailures(UipIntakeError):
    """Too many failed sign-ins for this address or from this client; try again later."""


@dataclass(frozen=True)
class Staff:
    id: int
    email: str
    csrf_token: str
    role: StaffRole = StaffRole.STAFF


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "?"


def secure_cookies(request: Request, settings: Settings) -> bool:
    mode = settings.web.secure_cookies
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def cookie_path(request: Request) -> str:
    """The app's own path: "/" or the root path a proxy serves it under."""
    return request.scope.get("root_path") or "/"


def set_cookie(response: Response, request: Request, settings: Settings, name: str, value: str,
               max_age: int | None, samesite: Literal["lax", "strict"] = "strict") -> None:
    """An HttpOnly cookie for this app's path; Secure behind TLS (``web.secure_cookies``)."""
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite=samesite,
                        secure=secure_cookies(request, settings), path=cookie_path(request))


def sign_in(request: Request, settings: Settings, db: Database, email: str, password: str) -> tuple[str, Staff]:
    """Check the password (within the failure limits) and open a session; returns (cookie token, staff).

    Atomic under parallel requests: in one short transaction that holds every other sign-in's (a row lock),
    the failures so far are counted and this attempt is recorded as one more. However many arrive at once,
    exactly ``login_max_failures`` of them reach the (slow) password check, which runs outside the lock; a
    right password then withdraws its own record. Attempts refused by the limit stay counted: a flood keeps
    the address locked.
    """
    client = client_address(request)
    web = settings.web
    actor = email.strip().lower()[:320] or "?"
    with db.session() as session:
        serialise(session, "sign-in")
        by_email, by_client = login_failures(session, email or "?", client,
                                             utcnow() - timedelta(minutes=web.login_window_minutes))
        attempt_id = _reserve_attempt(session, email, client)
        user = find_staff(session, email)
        password_hash = user.password_hash if user else None
    limited = by_email >= web.login_max_failures or by_client >= web.login_max_failures_per_client
    # an unknown address costs the same Argon2 check as a known one: the answer's timing tells nothing
    valid = not limited and verify_password(password_hash, password)
    with db.session() as session:  # a refusal is recorded and committed before it is raised
        user = find_staff(session, email)
        if limited:
            audit(session, actor, "login_refused_rate_limit", client=client)
            refusal: type[Exception] | None = TooManyFailures
        elif user is None or not valid or user.disabled:
            audit(session, actor, "login_failed", client=client)
            refusal = WrongCredentials
        else:
            refusal = None
            forget_login_failure(session, attempt_id)
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            open_session(session, user, digest(token), csrf, timedelta(hours=web.session_hours))
            user.last_login_at = utcnow()
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            forget_login_failures(session, email, utcnow() - timedelta(days=1))
            audit(session, user.email, "login", client=client)
            staff = Staff(user.id, user.email, csrf, StaffRole(user.role))
    if refusal is not None:
        raise refusal
    return token, staff


def _reserve_attempt(session: Session, email: str, client: str) -> int:
    row = record_login_failure(session, email or "?", client)
    session.flush()
    return row.id


def current_staff(request: Request) -> Staff:
    """Dependency: the signed-in staff member, or NotSignedIn."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotSignedIn
    db: Database = request.app.state.db
    with db.session() as session:
        row = find_session(session, digest(token))
        if row is None:
            raise NotSignedIn
        row.last_seen_at = utcnow()
        return Staff(row.staff_id, row.staff.email, row.csrf_token, StaffRole(row.staff.role))


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not sent by every client (curl, older browsers); the token still has to match
    return origin == f"{request.url.scheme}://{request.url.netloc}"


def checked_staff(request: Request, staff: Annotated[Staff, Depends(current_staff)],
                  csrf_token: Annotated[str, Form()] = "") -> Staff:
    """Dependency for every POST: the signed-in staff member, after the CSRF checks."""
    if not _same_origin(request) or not hmac.compare_digest(csrf_token.encode(), staff.csrf_token.encode()):
        raise CsrfRefused
    return staff


def check_login_csrf(request: Request, csrf_token: str) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not _same_origin(request) or not cookie or not hmac.compare_digest(cookie.encode(), csrf_token.encode()):
        raise CsrfRefused
