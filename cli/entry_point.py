"""What the ``uip-intake`` console script imports: the command itself is imported only when it runs.

A parse worker comes from a ``forkserver``, and Python runs the parent's main script again in every such
worker, as ``__mp_main__``, before the worker's own code (3.11's forkserver cannot preload it once instead: its
``__main__`` preload is never given the script's path). The console script's top level is one
import of this module, so in a worker that costs nothing; were it ``cli.main``, every parse worker would
import the whole service first (SQLAlchemy, the mailbox, the web app's templates: ~1.3 s of CPU each, at
the start of a poll and again each time a worker is replaced).
"""

from __future__ import annotations


def main() -> None:
    from cli.main import app

    app()
