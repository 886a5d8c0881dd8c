"""One ``poll --once`` of the service with the settings given as JSON; prints its time and its own peak RSS."""

from __future__ import annotations

import json
import resource
import sys
import time

from config import load_settings
from ingest.poller import Intake


def main() -> None:
    settings = load_settings(None, **json.loads(sys.argv[1]))
    intake = Intake.from_settings(settings)
    intake.db.migrate()
    started = time.perf_counter()
    report = intake.poll_once()
    elapsed = time.perf_counter() - started
    intake.close()
    print(json.dumps({"elapsed": elapsed, "processed": report.processed, "outcomes": report.outcomes,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":  # the parse workers (forkserver) import this module again: no second poll there
    main()
