"""Process tuning every command applies at start: large freed blocks go back to the system."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ALLOCATE_AND_FREE = """
from config.runtime import tune_memory_allocator

def rss_mb():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1]) // 1024

tuned = tune_memory_allocator()
start, keep = rss_mb(), []
for _ in range(5):  # 8 MB emails one after the other, with small objects made between them
    block = b'x' * (8 * 1024 * 1024)
    keep.append(bytes(200))
    del block
print(tuned, rss_mb() - start)
"""


@pytest.mark.skipif(not hasattr(os, "confstr") or not os.confstr("CS_GNU_LIBC_VERSION"), reason="glibc only")
def test_after_tuning_freed_8_mb_blocks_do_not_stay_in_the_processes_memory():
    """glibc's default raises its mmap threshold to the largest block freed, so the next ones stay resident."""
    run = subprocess.run([sys.executable, "-c", ALLOCATE_AND_FREE], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    tuned, growth_mb = run.stdout.split()
    assert tuned == "True"
    assert int(growth_mb) < 4
