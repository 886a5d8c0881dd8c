"""Why a file could not be read as the form: a code (the family), a cause (exactly why) and parameters; the
words for the sender and staff come from ``notifications.locale``."""

from __future__ import annotations

from typing import Any

from config.errors import UipIntakeError
from parsers.problem_codes import RefusalCause, UnreadableCode


class UnreadableFile(UipIntakeError):
    """The file must not or cannot be opened."""

    def __init__(self, code: UnreadableCode | str, cause: RefusalCause | str, filename: str = "",
                 **params: Any) -> None:
        super().__init__(f"{code}: {cause}" + (f" ({filename})" if filename else ""))
        self.code = UnreadableCode(code)
        self.cause = RefusalCause(cause)
        self.filename = filename
        self.params = params

    def naming(self, filename: str) -> UnreadableFile:
        """The same refusal, naming the attachment (kept when a reader already named it)."""
        return UnreadableFile(self.code, self.cause, self.filename or filename, **self.params)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, as stored on the attachment and passed between processes."""
        return {"code": str(self.code), "cause": str(self.cause), "filename": self.filename, **self.params}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnreadableFile:
        rest = {k: v for k, v in data.items() if k not in {"code", "cause", "filename"}}
        return cls(data["code"], data["cause"], data.get("filename", ""), **rest)
