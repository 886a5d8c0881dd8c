"""The service's worker (``uip-intake run``: APScheduler + IMAP IDLE) with the settings given as JSON, until
SIGTERM."""

from __future__ import annotations

import json
import sys


def main() -> None:
    # imported here, not at the top: each parse worker runs this script's top level again (as __mp_main__)
    from config import load_settings
    from config.runtime import tune_process
    from ingest.poller import Intake
    from ingest.worker import run_worker

    tune_process()  # as every uip-intake command does
    intake = Intake.from_settings(load_settings(None, **json.loads(sys.argv[1])))
    intake.db.migrate()
    run_worker(intake)


if __name__ == "__main__":  # the parse workers (forkserver) run this script again: no second worker there
    main()
