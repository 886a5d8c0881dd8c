"""The project's one exception root, and the pipeline's control-flow signals kept apart from it.

Every error uip-intake raises on purpose derives from ``UipIntakeError`` (a bad setting, a file that cannot be
read, an unreachable mailbox, a refused token …). The signals that end one message's pipeline early — stop,
reject, duplicate — are not errors: they derive from ``PipelineSignal`` (a ``BaseException``, as Mailman's are),
so a stage's ``except Exception`` can never swallow one. This module imports nothing of ours.
"""

from __future__ import annotations


class UipIntakeError(Exception):
    """Base of every error uip-intake raises on purpose."""


class PipelineSignal(BaseException):
    """Ends one message's pipeline with an outcome; caught in one place, the pipeline loop."""
