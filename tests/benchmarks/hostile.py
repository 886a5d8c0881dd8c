"""Memory under hostile and real-world mail: the peak RSS of every process of one poll (the poll itself, its
parse workers, LibreOffice), sampled from /proc while it runs, for a backlog of applications and for a hostile
set (deep nesting, 100k header fields, 9.9 MB of tiny parts, base64 without line breaks, a 9.9 MB single-line
header, an annex that inflates to 50× its size, and CPython's email corpus).
"""

from __future__ import annotations

import base64
import glob
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from backlog import HERE, _child_env, backlog_messages, bulky

from ingest.demo import application_email, complete_values, to_bytes

NEAR_LIMIT = 9_900_000


def _head(extra: str = "", subject: str = "Ansøgning") -> str:
    return (f"From: Kommune <sag@aarhus.dk>\r\nTo: uip-imp2@socialstyrelsen.dk\r\nSubject: {subject}\r\n"
            f"Date: Mon, 02 Sep 2019 10:00:00 +0200\r\nMessage-ID: <hostile-{time.monotonic_ns()}@aarhus.dk>\r\n"
            f"MIME-Version: 1.0\r\n{extra}")


def deep_nesting(depth: int = 5_000) -> bytes:
    body = "".join(f"--b{n}\r\nContent-Type: multipart/mixed; boundary=\"b{n + 1}\"\r\n\r\n" for n in range(depth))
    return (_head('Content-Type: multipart/mixed; boundary="b0"\r\n') + "\r\n" + body + "x\r\n").encode()


def many_headers(count: int = 100_000) -> bytes:
    return (_head() + "".join(f"X-Filler-{n}: {n}\r\n" for n in range(count)) + "\r\nbody\r\n").encode()


def tiny_parts(total: int = NEAR_LIMIT) -> bytes:
    part = "--p\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    count = (total - 500) // len(part)
    return (_head('Content-Type: multipart/mixed; boundary="p"\r\n') + "\r\n" + part * count + "--p--\r\n").encode()


def unbroken_base64(total: int = NEAR_LIMIT) -> bytes:
    data = base64.b64encode(os.urandom(int(total * 0.74))).decode()
    return (_head('Content-Type: multipart/mixed; boundary="u"\r\n') + "\r\n--u\r\nContent-Type: text/plain\r\n\r\n"
            "se vedhæftet\r\n--u\r\nContent-Type: application/pdf; name=\"bilag.pdf\"\r\n"
            "Content-Disposition: attachment; filename=\"bilag.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + data + "\r\n--u--\r\n").encode()


def long_header(total: int = NEAR_LIMIT) -> bytes:
    return (_head() + "X-Long: " + "a" * (total - 400) + "\r\n\r\nbody\r\n").encode()


def inflating_annex(ratio: int = 50) -> bytes:
    """A .docx annex whose document.xml inflates to ~``ratio`` × the size of the email."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document>" + "<w:p/>" * 40_000_000 + "</w:document>")
    zipped = out.getvalue()
    return to_bytes(application_email(None, annexes={"bilag.docx": zipped}))


def corpus() -> list[bytes]:
    found = []
    for path in sorted(glob.glob("/usr/lib/python3*/test/test_email/data/msg_*.txt")):
        with open(path, "rb") as fh:
            found.append(fh.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    return found


def hostile_shapes() -> dict[str, bytes]:
    """Each hostile shape by name, near the 10 MB limit."""
    return {"deep nesting (5,000 levels)": deep_nesting(), "100,000 header fields": many_headers(),
            "9.9 MB of tiny parts": tiny_parts(), "base64 without line breaks": unbroken_base64(),
            "a 9.9 MB header line": long_header(), "an annex inflating 50x": inflating_annex()}


def hostile_set() -> list[bytes]:
    """The hostile set: each hostile shape, a few applications, the email corpus; 128 messages at most."""
    messages = list(hostile_shapes().values())
    messages += [to_bytes(application_email(complete_values(), message_id=f"<h-app-{n}@aarhus.dk>"))
                 for n in range(6)]
    return (messages + corpus())[:128]


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children of children too), from /proc."""
    children: dict[int, list[int]] = {}
    for status in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(status).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(status.split("/")[2]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _peak_and_kind(pid: int) -> tuple[float, str] | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    peak = next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")), 0.0)
    if "soffice" in command or "oosplash" in command:
        kind = "LibreOffice"
    elif "uno" in command or "office_bridge" in command:
        kind = "UNO bridge"
    elif "forkserver" in command or "multiprocessing" in command:
        kind = "parse worker"
    else:
        kind = "other: " + command[:40]
    return peak, kind


def _now_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of ``pid`` now, in MB; PSS counts a page shared by n processes as 1/n in each, so the PSS of
    all processes add up to what they hold together (what a container's memory limit charges)."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0.0, 0.0
    values = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in rollup.splitlines()[1:]
              if line.split(":")[0] in ("Rss", "Pss")}
    return values.get("Rss", 0.0), values.get("Pss", 0.0)


def measured_poll(messages: list[bytes], **sections: dict[str, object]) -> dict[str, object]:
    """``poll --once`` of a Maildir holding ``messages`` in a child process, with it and every process below it
    sampled every 20 ms: the poll's own peak (VmHWM), each other process's by kind, and the peak of all of
    them at one instant (RSS and PSS: processes that never ran at the same time are not added up)."""
    with tempfile.TemporaryDirectory(prefix="uip-memory-") as tmp:
        root = Path(tmp)
        maildir = root / "maildir"
        for sub in ("new", "cur", "tmp"):
            (maildir / sub).mkdir(parents=True)
        for n, raw in enumerate(messages):
            (maildir / "new" / f"{n:05d}.eml").write_bytes(raw)
        overrides: dict[str, dict[str, object]] = {
            "mailbox": {"protocol": "maildir", "maildir_path": str(maildir)},
            "smtp": {"transport": "file", "outbox_dir": str(root / "outbox"),
                     "max_per_recipient_per_hour": 1_000_000, "max_per_hour": 1_000_000},
            "database": {"url": f"sqlite:///{root}/service.db"}, "storage": {"archive_dir": str(root / "archive")}}
        for name, values in sections.items():
            overrides.setdefault(name, {}).update(values)
        child = subprocess.Popen([sys.executable, str(HERE / "poll_child.py"), json.dumps(overrides)],
                                 stdout=subprocess.PIPE, env=_child_env())
        peaks: dict[int, tuple[float, str]] = {}
        together = {"rss": 0.0, "pss": 0.0}
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                descendants = _descendants(child.pid)
                for pid in descendants:
                    found = _peak_and_kind(pid)
                    if found is not None and found[0] >= peaks.get(pid, (0.0, ""))[0]:
                        peaks[pid] = found
                now = [_now_mb(pid) for pid in [child.pid, *descendants]]
                together["rss"] = max(together["rss"], sum(rss for rss, _ in now))
                together["pss"] = max(together["pss"], sum(pss for _, pss in now))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        output = child.communicate()[0]
        done.set()
        sampler.join()
    if child.returncode != 0:
        raise RuntimeError(f"the poll failed (exit {child.returncode})")
    result = json.loads(output)
    by_kind: dict[str, float] = {}
    for peak, kind in peaks.values():
        by_kind[kind] = max(by_kind.get(kind, 0.0), peak)
    return {"poll": result["rss_mb"], "poll_ready": result["rss_ready_mb"], "others": by_kind,
            "rss_together": together["rss"], "pss_together": together["pss"], "processed": result["processed"],
            "outcomes": result["outcomes"]}


def report(name: str, figures: dict[str, object]) -> None:
    others = figures["others"]
    assert isinstance(others, dict)
    parts = ", ".join(f"{kind} {peak:.0f} MB" for kind, peak in sorted(others.items()))
    print(f"  {name}: poll process {figures['poll']:.0f} MB; {parts or 'no other process'} (target: each < 300 MB); "
          f"all processes at one instant, at most {figures['pss_together']:.0f} MB PSS, {figures['rss_together']:.0f} "
          f"MB RSS (target: < 600 MB); processed {figures['processed']}", flush=True)


def bench_memory_per_message() -> None:
    """Which message drives the peak: each hostile shape alone in one poll, the poll's peak above what it held
    ready to poll, and the parse workers' peak."""
    print("memory per hostile message (one poll of it alone; the poll process above its size when ready):",
          flush=True)
    for name, raw in hostile_shapes().items():
        figures = measured_poll([raw])
        others = figures["others"]
        assert isinstance(others, dict)
        print(f"  {name}: poll +{figures['poll'] - figures['poll_ready']:.0f} MB (peak {figures['poll']:.0f} MB), "
              f"parse worker {others.get('parse worker', 0.0):.0f} MB; {figures['outcomes']}", flush=True)


def bench_memory() -> None:
    bench_memory_per_message()
    print("memory per process (peak RSS, one poll from a Maildir):", flush=True)
    report("backlog of 200 applications", measured_poll(backlog_messages(200, *bulky())))
    report(f"hostile and real-world set ({len(hostile_set())} messages)", measured_poll(hostile_set()))
