"""The ASGI app: pages, security headers, and what happens to anonymous requests and refused forms."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from config import Settings
from storage import Archive, Database
from web import (
    application_page,
    attention_page,
    audit_page,
    clarification_page,
    decision_page,
    downloads,
    health,
    login_page,
    message_page,
    metrics,
    queue_page,
    ranking_page,
    statistics_page,
)
from web.pages import render
from web.ranking_cache import RankingCache
from web.security import CsrfRefused, NotSignedIn, Staff, current_staff

# No scripts, no frames, no foreign origins: the pages are server-rendered HTML and one stylesheet.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}
log = logging.getLogger(__name__)


def _signed_in(request: Request) -> Staff | None:
    """Who is signed in, for an error page in the app's layout (its menu to go on from); None if nobody."""
    try:
        return current_staff(request)
    except NotSignedIn:
        return None


def create_app(settings: Settings, db: Database | None = None, archive: Archive | None = None) -> FastAPI:
    app = FastAPI(title="uip-intake", docs_url=None, redoc_url=None, openapi_url=None)  # root path: the server's
    app.state.settings = settings
    app.state.db = db or Database(settings.database.url)
    app.state.archive = archive or Archive(settings.storage.archive_dir)
    app.state.rankings = RankingCache()
    app.router.redirect_slashes = False  # "/queue/" is a 404: a redirect would be built from the request's Host
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")
    for module in (login_page, attention_page, queue_page, application_page, message_page, clarification_page,
                   downloads, ranking_page, decision_page, statistics_page, audit_page, health, metrics):
        app.include_router(module.router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        for name, value in SECURITY_HEADERS.items():
            if name != "Content-Security-Policy":
                response.headers[name] = value
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotSignedIn)
    async def to_login(request: Request, _error: NotSignedIn) -> Response:
        if request.method != "GET":
            return render(request, "error.html", None, status_code=401, title="Ikke logget ind",
                          message="Din session er udløbet. Log ind igen, og gentag handlingen.")
        root = request.scope.get("root_path", "")
        path = request.url.path.removeprefix(root) if root else request.url.path  # next is a path of the app
        wanted = path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{root}/login?next={quote(wanted)}", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def refused(request: Request, _error: CsrfRefused) -> Response:
        return render(request, "error.html", None, status_code=403, title="Formularen blev afvist",
                      message="Formularen manglede sin sikkerhedsnøgle eller kom fra en anden side. "
                              "Gå tilbage, genindlæs siden og prøv igen.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        titles = {403: "Ikke tilladt", 404: "Siden findes ikke", 405: "Handlingen er ikke tilladt",
                  400: "Forkert forespørgsel"}
        # the framework's own details are English reason phrases ("Not Found"): said in Danish instead
        plain = {403: "Du har ikke adgang til denne side.", 404: "Adressen findes ikke. Gå tilbage, eller brug menuen.",
                 405: "Siden kan ikke bruges sådan. Gå tilbage, og brug knapperne på siden.",
                 400: "Forespørgslen kunne ikke forstås."}
        detail = str(error.detail)
        if detail == HTTPStatus(error.status_code).phrase:
            detail = plain.get(error.status_code, "Siden kunne ikke vises.")
        return render(request, "error.html", _signed_in(request), status_code=error.status_code,
                      title=titles.get(error.status_code, "Fejl"), message=detail)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        in_path = any(e.get("loc", ("",))[0] == "path" for e in error.errors())
        status, title = (404, "Siden findes ikke") if in_path else (400, "Forkert forespørgsel")
        return render(request, "error.html", _signed_in(request), status_code=status, title=title,
                      message="Adressen findes ikke." if in_path else "Formularen var ikke udfyldt rigtigt.")

    @app.exception_handler(Exception)
    async def crashed(request: Request, error: Exception) -> Response:  # outside the middleware: headers here
        log.exception("%s %s failed", request.method, request.url.path)
        response = render(request, "error.html", None, status_code=500, title="Der skete en fejl",
                          message="Siden kunne ikke vises. Prøv igen om lidt; fejlen er skrevet i loggen.")
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        response.headers["Cache-Control"] = "no-store"
        return response

    # the peer's address, or the client's from X-Forwarded-For when the peer is one of the trusted proxies
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.web.forwarded_allow_ips)
    return app
