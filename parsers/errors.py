"""Why a file could not be read as the form. Every error carries a code and a Danish explanation."""

from __future__ import annotations

from typing import Literal

from config.errors import UipIntakeError

UnreadableCode = Literal["encrypted", "macro", "unsafe", "corrupt", "unsupported", "too_large", "timeout"]


class UnreadableFile(UipIntakeError):
    """The file must not or cannot be opened; ``reason`` is a plain Danish sentence for the sender."""

    def __init__(self, code: UnreadableCode, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code: UnreadableCode = code
        self.reason = reason
