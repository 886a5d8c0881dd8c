"""A small local identity provider for the OAuth2 tests, on loopback: what Microsoft's, Google's or a generic
token endpoint does for a mail service, plus the token introspection Dovecot's ``oauth2`` passdb asks.

* HTTPS (a private CA made by trustme), as MSAL and google-auth require:
  ``/{tenant}/v2.0/.well-known/openid-configuration`` and ``/{tenant}/oauth2/v2.0/token`` (Microsoft: client
  secret or a certificate's signed assertion), ``/google/token`` (a service account's signed JWT, the mailbox
  as its subject), ``/token`` (RFC 6749 client credentials, HTTP basic).
* HTTP: ``/introspect`` for Dovecot (``token=…`` → ``{"active": true, "username": …}``).

Tokens live ``lifetime`` seconds (a few, to prove renewal) and can be revoked. An app token is good for the one
mailbox the app was granted (as RBAC for Applications scopes an Exchange app to one mailbox).
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TENANT = "0d7e9a5c-1f2b-4c3d-9e8f-a1b2c3d4e5f6"
# what an app may ask Microsoft's endpoint for: Exchange Online's IMAP/SMTP, or Microsoft Graph
SCOPES = ("https://outlook.office365.com/.default", "https://graph.microsoft.com/.default")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verify_jwt(assertion: str, public_key: Any) -> dict[str, Any]:
    head, body, signature = assertion.split(".")
    header = json.loads(_b64url_decode(head))
    signed, raw_signature = f"{head}.{body}".encode(), _b64url_decode(signature)
    if header.get("alg") == "PS256":
        public_key.verify(raw_signature, signed, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                             salt_length=hashes.SHA256.digest_size), hashes.SHA256())
    else:
        public_key.verify(raw_signature, signed, padding.PKCS1v15(), hashes.SHA256())
    payload = json.loads(_b64url_decode(body))
    payload["_header"] = header
    return payload


@dataclass
class Issued:
    username: str
    expires_at: float
    revoked: bool = False


@dataclass
class IdentityProvider:
    """Start with ``start()``; ``mailbox`` is the user app tokens are valid for."""

    mailbox: str
    client_id: str = "3f1b8c2e-uip-intake"
    client_secret: str = field(default_factory=lambda: "s3cr3t-" + secrets.token_urlsafe(12))
    lifetime: float = 3600.0
    ca: trustme.CA = field(default_factory=trustme.CA)
    folder: Path | None = None
    issued: dict[str, Issued] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)  # the grant of every token request, in order
    scopes: list[str] = field(default_factory=list)  # the scope of every client-secret token request
    certificate_file: Path | None = None
    service_account_file: Path | None = None

    def start(self, folder: Path) -> IdentityProvider:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_file = folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        handler = _handler(self)
        self.https = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self.https.socket = context.wrap_socket(self.https.socket, server_side=True)
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._certificate_credential(folder)
        self._service_account(folder)
        for server in (self.https, self.http):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        for server in (self.https, self.http):
            server.shutdown()
            server.server_close()

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.https.server_address[1]}"

    @property
    def microsoft_token_url(self) -> str:
        return f"{self.base}/{TENANT}/oauth2/v2.0/token"

    @property
    def introspection_url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/introspect"

    # --- credentials the service is configured with ----------------------------------------------------------

    def _certificate_credential(self, folder: Path) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "uip-intake")])
        now = __import__("datetime").datetime.now(__import__("datetime").UTC)
        certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                       .public_key(key.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now).not_valid_after(now + __import__("datetime").timedelta(days=2))
                       .sign(key, hashes.SHA256()))
        self.app_certificate = certificate
        self.certificate_file = folder / "app-cert.pem"
        self.certificate_file.write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()) + certificate.public_bytes(serialization.Encoding.PEM))

    def _service_account(self, folder: Path) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.service_account_key = key.public_key()
        self.service_account_email = "uip-intake@board-intake.iam.gserviceaccount.com"
        self.service_account_file = folder / "service-account.json"
        self.service_account_file.write_text(json.dumps({
            "type": "service_account", "project_id": "board-intake", "private_key_id": "k1",
            "private_key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode(),
            "client_email": self.service_account_email, "client_id": "1234567890",
            "token_uri": f"{self.base}/google/token"}))

    # --- tokens ----------------------------------------------------------------------------------------------

    def issue(self, username: str, grant: str = "") -> dict[str, Any]:
        """A token for ``username``; ``grant`` names the request (tests' own tokens pass none: not counted)."""
        token = "tok-" + secrets.token_urlsafe(24)
        self.issued[token] = Issued(username, time.time() + self.lifetime)
        if grant:
            self.requests.append(grant)
        return {"access_token": token, "token_type": "Bearer", "expires_in": int(self.lifetime),
                "ext_expires_in": int(self.lifetime)}

    def active_user(self, token: str) -> str | None:
        issued = self.issued.get(token)
        if issued is None or issued.revoked or issued.expires_at <= time.time():
            return None
        return issued.username

    def revoke_all(self) -> None:
        for issued in self.issued.values():
            issued.revoked = True


def _handler(idp: IdentityProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.startswith(f"/{TENANT}/v2.0/.well-known/openid-configuration"):
                self._json(200, {"token_endpoint": idp.microsoft_token_url, "issuer": f"{idp.base}/{TENANT}/v2.0",
                                 "authorization_endpoint": f"{idp.base}/{TENANT}/oauth2/v2.0/authorize"})
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0)))
                                                 .decode()).items()}
            if self.path == "/introspect":
                user = idp.active_user(form.get("token", ""))
                self._json(200, {"active": True, "username": user} if user else {"active": False})
            elif self.path == f"/{TENANT}/oauth2/v2.0/token":
                self._microsoft(form)
            elif self.path == "/google/token":
                self._google(form)
            elif self.path == "/token":
                self._generic(form)
            else:
                self._json(404, {"error": "not_found"})

        def _microsoft(self, form: dict[str, str]) -> None:
            if form.get("client_id") != idp.client_id:
                self._json(400, {"error": "unauthorized_client", "error_description":
                                 f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not "
                                 f"found in the directory '{TENANT}'."})
            elif "client_assertion" in form:
                try:
                    _verify_jwt(form["client_assertion"], idp.app_certificate.public_key())
                except Exception:  # any bad signature
                    self._json(401, {"error": "invalid_client", "error_description":
                                     "AADSTS700027: Client assertion contains an invalid signature."})
                    return
                self._json(200, idp.issue(idp.mailbox, "microsoft-certificate"))
            elif form.get("client_secret") != idp.client_secret:
                self._json(401, {"error": "invalid_client", "error_description":
                                 "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in "
                                 "the request is the client secret value, not the client secret ID."})
            elif form.get("scope") not in SCOPES:
                self._json(400, {"error": "invalid_scope", "error_description": "AADSTS70011: invalid scope"})
            else:
                idp.scopes.append(form["scope"])
                self._json(200, idp.issue(idp.mailbox, "microsoft-secret"))

        def _google(self, form: dict[str, str]) -> None:
            try:
                claims = _verify_jwt(form.get("assertion", ""), idp.service_account_key)
            except Exception:
                self._json(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
                return
            if claims.get("iss") != idp.service_account_email or claims.get("scope") != "https://mail.google.com/":
                self._json(400, {"error": "unauthorized_client", "error_description":
                                 "Client is unauthorized to retrieve access tokens using this method."})
                return
            self._json(200, idp.issue(str(claims.get("sub")), "google"))

        def _generic(self, form: dict[str, str]) -> None:
            header = self.headers.get("Authorization", "")
            expected = base64.b64encode(f"{idp.client_id}:{idp.client_secret}".encode()).decode()
            if header != f"Basic {expected}" or form.get("grant_type") != "client_credentials":
                self._json(401, {"error": "invalid_client", "error_description": "client authentication failed"})
                return
            self._json(200, idp.issue(idp.mailbox, "generic"))

    return Handler
