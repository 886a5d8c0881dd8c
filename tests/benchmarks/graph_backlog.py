"""The backlog benchmark through Microsoft Graph: N application emails waiting in the local Graph mailbox
(``tests/graph_server.py``, HTTPS with the identity provider's CA, tokens checked), answered through Graph's
``sendMail``.

The service's ``poll --once`` (a child process, as for IMAP) against the plainest loop doing the same work
through Graph, also in a child process so it does not share the bench's interpreter with the Graph server's
threads: one token, the inbox listed with each message's size (``Long 0x0E08``) page by page, the headers of an
oversized one (answered, never downloaded), ``$value`` of the rest, MIME parse, unzip + lxml of
``word/document.xml``, one SQLite insert and commit, one ``sendMail`` of the reply, one ``move`` out of the
inbox (which the service makes too: through Graph a move is a request per message). Neither loop's figure is
Exchange Online's: the server is on loopback and answers each request on a fresh TLS connection; the ratio is
what the figure is for, measured on identical mailbox contents in the same run.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from backlog import HERE, LIMIT, PollFailed, _child_env, backlog_messages, bulky, municipality_of
from graph_server import GraphServer
from identity_provider import TENANT, IdentityProvider

MAILBOX = "uip-imp2@socialstyrelsen.dk"
PAGE = 100  # messages per listing page, for both loops (the service's mailbox.graph_page_size)


def graph_backlog(n: int = 200, rounds: int = 3) -> tuple[dict[str, float], tuple[float, float]]:
    """``rounds`` rounds of ``n`` (which loop goes first alternating), each on fresh Graph mailboxes with the
    same contents: the round with the median ratio, and the lowest and highest ratio."""
    messages = backlog_messages(n, *bulky())
    results = []
    with tempfile.TemporaryDirectory(prefix="uip-graph-bench-") as tmp:
        idp = IdentityProvider(mailbox=MAILBOX).start(Path(tmp) / "idp")
        try:
            for r in range(rounds):
                results.append(_round(idp, messages, Path(tmp) / f"round{r}", plain_first=r % 2 == 0))
        finally:
            idp.stop()
    results.sort(key=lambda result: result["ratio"])
    return results[len(results) // 2], (results[0]["ratio"], results[-1]["ratio"])


def _round(idp: IdentityProvider, messages: list[bytes], root: Path, plain_first: bool) -> dict[str, float]:
    root.mkdir(parents=True)
    service_box, plain_box = (GraphServer(idp, MAILBOX, page_size=PAGE).start() for _ in range(2))
    try:
        for box in (service_box, plain_box):
            for raw in messages:
                box.deliver(raw)
        plain = _plain(idp, plain_box, root) if plain_first else 0.0
        service = _service(idp, service_box, root)
        if not plain_first:
            plain = _plain(idp, plain_box, root)
        with service_box.lock:
            replies = sorted(t - service["began"] for t in service_box.sent_at)
        downloads = len(service_box.downloaded())
    finally:
        service_box.stop()
        plain_box.stop()
    rate = len(messages) / service["elapsed"]
    return {"service": rate, "plain": plain, "ratio": rate / plain, "rss_mb": service["rss_mb"],
            "processed": service["processed"], "elapsed": service["elapsed"], "replied": len(replies),
            "downloads": downloads, "last_reply": replies[-1] if replies else 0.0,
            "half_replied": replies[len(replies) // 2] if replies else 0.0}


def _credentials(idp: IdentityProvider, graph: GraphServer) -> dict[str, str]:
    return {"graph_url": graph.url, "token_url": idp.microsoft_token_url, "client_id": idp.client_id,
            "client_secret": idp.client_secret, "ca_file": str(idp.ca_file)}


def _service(idp: IdentityProvider, graph: GraphServer, root: Path) -> dict[str, Any]:
    overrides = {
        "mailbox": {"protocol": "graph", "auth": "oauth2", "username": MAILBOX, "graph_url": graph.url,
                    "ca_file": str(idp.ca_file), "graph_page_size": PAGE, "timeout_seconds": 120},
        "smtp": {"transport": "graph", "max_per_recipient_per_hour": 1_000_000, "max_per_hour": 1_000_000},
        "oauth2": {"provider": "microsoft", "tenant": TENANT, "client_id": idp.client_id,
                   "client_secret": idp.client_secret, "token_url": idp.microsoft_token_url,
                   "ca_file": str(idp.ca_file)},
        "database": {"url": f"sqlite:///{root}/service.db"},
        "storage": {"archive_dir": str(root / "archive")},
    }
    child = subprocess.run([sys.executable, str(HERE / "poll_child.py"), json.dumps(overrides)],
                           stdout=subprocess.PIPE, env=_child_env(), check=False)
    if child.returncode != 0:
        raise PollFailed(f"the Graph poll failed (exit {child.returncode}; its log is above)")
    result: dict[str, Any] = json.loads(child.stdout)
    return result


def _plain(idp: IdentityProvider, graph: GraphServer, root: Path) -> float:
    child = subprocess.run([sys.executable, str(Path(__file__).resolve()),
                            json.dumps({**_credentials(idp, graph), "database": str(root / "plain.db")})],
                           stdout=subprocess.PIPE, env=_child_env(), check=True)
    return float(child.stdout)


def plain_loop(options: dict[str, str]) -> float:
    """The plainest loop through Graph; returns messages per second."""
    import requests

    started = time.perf_counter()
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE would win over verify
    session.verify = options["ca_file"]
    token = session.post(options["token_url"], data={
        "grant_type": "client_credentials", "client_id": options["client_id"],
        "client_secret": options["client_secret"], "scope": "https://graph.microsoft.com/.default"}).json()
    session.headers["Authorization"] = f"Bearer {token['access_token']}"
    base = f"{options['graph_url']}/users/{MAILBOX}"
    db = sqlite3.connect(options["database"])
    db.execute("CREATE TABLE IF NOT EXISTS message (id TEXT, sender TEXT, municipality TEXT, size INTEGER)")
    done = session.post(f"{base}/mailFolders", json={"displayName": "Behandlet"}).json()["id"]
    count = 0
    page: str | None = f"{base}/mailFolders/inbox/messages"
    params: dict[str, str] | None = {
        "$select": "id", "$top": str(PAGE), "$orderby": "receivedDateTime asc",
        "$expand": "singleValueExtendedProperties($filter=id eq 'Long 0x0E08')"}
    while page:
        listed = session.get(page, params=params).json()
        page, params = listed.get("@odata.nextLink"), None
        for item in listed["value"]:
            count += 1
            size = int(item["singleValueExtendedProperties"][0]["value"])
            if size > LIMIT:
                head = session.get(f"{base}/messages/{item['id']}",
                                   params={"$select": "internetMessageHeaders"}).json()
                message = EmailMessage()
                for header in head["internetMessageHeaders"]:
                    if header["name"] in ("From", "Subject"):
                        message[header["name"]] = header["value"]
                _answer(session, base, message, "for stor")
                _move(session, base, item["id"], done)
                continue
            raw = session.get(f"{base}/messages/{item['id']}/$value").content
            parsed = message_from_bytes(raw, policy=policy.default)
            db.execute("INSERT INTO message VALUES (?, ?, ?, ?)",
                       (item["id"], str(parsed["From"]), municipality_of(parsed), len(raw)))
            db.commit()
            _answer(session, base, parsed, "kvittering")
            _move(session, base, item["id"], done)
    return count / (time.perf_counter() - started)


def _move(session: Any, base: str, message_id: str, folder: str) -> None:
    session.post(f"{base}/messages/{message_id}/move", json={"destinationId": folder}).raise_for_status()


def _answer(session: Any, base: str, message: EmailMessage, text: str) -> None:
    reply = EmailMessage()
    reply["From"], reply["To"] = MAILBOX, str(message["From"])
    reply["Subject"] = "Re: " + str(message["Subject"])
    reply.set_content(text)
    session.post(f"{base}/sendMail", data=base64.b64encode(reply.as_bytes()),
                 headers={"Content-Type": "text/plain"}).raise_for_status()


if __name__ == "__main__":  # the plain loop, in a process of its own
    print(plain_loop(json.loads(sys.argv[1])))
