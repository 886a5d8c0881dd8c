"""`make bench`: figures and ratios against baselines measured in the same run. No timings live in tests.

1. Form parsing: our full read (safety checks, every control, every table row, validation) per form,
   against python-docx merely opening the same file.
2. Pipeline throughput on the embedded Maildir + SQLite: applications per second for a whole poll,
   against archiving + MIME-parsing the same messages alone.
3. The 10 MB gate on a real Dovecot: judging an oversized message (RFC822.SIZE + headers) against
   downloading it, which is what the gate avoids.
4. The staff web app over 200 and over 1,000 applications: each page, signed in, against /healthz (the
   cheapest request through the same stack and database) in the same run, and each page's time at 1,000
   against its time at 200.
5. The backlog (``backlog.py``) on a real Dovecot and aiosmtpd: N = 100, 200, 1,000 emails processed by the
   service's poll against the plain loop on the same mailbox contents (ratio), the raw FETCH rate, the
   service's peak RSS, when its acknowledgements reached the relay (first, half, last); arrival →
   acknowledgement under IDLE (p50/p95); .doc conversion cold and warm; two workers on one mailbox against
   one (PostgreSQL, with UIP_INTAKE_TEST_POSTGRES_URL).
7. Memory (``hostile.py``): the peak RSS of every process of one poll (the poll, its parse workers, LibreOffice),
   for the backlog of 200 and for a hostile and real-world set.
6. The backlog of 200 through Microsoft Graph (``graph_backlog.py``, the local Graph mailbox of the tests): the
   service against a plain Graph loop (ratio), beside the IMAP figure of item 5.

Targets (printed, never asserted): backlog ratio >= 0.5 (IMAP and Graph); rate at N=1,000 >= 0.9 x the rate at
N=100; peak RSS < 200 MB; IDLE p95 < 2 s; warm .doc < 0.4 s; every page at 1,000 < 2 x at 200; two workers >= 1.5 x one.
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import docx

from config import load_settings
from ingest.demo import application_email, complete_values, sized_email, to_bytes
from ingest.mime import parse_message
from ingest.poller import Intake
from parsers import parse_form, validate
from parsers.blank_form import fill_form
from storage import Archive


def best_of(fn: Callable[[], object], repeat: int = 5, number: int = 10) -> float:
    """Seconds per call: the median of ``repeat`` runs of ``number`` calls."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number)
    return statistics.median(runs)


def bench_parse() -> None:
    """Every variant of the fixture corpus, against python-docx opening the filled .docx (same run)."""
    from form_corpus import FIXTURES, libreoffice

    from ingest.form_sandbox import FormSandbox
    from parsers.form_file import ParseOptions

    plain = fill_form(complete_values())
    baseline = best_of(lambda: docx.Document(io.BytesIO(plain)))
    print(f"baseline: python-docx opening the filled form {baseline * 1000:.2f} ms")
    for fixture in FIXTURES:
        if fixture.libreoffice and libreoffice() is None:
            print(f"  {fixture.name:78} skipped (no LibreOffice)")
            continue
        data = fixture.build()
        slow = fixture.filename.endswith(".doc")
        ours = best_of(lambda data=data, name=fixture.filename: validate(parse_form(data, name)[1], date(2019, 9, 3)),
                       repeat=3 if slow else 5, number=1 if slow else 10)
        print(f"  {fixture.name:78} {ours * 1000:8.1f} ms  {ours / baseline:6.1f}x"
              + ("  (a fresh LibreOffice each time: the cold path; the service's warm one: see below)" if slow else ""))
    sandbox = FormSandbox()
    sandbox(plain, "skema.docx", ParseOptions())
    isolated = best_of(lambda: sandbox(plain, "skema.docx", ParseOptions()), number=5)
    direct = best_of(lambda: parse_form(plain, "skema.docx"))
    sandbox.close()
    print(f"bounded parse in the worker process: {isolated * 1000:.1f} ms vs {direct * 1000:.1f} ms in process "
          f"({(isolated - direct) * 1000:+.1f} ms per attachment; starting the worker, the first file: "
          f"{_first_worker_ms():.0f} ms)")


def _first_worker_ms() -> float:
    """A worker started and its first file parsed, in a fresh process whose main script imports nothing (as the
    uip-intake command's): not in this one, whose imports every worker would run again (see cli/entry_point.py)."""
    import subprocess

    code = ("import time; from ingest.demo import complete_values; from parsers.blank_form import fill_form; "
            "from ingest.form_sandbox import FormSandbox; from parsers.form_file import ParseOptions; "
            "data = fill_form(complete_values()); sandbox = FormSandbox(); start = time.perf_counter(); "
            "sandbox(data, 'skema.docx', ParseOptions()); print((time.perf_counter() - start) * 1000); sandbox.close()")
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    return float(run.stdout.split()[-1])


def bench_pipeline(count: int = 40, isolate: bool = True) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        raws = [to_bytes(application_email(complete_values(), message_id=f"<bench-{n}@k.dk>")) for n in range(count)]
        settings = load_settings(None, mailbox={"maildir_path": str(root / "maildir")},
                                 database={"url": f"sqlite:///{root}/bench.db"},
                                 storage={"archive_dir": str(root / "archive")},
                                 smtp={"outbox_dir": str(root / "outbox"), "max_per_recipient_per_hour": 100_000},
                                 parsing={"isolate": isolate})
        import mailbox

        box = mailbox.Maildir(root / "maildir", create=True)
        for raw in raws:
            box.add(raw)
        intake = Intake.from_settings(settings)
        intake.db.migrate()
        start = time.perf_counter()
        report = intake.poll_once()
        elapsed = time.perf_counter() - start
        archive = Archive(root / "baseline")
        start = time.perf_counter()
        for raw in raws:
            archive.put("messages", raw)
            parse_message(raw)
        baseline = time.perf_counter() - start
        assert report.outcomes == {"application": count}, report
        how = "bounded child per attachment" if isolate else "parsing in process"
        print(f"pipeline ({count} applications, Maildir + SQLite + .eml outbox, {how}): {count / elapsed:6.1f} msg/s "
              f"({elapsed / count * 1000:.1f} ms each); archive+MIME parse alone {baseline / count * 1000:.2f} ms; "
              f"ratio {elapsed / baseline:4.1f}x")


def bench_size_gate() -> None:
    from servers import start_dovecot
    try:
        server = start_dovecot()
    except (FileNotFoundError, RuntimeError) as error:
        print(f"size gate: skipped ({error})")
        return
    try:
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=server.port, ssl=False)
        client.login("bench", server.password)
        client.append("INBOX", sized_email(10 * 1024 * 1024 + 1))
        client.select_folder("INBOX")
        (uid,) = client.search("ALL")
        gate = best_of(lambda: (client.fetch([uid], ["RFC822.SIZE"]), client.fetch([uid], ["BODY.PEEK[HEADER]"])),
                       number=20)
        download = best_of(lambda: client.fetch([uid], ["BODY.PEEK[]"]), repeat=3, number=2)
        print(f"size gate (10 MiB + 1 byte on Dovecot): judged in {gate * 1000:.2f} ms; full download "
              f"{download * 1000:.1f} ms; the gate is {download / gate:,.0f}x cheaper")
        client.logout()
    finally:
        server.stop()


AFRESH = "the ranking worked out afresh (the first view after a change)"
PAGES = ("/healthz", "/til-behandling", "/queue", "/queue?status=complete&q=kommune&sort=municipality&dir=desc",
         "/ranking", "/messages", "/messages/1", "/applications/AD-2019-0100", "/queue.csv", "/queue.xlsx",
         "/ranking.xlsx")


def alternating(first: Callable[[], object], second: Callable[[], object], repeat: int = 5,
                number: int = 3) -> tuple[float, float]:
    """Seconds per call of each: the median of ``repeat`` runs of ``number`` calls, the two taking turns run by
    run, so a stall of the machine falls on both instead of on whichever was being timed then."""
    runs: tuple[list[float], list[float]] = ([], [])
    for turn in range(repeat):
        for index in ((0, 1) if turn % 2 == 0 else (1, 0)):
            call = (first, second)[index]
            start = time.perf_counter()
            for _ in range(number):
                call()
            runs[index].append((time.perf_counter() - start) / number)
    return statistics.median(runs[0]), statistics.median(runs[1])


def web_app(root: Path, count: int) -> Callable[[str], Callable[[], object]]:
    """The staff app over ``count`` applications processed by a real poll (SQLite, in-process ASGI, signed
    in); returns, for a page, the call that fetches it once (checked to answer 200 first), AFRESH being
    ``ranking_of``."""
    import mailbox

    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session
    from web_support import Bench, demo_settings, populate, sign_in

    from config.runtime import tune_process
    from parsers.municipalities import all_municipalities
    from web import create_app
    from web.decisions import ranking_of

    settings = demo_settings(root, f"sqlite:///{root}/web.db")
    settings.smtp.max_per_recipient_per_hour = settings.smtp.max_per_hour = 1_000_000  # no reply held
    box = mailbox.Maildir(settings.mailbox.maildir_path, create=True)
    names = [m.official_name for m in all_municipalities()]
    for n in range(count):
        values = complete_values(municipality=names[n % len(names)], target_group_size=str(100 + n * 7 % 900),
                                 population=str(40_000 + n * 1_301 % 300_000), cvr=None,
                                 director_approved=n % 9 != 0)
        box.add(to_bytes(application_email(values, message_id=f"<web-{n}@k.dk>")))
    bench = Bench(settings, populate(settings))
    tune_process()  # as `uip-intake serve` does
    client = TestClient(create_app(settings, bench.db))
    sign_in(client)
    session = Session(bench.db.engine)  # for AFRESH, read-only
    round_ = settings.call_rounds[0]

    def page(path: str) -> Callable[[], object]:
        if path == AFRESH:  # what GET /ranking costs when something changed since the ranking was kept
            return lambda: ranking_of(settings, session, round_)
        assert client.get(path).status_code == 200, path
        return lambda: client.get(path)

    return page


def bench_web() -> None:
    """Every staff page at 200 and at 1,000 applications, the two sizes timed in turns (``alternating``: both
    see the machine as it is at that moment), against GET /healthz."""
    with tempfile.TemporaryDirectory() as small_dir, tempfile.TemporaryDirectory() as large_dir:
        small, large = web_app(Path(small_dir), 200), web_app(Path(large_dir), 1000)
        print("web app at 200 and 1,000 applications (SQLite, in-process ASGI), each page timed at both sizes "
              "in turns; target < 2x (the ranking and the exports read every application by nature, so for them "
              "the time per application is compared too; GET /ranking serves the ranking kept while nothing "
              "changed):")
        print(f"  {'':66} {'200':>9} {'1,000':>9}  ratio")
        for path in (*PAGES, AFRESH):
            at_200, at_1000 = alternating(small(path), large(path))
            whole = path.startswith("/ranking") or path.endswith((".csv", ".xlsx")) or path == AFRESH
            per = f"   per application {at_1000 / at_200 / 5:5.2f}x" if whole else ""
            print(f"  {path:66} {at_200 * 1000:6.1f} ms {at_1000 * 1000:6.1f} ms  {at_1000 / at_200:5.2f}x{per}")


def bench_graph(imap: dict[str, float]) -> None:
    """The backlog of 200 through the local Graph mailbox, printed beside the IMAP figure of the same run."""
    import graph_backlog

    middle, (lowest, highest) = graph_backlog.graph_backlog(200)
    print(f"  N=  200 through Microsoft Graph (the local Graph mailbox over HTTPS, sendMail): service "
          f"{middle['service']:.1f} msg/s, plain Graph loop {middle['plain']:.1f} msg/s, ratio {middle['ratio']:.2f} "
          f"(median of 3 rounds: {lowest:.2f}–{highest:.2f}); service peak RSS {middle['rss_mb']:.0f} MB; "
          f"processed {middle['processed']:.0f}, {middle['downloads']:.0f} bodies downloaded, "
          f"{middle['replied']:.0f} sent (half by {middle['half_replied']:.1f} s, the last at "
          f"{middle['last_reply']:.1f} s)", flush=True)
    print(f"           beside IMAP at N=200: service {imap['service']:.1f} msg/s (ratio {imap['ratio']:.2f}); "
          f"Graph / IMAP {middle['service'] / imap['service']:.2f}x", flush=True)


def bench_backlog() -> None:
    import os

    import backlog
    from servers import SmtpSink, start_dovecot, start_smtp

    try:
        server = start_dovecot()
    except (FileNotFoundError, RuntimeError) as error:
        print(f"backlog: skipped ({error})")
        return
    sink = SmtpSink()
    controller, port = start_smtp(sink)
    servers = backlog.Servers(server.port, server.password, port, sink)
    try:
        print("backlog on Dovecot + aiosmtpd (service poll vs the plain loop, same mailbox contents, same run):")
        figures = backlog.run(servers, (100, 200, 1000))
        bench_graph(figures[200])
        middle, (lowest, highest) = backlog.at_a_distance(servers)
        print(f"  N=  200, the mailbox 30 ms away at 8 MB/s (a proxy in front of Dovecot; the relay stays local): "
              f"service {middle['service']:.1f} msg/s, plain loop {middle['plain']:.1f} msg/s, ratio "
              f"{middle['ratio']:.2f} (median of 3 rounds: {lowest:.2f}–{highest:.2f})", flush=True)
        p50, p95 = backlog.idle_latency(servers)
        print(f"  IDLE, 100 emails at 1/s: arrival -> acknowledgement p50 {p50:.2f} s, p95 {p95:.2f} s "
              "(target p95 < 2 s)")
        doc = backlog.bulky()[0]
        if doc is not None:
            cold, warm, not_warm = backlog.doc_conversion(doc)
            print(f"  .doc -> .docx: cold {cold:.2f} s, warm {warm:.2f} s ({cold / warm:.1f}x; target warm < 0.4 s)"
                  + (f" — the warm path was not used: {not_warm}" if not_warm else ""))
        postgres = os.environ.get("UIP_INTAKE_TEST_POSTGRES_URL")
        if postgres:
            one, two, busy, (lowest, highest) = backlog.two_workers(servers, postgres)
            print(f"  PostgreSQL, 200 emails: one worker {one:.1f} msg/s, two workers {two:.1f} msg/s "
                  f"({two / one:.2f}x, the median of 3 rounds: {lowest:.2f}–{highest:.2f}x; target >= 1.5)")
            if busy is not None:
                print(f"    one worker (with Dovecot, the relay and PostgreSQL) kept {busy:.0%} of the machine's "
                      f"{os.cpu_count()} cores busy: two can reach at most ~{min(1 / busy, 2):.2f}x here")
        else:
            print("  two workers: skipped (set UIP_INTAKE_TEST_POSTGRES_URL)")
    finally:
        controller.stop()
        server.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the corpus and the servers
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # the backlog benchmark and its child scripts
    bench_parse()
    bench_pipeline(isolate=False)
    bench_pipeline(isolate=True)
    bench_size_gate()
    bench_web()
    bench_backlog()
    import hostile

    hostile.bench_memory()
