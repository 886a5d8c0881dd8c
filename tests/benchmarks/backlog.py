"""The backlog benchmark: N application emails waiting in a real Dovecot, answered through a real aiosmtpd.

The service's poll (``Intake.poll_once`` in a child process, so its peak RSS is its own) against the plainest
possible loop doing the same work in one process — size check, ``BODY.PEEK[]`` in batches of 100, MIME parse,
unzip + lxml of ``word/document.xml``, one SQLite insert and commit, one SMTP reply — on identical mailbox
contents (two users given the same messages), in the same run. Also: the raw FETCH rate.
"""

from __future__ import annotations

import functools
import io
import json
import os
import smtplib
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from imapclient import IMAPClient
from lxml import etree

from ingest.demo import application_email, complete_values, sized_email, to_bytes
from parsers.blank_form import fill_form

LIMIT = 10 * 1024 * 1024
HERE = Path(__file__).resolve().parent


class PollFailed(RuntimeError):
    """A service poll of the benchmark ended with an error (an outage, a bug): reported, not timed."""


@dataclass
class Servers:
    imap_port: int
    password: str
    smtp_port: int
    sink: Any

    def client(self, user: str) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.imap_port, ssl=False, timeout=60)
        client.login(user, self.password)
        return client


def forms() -> list[tuple[str, bytes]]:
    """The mix of form files: content controls (most), typed, incomplete, a joint one, and a .doc when
    LibreOffice is there (built once, reused)."""
    mix = [("skema.docx", fill_form(complete_values(municipality=name)))
           for name in ("Aarhus Kommune", "Odense Kommune", "Vejle Kommune", "Herning Kommune", "Viborg Kommune",
                        "Holbæk Kommune", "Esbjerg Kommune", "Randers Kommune")]
    mix.append(("skema.docx", fill_form(complete_values(municipality="Horsens Kommune"), mode="typed")))
    mix.append(("skema.docx", fill_form(complete_values(population=None, director_name=None))))
    return mix


def doc_form() -> bytes | None:
    from form_corpus import FIXTURES, libreoffice

    if libreoffice() is None:
        return None
    return next(f for f in FIXTURES if f.filename == "skema.doc").build()


@functools.cache
def bulky() -> tuple[bytes | None, bytes, bytes]:
    """The .doc form (None without LibreOffice), an email just over 10 MiB and one of 9.9 MB (downloaded,
    archived and parsed like any other): built once per bench run, the .doc by a LibreOffice conversion."""
    return doc_form(), sized_email(int(9.9 * 1024 * 1024) + 1024 * 300), sized_email(9_900_000)


def backlog_messages(n: int, doc: bytes | None, oversized: bytes, large: bytes | None = None) -> list[bytes]:
    """``n`` emails: the form mix; 1 in 100 over the size limit, 1 in 100 of 9.9 MB (just under it, with a
    large annex), 1 in 100 a .doc (when there is one)."""
    mix = forms()
    messages = []
    for i in range(n):
        if i % 100 == 50:
            messages.append(oversized.replace(b"Message-ID: <", f"Message-ID: <big{i}.".encode(), 1))
            continue
        if i % 100 == 25 and large is not None:
            messages.append(large.replace(b"Message-ID: <", f"Message-ID: <large{i}.".encode(), 1))
            continue
        name, data = ("skema.doc", doc) if (doc is not None and i % 100 == 75) else mix[i % len(mix)]
        message = application_email(None, sender=f"Kommune {i} <sag{i}@kommune{i % 37}.dk>",
                                    message_id=f"<backlog-{i}@kommune.dk>", annexes={name: data})
        messages.append(to_bytes(message))
    return messages


def deliver(servers: Servers, user: str, messages: list[bytes]) -> None:
    client = servers.client(user)
    for raw in messages:
        client.append("INBOX", raw)
    client.logout()


def raw_fetch_rate(servers: Servers, user: str) -> tuple[float, float]:
    """Messages and megabytes per second for ``BODY.PEEK[]`` of everything under the limit, 100 at a time."""
    client = servers.client(user)
    client.select_folder("INBOX", readonly=True)
    sizes = client.fetch(client.search("ALL"), ["RFC822.SIZE"])
    uids = [uid for uid, data in sizes.items() if data[b"RFC822.SIZE"] <= LIMIT]
    started, total = time.perf_counter(), 0
    for start in range(0, len(uids), 100):
        for data in client.fetch(uids[start:start + 100], ["BODY.PEEK[]"]).values():
            total += len(data[b"BODY[]"])
    elapsed = time.perf_counter() - started
    client.logout()
    return len(uids) / elapsed, total / elapsed / 1e6


def plain_loop(servers: Servers, user: str, database: Path) -> float:
    """The plainest loop that does the work; returns messages per second."""
    started = time.perf_counter()
    client = servers.client(user)
    client.select_folder("INBOX")
    sizes = client.fetch(client.search("ALL"), ["RFC822.SIZE"])
    db = sqlite3.connect(database)
    db.execute("CREATE TABLE IF NOT EXISTS message (uid INTEGER, sender TEXT, municipality TEXT, size INTEGER)")
    smtp = smtplib.SMTP("127.0.0.1", servers.smtp_port)
    small = [uid for uid, data in sizes.items() if data[b"RFC822.SIZE"] <= LIMIT]
    for uid, data in sizes.items():
        if data[b"RFC822.SIZE"] > LIMIT:
            header = client.fetch([uid], ["BODY.PEEK[HEADER]"])[uid][b"BODY[HEADER]"]
            _answer(smtp, message_from_bytes(header, policy=policy.default), "for stor")
    for start in range(0, len(small), 100):
        for uid, data in client.fetch(small[start:start + 100], ["BODY.PEEK[]"]).items():
            message = message_from_bytes(data[b"BODY[]"], policy=policy.default)
            db.execute("INSERT INTO message VALUES (?, ?, ?, ?)",
                       (uid, str(message["From"]), municipality_of(message), len(data[b"BODY[]"])))
            db.commit()
            _answer(smtp, message, "kvittering")
    smtp.quit()
    client.logout()
    return len(sizes) / (time.perf_counter() - started)


def municipality_of(message: EmailMessage) -> str:
    """The plain loops' reading of a form: the text of the first .docx annex's document.xml, unzipped."""
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload.startswith(b"PK"):
            with zipfile.ZipFile(io.BytesIO(payload)) as archive:
                return "".join(etree.fromstring(archive.read("word/document.xml")).itertext())[:40]
    return ""


def _answer(smtp: smtplib.SMTP, message: EmailMessage, text: str) -> None:
    reply = EmailMessage()
    reply["From"], reply["To"] = "uip-imp2@socialstyrelsen.dk", str(message["From"])
    reply["Subject"] = "Re: " + str(message["Subject"])
    reply.set_content(text)
    smtp.send_message(reply)


def service_poll(servers: Servers, user: str, root: Path, workers: int = 1, database_url: str | None = None,
                 **sections: dict[str, Any]) -> dict[str, Any]:
    """``poll --once`` of the service in ``workers`` child processes at once; the slowest one's time."""
    overrides = _overrides(servers, user, root, database_url, **sections)
    children = [subprocess.Popen([sys.executable, str(HERE / "poll_child.py"), json.dumps(overrides)],
                                 stdout=subprocess.PIPE, env=_child_env()) for _ in range(workers)]
    outputs = [child.communicate()[0] for child in children]  # every one ended before any is judged
    failed = [child.returncode for child in children if child.returncode != 0]
    if failed:
        raise PollFailed(f"{len(failed)} of {workers} polls failed (exit {failed}; their log is above)")
    results = [json.loads(output) for output in outputs]
    return {"elapsed": max(r["elapsed"] for r in results), "began": min(r["began"] for r in results),
            "rss_mb": max(r["rss_mb"] for r in results),
            "rss_ready_mb": max(r["rss_ready_mb"] for r in results),
            "processed": sum(r["processed"] for r in results), "outcomes": [r["outcomes"] for r in results]}


def run(servers: Servers, sizes: tuple[int, ...] = (100, 200, 1000)) -> dict[int, dict[str, float]]:
    """Each N in rounds (three up to N=200, one above; the plain loop and the service in turn, which goes first
    alternating), on fresh copies of the same mailbox contents; the median round is printed, with the spread."""
    figures: dict[int, dict[str, float]] = {}
    for n in sizes:
        messages = backlog_messages(n, *bulky())
        count = 3 if n <= 200 else 1
        rounds = [_round(servers, n, messages, plain_first=r % 2 == 0, fetch=r == 0) for r in range(count)]
        ratios = sorted(r["ratio"] for r in rounds)
        middle = next(r for r in rounds if r["ratio"] == ratios[len(ratios) // 2])
        figures[n] = {**middle, "fetch": rounds[0]["fetch"], "fetch_mb": rounds[0]["fetch_mb"],
                      "rss_mb": max(r["rss_mb"] for r in rounds)}
        spread = (f" (median of {len(rounds)} rounds: ratios {ratios[0]:.2f}–{ratios[-1]:.2f})" if len(rounds) > 1
                  else "")
        print(f"  N={n:5}: service {middle['service']:6.1f} msg/s, plain loop {middle['plain']:6.1f} msg/s, "
              f"ratio {middle['ratio']:4.2f}{spread}; raw FETCH {rounds[0]['fetch']:6.0f} msg/s "
              f"({rounds[0]['fetch_mb']:5.1f} MB/s); service peak RSS {figures[n]['rss_mb']:5.0f} MB "
              f"(started: {middle['rss_ready_mb']:.0f} MB); processed {middle['processed']:.0f}", flush=True)
        if middle["replied"]:
            print(f"           acknowledgements: the first {middle['first_reply']:.1f} s after the poll began, half "
                  f"of them by {middle['half_replied']:.1f} s, the last at {middle['last_reply']:.1f} s (the poll "
                  f"took {middle['elapsed']:.1f} s)", flush=True)
    if len(sizes) > 1:
        first, last = figures[sizes[0]]["service"], figures[sizes[-1]]["service"]
        print(f"  rate at N={sizes[-1]} vs N={sizes[0]}: {last / first:4.2f}x (target >= 0.9)")
    return figures


def _round(servers: Servers, n: int, messages: list[bytes], plain_first: bool, fetch: bool,
           reading: Servers | None = None) -> dict[str, float]:
    """One round: the same messages delivered to two fresh users, one answered by the plain loop, the other by
    the service's poll (and, with ``fetch``, the raw FETCH rate measured first); both read the mailbox through
    ``reading`` when given (the mailbox at a distance), the messages delivered directly."""
    reading = reading or servers
    with tempfile.TemporaryDirectory(prefix="uip-backlog-") as tmp:
        root = Path(tmp)
        tag = f"{n}-{os.getpid()}-{time.monotonic_ns()}"
        service_user, plain_user = f"service-{tag}", f"plain-{tag}"
        deliver(servers, service_user, messages)
        deliver(servers, plain_user, messages)
        fetch_rate, megabytes = raw_fetch_rate(reading, plain_user) if fetch else (0.0, 0.0)
        plain = plain_loop(reading, plain_user, root / "plain.db") if plain_first else 0.0
        replied_before = len(servers.sink.times)
        service = service_poll(reading, service_user, root)
        with servers.sink.lock:
            replies = sorted(t - service["began"] for t in servers.sink.times[replied_before:])
        if not plain_first:
            plain = plain_loop(reading, plain_user, root / "plain.db")
    rate = n / service["elapsed"]
    return {"service": rate, "plain": plain, "ratio": rate / plain, "fetch": fetch_rate, "fetch_mb": megabytes,
            "rss_mb": service["rss_mb"], "rss_ready_mb": service["rss_ready_mb"], "processed": service["processed"],
            "elapsed": service["elapsed"], "replied": len(replies),
            "first_reply": replies[0] if replies else 0.0,
            "half_replied": replies[len(replies) // 2] if replies else 0.0,
            "last_reply": replies[-1] if replies else 0.0}


def at_a_distance(servers: Servers, n: int = 200, rtt_ms: float = 30, mbytes_per_s: float = 8, rounds: int = 3
                  ) -> tuple[dict[str, float], tuple[float, float]]:
    """The backlog of ``n`` with the mailbox read through ``distance_proxy`` (``rtt_ms`` round trip,
    ``mbytes_per_s`` each way), as Exchange Online is never on loopback: the round with the median ratio, and
    the lowest and highest ratio."""
    proxy = subprocess.Popen([sys.executable, str(HERE / "distance_proxy.py"), str(servers.imap_port),
                              str(rtt_ms), str(mbytes_per_s)], stdout=subprocess.PIPE, text=True)
    try:
        assert proxy.stdout is not None
        distant = Servers(int(proxy.stdout.readline()), servers.password, servers.smtp_port, servers.sink)
        messages = backlog_messages(n, *bulky())
        results = sorted((_round(servers, n, messages, plain_first=r % 2 == 0, fetch=False, reading=distant)
                          for r in range(rounds)), key=lambda result: result["ratio"])
    finally:
        proxy.kill()
        proxy.wait()
    return results[len(results) // 2], (results[0]["ratio"], results[-1]["ratio"])


def _overrides(servers: Servers, user: str, root: Path, database_url: str | None = None,
               **sections: dict[str, Any]) -> dict[str, Any]:
    overrides: dict[str, Any] = {
        "mailbox": {"protocol": "imap", "host": "127.0.0.1", "port": servers.imap_port, "security": "none",
                    "username": user, "password": servers.password, "timeout_seconds": 120},
        "smtp": {"transport": "smtp", "host": "127.0.0.1", "port": servers.smtp_port, "security": "none",
                 "max_per_recipient_per_hour": 1_000_000, "max_per_hour": 1_000_000},
        "database": {"url": database_url or f"sqlite:///{root}/service.db"},
        "storage": {"archive_dir": str(root / "archive")},
    }
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return overrides


def _child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), str(HERE.parent)])}


def idle_latency(servers: Servers, count: int = 100, interval: float = 1.0) -> tuple[float, float]:
    """Arrival (APPEND done) → acknowledgement received by the relay, under IDLE with a steady trickle."""
    import signal

    user = f"idle-{os.getpid()}-{time.monotonic_ns()}"
    servers.client(user).logout()  # the mailbox exists before the worker selects it
    with tempfile.TemporaryDirectory(prefix="uip-idle-") as tmp:
        overrides = _overrides(servers, user, Path(tmp), mailbox={"idle": True, "poll_seconds": 300})
        worker = subprocess.Popen([sys.executable, str(HERE / "worker_child.py"), json.dumps(overrides)],
                                  env=_child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(4)  # started, first poll done, IDLE entered
            client = servers.client(user)
            sent: dict[str, float] = {}
            for n in range(count):
                message_id = f"<idle-{n}-{time.monotonic_ns()}@kommune.dk>"
                client.append("INBOX", to_bytes(application_email(complete_values(), message_id=message_id)))
                sent[message_id] = time.monotonic()
                time.sleep(interval)
            client.logout()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(_answered(servers, sent)) < count:
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
    latencies = sorted(_answered(servers, sent)[m] - sent[m] for m in _answered(servers, sent))
    if len(latencies) < count:
        print(f"  (only {len(latencies)} of {count} acknowledged within a minute)")
    p50 = latencies[len(latencies) // 2]
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    return p50, p95


def _answered(servers: Servers, sent: dict[str, float]) -> dict[str, float]:
    with servers.sink.lock:
        return {str(m["In-Reply-To"]): t for m, t in zip(servers.sink.messages, servers.sink.times, strict=True)
                if str(m["In-Reply-To"]) in sent}


def doc_conversion(doc: bytes) -> tuple[float, float, str | None]:
    """Seconds for one .doc → .docx: cold (a fresh LibreOffice) and warm (the median of five conversions by the
    LibreOffice kept running, after the first started it), and why the warm path was not taken, if it was not."""
    from parsers.doc_converter import convert_doc, warm_converter

    started = time.perf_counter()
    convert_doc(doc, "soffice", 60)
    cold = time.perf_counter() - started
    with warm_converter("soffice") as converter:
        converter.convert(doc, 60)  # the first one starts it
        warm = []
        for _ in range(5):
            started = time.perf_counter()
            converter.convert(doc, 60)
            warm.append(time.perf_counter() - started)
        return cold, sorted(warm)[2], converter.unavailable


def _cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) CPU time of the whole machine so far (every core), from /proc/stat; None elsewhere."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def two_workers(servers: Servers, postgres_url: str, n: int = 200, rounds: int = 3
                ) -> tuple[float, float, float | None, tuple[float, float]]:
    """Messages per second of one worker and of two workers at once on one mailbox (PostgreSQL, one parse
    process each), in ``rounds`` rounds (which goes first alternating), the round with the median ratio; how
    busy the machine's cores were (0–1, the median) while the one worker ran: with every core busy, a second
    worker has nothing left to run on, so ``1 / busy`` bounds what two can reach; and the lowest and highest
    ratio of the rounds."""
    results: list[tuple[float, float, float | None]] = []
    for r in range(rounds):
        rates: dict[int, float] = {}
        busy: float | None = None
        try:
            for workers in ((1, 2) if r % 2 == 0 else (2, 1)):
                rates[workers], cores = _workers_poll(servers, postgres_url, n, workers)
                if workers == 1:
                    busy = cores
        except PollFailed as failure:
            print(f"    round {r + 1}: {failure}; the round is left out", flush=True)
            continue
        results.append((rates[1], rates[2], busy))
    if not results:
        raise PollFailed("every round failed")
    results.sort(key=lambda result: result[1] / result[0])
    one, two, _ = results[len(results) // 2]
    busy_values = sorted(busy for _, _, busy in results if busy is not None)
    busy = busy_values[len(busy_values) // 2] if busy_values else None
    return one, two, busy, (results[0][1] / results[0][0], results[-1][1] / results[-1][0])


def _workers_poll(servers: Servers, postgres_url: str, n: int, workers: int) -> tuple[float, float | None]:
    """``workers`` workers at once on a fresh mailbox of ``n`` emails and a fresh schema: messages per second,
    and how busy the machine's cores were meanwhile (0–1)."""
    import sqlalchemy as sa

    from storage import Database

    _, oversized, _ = bulky()
    schema = f"bench_{os.getpid()}_{workers}_{time.monotonic_ns() % 10**8}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{postgres_url}{'&' if '?' in postgres_url else '?'}options=-csearch_path%3D{schema}"
    try:
        with tempfile.TemporaryDirectory(prefix="uip-workers-") as tmp:
            user = f"workers-{schema}"
            deliver(servers, user, backlog_messages(n, None, oversized))
            Database(url).migrate()  # before the workers race to do it
            before = _cpu_jiffies()
            result = service_poll(servers, user, Path(tmp), workers=workers, database_url=url,
                                  parsing={"workers": 1})
            after = _cpu_jiffies()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    busy = None
    if before is not None and after is not None and after[1] > before[1]:
        busy = (after[0] - before[0]) / (after[1] - before[1])
    return n / result["elapsed"], busy
