"""One ``poll --once`` of the service with the settings given as JSON; prints its time and its own peak RSS."""

from __future__ import annotations

import cProfile
import json
import os
import sys
import time
from pathlib import Path


def peak_rss_mb() -> float:
    """This process image's peak RSS (VmHWM). Not getrusage: its ru_maxrss keeps the peak of the parent it was
    forked from (the bench, hundreds of MB by then) across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    # imported here, not at the top: each parse worker runs this script's top level again (as __mp_main__)
    from config import load_settings
    from config.runtime import tune_process
    from ingest.poller import Intake

    tune_process()  # as every uip-intake command does
    settings = load_settings(None, **json.loads(sys.argv[1]))
    intake = Intake.from_settings(settings)
    intake.db.migrate()
    ready = peak_rss_mb()
    profile_to = os.environ.get("UIP_INTAKE_BENCH_PROFILE")  # a cProfile of the poll, for `make bench` work
    profiler = cProfile.Profile() if profile_to else None
    started, began = time.perf_counter(), time.monotonic()  # monotonic: the same clock as the bench's relay
    if profiler is not None:
        profiler.enable()
    report = intake.poll_once()
    elapsed = time.perf_counter() - started
    if profiler is not None and profile_to:
        profiler.disable()
        profiler.dump_stats(profile_to)
    intake.close()
    print(json.dumps({"elapsed": elapsed, "began": began, "processed": report.processed, "outcomes": report.outcomes,
                      "rss_mb": peak_rss_mb(), "rss_ready_mb": ready}))


if __name__ == "__main__":  # the parse workers (forkserver) run this script again: no second poll there
    main()
