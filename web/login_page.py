"""Log ind and log ud."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from storage.staff import audit, close_session
from web.pages import db_of, redirect, render, settings_of
from web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    NotSignedIn,
    Staff,
    TooManyFailures,
    WrongCredentials,
    check_login_csrf,
    checked_staff,
    client_address,
    cookie_path,
    current_staff,
    digest,
    set_cookie,
    sign_in,
)

router = APIRouter()


def _safe_next(target: str) -> str:
    """Only a path of this app: never another site ("//evil.example", "https://…")."""
    safe = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if safe else "/til-behandling"


def _login_form(request: Request, error: str = "", email: str = "", next_page: str = "/til-behandling",
                status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", None, status_code=status_code, csrf_token=token, error=error,
                      email=email, next_page=_safe_next(next_page))
    set_cookie(response, request, settings_of(request), LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/til-behandling") -> Response:
    try:
        current_staff(request)
    except NotSignedIn:
        return _login_form(request, next_page=next)
    return redirect(request, _safe_next(next))


@router.post("/login")
def login(request: Request, email: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
          csrf_token: Annotated[str, Form()] = "", next_page: Annotated[str, Form()] = "/til-behandling") -> Response:
    check_login_csrf(request, csrf_token)
    settings = settings_of(request)
    try:
        token, _staff = sign_in(request, settings, db_of(request), email, password)
    except TooManyFailures:
        return _login_form(request, f"For mange mislykkede forsøg. Vent {settings.web.login_window_minutes} "
                                    "minutter, og prøv igen.", email, next_page, status_code=429)
    except WrongCredentials:
        return _login_form(request, "Forkert e-mailadresse eller adgangskode.", email, next_page, status_code=401)
    response = redirect(request, _safe_next(next_page))
    # Lax, so a link to a page from an e-mail opens it signed in; a cross-site POST still carries no cookie,
    # and every POST needs the session's CSRF token besides
    set_cookie(response, request, settings, SESSION_COOKIE, token, max_age=int(settings.web.session_hours * 3600),
               samesite="lax")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=cookie_path(request))
    return response


@router.post("/logout")
def logout(request: Request, staff: Annotated[Staff, Depends(checked_staff)]) -> Response:
    with db_of(request).session() as session:
        close_session(session, digest(request.cookies.get(SESSION_COOKIE, "")))
        audit(session, staff.email, "logout", client=client_address(request))
    response = redirect(request, "/login", flash="logged_out")
    response.delete_cookie(SESSION_COOKIE, path=cookie_path(request))
    return response
