"""OAuth2 access tokens for signing in to the mailbox (IMAP) and the relay (SMTP) without a password.

Three providers, each with its maintained library where there is one:

* ``microsoft`` — Exchange Online / Microsoft 365: the client-credentials grant at the tenant's v2.0 endpoint
  with MSAL, a client secret or a certificate; scope ``https://outlook.office365.com/.default``.
* ``google`` — Google Workspace: a service account with domain-wide delegation signs a JWT for the mailbox
  (the JWT-bearer grant) with google-auth; scope ``https://mail.google.com/``.
* ``generic`` — RFC 6749 §4.4 client credentials at ``token_url`` (client_secret_basic).

A token is cached until shortly before it expires and fetched again when asked for after that, so a
worker that runs for weeks signs in again on its own. A token the server refused is dropped (``invalidate``)
and the next sign-in fetches a new one. Errors carry the endpoint's own ``error`` and description (an
AADSTS code and its sentence) and never a secret or a token.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import requests

from config import OAuth2Settings
from config.errors import UipIntakeError

log = logging.getLogger(__name__)
MICROSOFT_SCOPE = "https://outlook.office365.com/.default"
GOOGLE_SCOPE = "https://mail.google.com/"
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
MAX_MARGIN_SECONDS = 300.0  # renew this long before expiry (less for tokens that live only minutes)
HTTP_TIMEOUT = 30.0


class TokenRefused(UipIntakeError):
    """The identity provider gave no token: its error code and sentence, never a secret."""


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # time.time()
    lifetime: float

    def __repr__(self) -> str:  # never the token itself in a log or a traceback
        return f"AccessToken(expires_at={self.expires_at:.0f}, lifetime={self.lifetime:.0f})"


Fetch = Callable[[], AccessToken]


class TokenSource(Protocol):
    def token(self) -> str: ...
    def invalidate(self, token: str | None = None) -> None: ...


class CachedTokens:
    """A token per source, fetched again shortly before it expires; safe across threads (IDLE and poll)."""

    def __init__(self, fetch: Fetch, clock: Callable[[], float] = time.time) -> None:
        self._fetch, self._clock = fetch, clock
        self._current: AccessToken | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            current = self._current
            if current is None or current.expires_at - self._clock() <= min(MAX_MARGIN_SECONDS,
                                                                              current.lifetime / 4):
                current = self._current = self._fetch()
                log.info("OAuth2 token fetched; valid for %.0f s", current.lifetime)
            return current.value

    def invalidate(self, token: str | None = None) -> None:
        """Drop the cached token (only if it is still ``token``: another thread may have renewed it already)."""
        with self._lock:
            if token is None or (self._current is not None and self._current.value == token):
                self._current = None


def _session(settings: OAuth2Settings) -> requests.Session:
    """Certificates verified always; against ``ca_file`` when one is given (per request, so that
    REQUESTS_CA_BUNDLE in the environment cannot replace it), with a timeout on every request."""
    session = requests.Session()
    if settings.ca_file:
        session.request = functools.partial(  # type: ignore[method-assign]
            session.request, timeout=HTTP_TIMEOUT, verify=settings.ca_file)
    else:
        session.request = functools.partial(session.request, timeout=HTTP_TIMEOUT)  # type: ignore[method-assign]
    return session


def _refused(payload: dict[str, Any], where: str) -> TokenRefused:
    error = str(payload.get("error") or "no_token")
    description = str(payload.get("error_description") or "").strip().splitlines()
    return TokenRefused(f"{where}: {error}" + (f": {description[0]}" if description else ""))


def _access_token(payload: dict[str, Any], where: str, now: float) -> AccessToken:
    value = payload.get("access_token")
    if not isinstance(value, str) or not value:
        raise _refused(payload, where)
    lifetime = float(payload.get("expires_in") or 3600)
    return AccessToken(value, now + lifetime, lifetime)


def _microsoft(settings: OAuth2Settings) -> Fetch:
    import msal
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    credential: str | dict[str, str]
    if settings.certificate_file:
        pem = Path(settings.certificate_file).read_text(encoding="utf-8")
        certificate = x509.load_pem_x509_certificate(pem.encode())
        credential = {"private_key": pem, "thumbprint": certificate.fingerprint(hashes.SHA1()).hex(),
                      "public_certificate": pem}
    else:
        credential = settings.client_secret.get_secret_value()
    if settings.token_url:  # another cloud (or a test's): https://HOST/TENANT/oauth2/v2.0/token
        authority = settings.token_url.split("/oauth2/")[0]
    else:
        authority = f"{MICROSOFT_AUTHORITY}/{settings.tenant}"
    scope = settings.scope or MICROSOFT_SCOPE

    def fetch() -> AccessToken:
        # a new MSAL app, with its own empty cache, per fetch: CachedTokens decides when a token is fetched,
        # and a token the server refused is never handed out again from MSAL's cache
        try:
            app = msal.ConfidentialClientApplication(
                settings.client_id, client_credential=credential, authority=authority,
                http_client=_session(settings), timeout=HTTP_TIMEOUT,
                instance_discovery=not settings.token_url, token_cache=msal.TokenCache())
        except (ValueError, requests.RequestException) as error:  # an unknown tenant, no answer
            raise TokenRefused(f"Microsoft sign-in ({authority}): {type(error).__name__}: {error}") from None
        now = time.time()
        try:
            result = app.acquire_token_for_client(scopes=[scope])
        except requests.RequestException as error:
            raise TokenRefused(f"Microsoft sign-in ({authority}): {type(error).__name__}") from None
        return _access_token(result, "Microsoft sign-in", now)

    return fetch


def _google(settings: OAuth2Settings, subject: str) -> Fetch:
    from google.auth.exceptions import RefreshError
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    info = json.loads(Path(settings.service_account_file).read_text(encoding="utf-8"))
    if settings.token_url:
        info["token_uri"] = settings.token_url
    scope = settings.scope or GOOGLE_SCOPE

    def fetch() -> AccessToken:
        credentials = service_account.Credentials.from_service_account_info(info, scopes=[scope], subject=subject)
        now = time.time()
        try:
            credentials.refresh(Request(session=_session(settings)))
        except RefreshError as error:
            payload = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
            raise _refused(payload or {"error": str(error.args[0]) if error.args else "refused"},
                           "Google sign-in") from None
        expiry = credentials.expiry.timestamp() if credentials.expiry else now + 3600
        if credentials.expiry is not None and credentials.expiry.tzinfo is None:  # google-auth: naive UTC
            from datetime import UTC
            expiry = credentials.expiry.replace(tzinfo=UTC).timestamp()
        return AccessToken(str(credentials.token), expiry, max(expiry - now, 1.0))

    return fetch


def _generic(settings: OAuth2Settings) -> Fetch:
    def fetch() -> AccessToken:
        now = time.time()
        data = {"grant_type": "client_credentials"}
        if settings.scope:
            data["scope"] = settings.scope
        try:
            response = _session(settings).post(
                settings.token_url, data=data, timeout=HTTP_TIMEOUT,
                auth=(settings.client_id, settings.client_secret.get_secret_value()))
        except requests.RequestException as error:
            raise TokenRefused(f"token endpoint {settings.token_url}: {type(error).__name__}") from None
        try:
            payload = response.json()
        except ValueError:
            payload = {"error": f"HTTP {response.status_code}"}
        return _access_token(payload if isinstance(payload, dict) else {}, f"token endpoint {settings.token_url}",
                             now)

    return fetch


def _fetcher(settings: OAuth2Settings, user: str) -> Fetch:
    if settings.provider == "microsoft":
        return _microsoft(settings)
    if settings.provider == "google":
        return _google(settings, user)
    return _generic(settings)


_caches: dict[str, CachedTokens] = {}
_caches_lock = threading.Lock()


def tokens_for(settings: OAuth2Settings, user: str) -> CachedTokens:
    """The one token cache for these settings and this mailbox user (shared by IMAP, IDLE and SMTP)."""
    fingerprint = json.dumps([settings.model_dump(mode="json"), settings.client_secret.get_secret_value(), user],
                             sort_keys=True)
    key = hashlib.sha256(fingerprint.encode()).hexdigest()
    with _caches_lock:
        if key not in _caches:
            _caches[key] = CachedTokens(_fetcher(settings, user))
        return _caches[key]


def xoauth2(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (unencoded)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def oauthbearer(user: str, token: str, host: str, port: int) -> str:
    """The SASL OAUTHBEARER initial response (RFC 7628), unencoded."""
    return f"n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"


def forget_tokens() -> None:
    """Drop every cached token (a settings reload; tests)."""
    with _caches_lock:
        _caches.clear()
