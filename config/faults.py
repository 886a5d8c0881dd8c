"""Fault injection for the crash tests: ``UIP_INTAKE_FAULT=kill-after-fetch,…`` kills the process with
SIGKILL at the named points, so a test can prove that nothing is lost there. Never set in service."""

from __future__ import annotations

import os
import signal

FAULT_ENV = "UIP_INTAKE_FAULT"
# every point the code offers, in the order a message meets them
FAULT_POINTS = ("kill-after-fetch", "kill-after-archive", "kill-after-row", "kill-after-commit",
                "kill-after-smtp", "kill-before-move")


def fault_point(name: str) -> None:
    """SIGKILL this process at ``name`` when UIP_INTAKE_FAULT names it."""
    assert name in FAULT_POINTS, name
    if name in os.environ.get(FAULT_ENV, "").split(","):
        os.kill(os.getpid(), signal.SIGKILL)
