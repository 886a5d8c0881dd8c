"""Real servers for the integration tests: a private Dovecot and an aiosmtpd relay, both on loopback."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

REQUIRE_SERVERS = os.environ.get("UIP_INTAKE_REQUIRE_SERVERS") == "1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_dovecot() -> str | None:
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin:/sbin")


DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
listen = 127.0.0.1
protocols = imap
{tls}
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 0
{auth}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
{extra}
"""


PASSWORD_AUTH = """\
auth_mechanisms = plain login
passdb {{
  driver = static
  args = password={password}
}}"""

# Dovecot asks the identity provider whether a token is active and whose it is (RFC 7662 introspection)
OAUTH2_AUTH = """\
auth_mechanisms = xoauth2 oauthbearer
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}"""
OAUTH2_CONF = """\
introspection_mode = post
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
"""


@dataclass
class Dovecot:
    port: int
    password: str
    root: Path
    process: subprocess.Popen[bytes]
    imaps_port: int = 0

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.root, ignore_errors=True)

    def _terminate(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def restart(self) -> None:
        """Stop the server and every process of it (so every connection drops) and start it again on the same
        port, mail kept."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        time.sleep(0.2)
        self.process = _launch(self.root, self.port)


def _launch(root: Path, port: int) -> subprocess.Popen[bytes]:
    binary = find_dovecot()
    assert binary is not None
    process = subprocess.Popen([binary, "-F", "-c", str(root / "dovecot.conf")], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited: {process.stderr.read().decode() if process.stderr else ''} "
                               f"{(root / 'dovecot.log').read_text() if (root / 'dovecot.log').exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("dovecot did not greet within 15 s")


def start_dovecot(extra: str = "", introspection_url: str = "", tls: tuple[Path, Path] | None = None) -> Dovecot:
    """A private Dovecot on loopback; ``extra`` is appended to its configuration (e.g. ``imap_capability``).
    With ``introspection_url`` it signs in with OAuth2 tokens (XOAUTH2, OAUTHBEARER) only; with ``tls``
    (certificate and key files) it offers STARTTLS on its port and IMAPS on ``imaps_port``."""
    binary = find_dovecot()
    if binary is None:
        raise FileNotFoundError("dovecot is not installed (Debian package dovecot-imapd)")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    if not version.startswith("2.3"):
        raise RuntimeError(f"the test configuration is written for Dovecot 2.3, found {version.strip()}")
    root = Path(tempfile.mkdtemp(prefix="uip-dovecot-"))  # not pytest's 0700 tmp: auth must read it
    os.chmod(root, 0o755)
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    if os.geteuid() == 0:
        shutil.chown(root / "mail", "nobody", "nogroup")
    os.chmod(root / "mail", 0o777)
    port, password = free_port(), "secret-" + os.urandom(4).hex()
    imaps_port = free_port() if tls else 0
    if introspection_url:
        auth = OAUTH2_AUTH.format(root=root)
        (root / "oauth2.conf.ext").write_text(OAUTH2_CONF.format(url=introspection_url))
        os.chmod(root / "oauth2.conf.ext", 0o644)
    else:
        auth = PASSWORD_AUTH.format(password=password)
    if tls:
        for name, source in (("cert.pem", tls[0]), ("key.pem", tls[1])):
            shutil.copy(source, root / name)
            os.chmod(root / name, 0o644)
        tls_conf = f"ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem"
    else:
        tls_conf = "ssl = no"
    conf = root / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(root=root, port=port, imaps_port=imaps_port, extra=extra, auth=auth,
                                        tls=tls_conf))
    os.chmod(conf, 0o644)
    return Dovecot(port, password, root, _launch(root, port), imaps_port)


@dataclass
class SmtpSink:
    """Collects what it is sent; ``fail_with`` makes it refuse (e.g. 451 for a transient failure)."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    fail_with: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    greetings: int = 0  # EHLO/HELO seen: how many connections the client opened
    times: list[float] = field(default_factory=list)  # time.monotonic() of each message's arrival
    raw: list[bytes] = field(default_factory=list)  # each message's bytes as the relay took them

    async def handle_EHLO(self, server: object, session: object, envelope: object, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname  # type: ignore[attr-defined]  # a handler of EHLO must set it (aiosmtpd)
        with self.lock:
            self.greetings += 1
        return responses

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        if self.fail_with:
            return self.fail_with
        message = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[attr-defined]
        with self.lock:
            self.times.append(time.monotonic())
            self.messages.append(message)  # type: ignore[arg-type]
            self.raw.append(envelope.content)  # type: ignore[attr-defined]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))  # type: ignore[attr-defined]
        return "250 OK"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.raw.clear()
            self.envelopes.clear()
            self.times.clear()
            self.greetings = 0


def start_smtp(sink: SmtpSink) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


class BlackHoleProxy:
    """A TCP proxy on loopback in front of ``target_port``. ``black_hole()`` makes every open connection go
    silent (kept open, nothing forwarded either way), as a dead network path or a crashed NAT does; new
    connections are forwarded again. ``after_bytes`` black-holes a connection by itself once that many
    bytes came from the server (a connection that dies in the middle of a FETCH)."""

    def __init__(self, target_port: int, after_bytes: int | None = None) -> None:
        self.target_port, self.after_bytes = target_port, after_bytes
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.holes: list[threading.Event] = []
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            hole = threading.Event()
            self.holes.append(hole)
            threading.Thread(target=self._pump, args=(client, server, hole, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, hole, self.after_bytes), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, hole: threading.Event, limit: int | None) -> None:
        passed = 0
        source.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            passed += len(data)
            if limit is not None and passed > limit:
                hole.set()
            if hole.is_set():
                continue  # swallowed: the peer never hears of it, and nobody closes anything
            try:
                sink.sendall(data)
            except OSError:
                return

    def black_hole(self) -> None:
        for hole in self.holes:
            hole.set()

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    """Whether ``condition()`` came true within ``seconds`` (asked every tenth of a second)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False
