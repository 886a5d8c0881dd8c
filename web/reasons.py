"""The worker's reasons (stored in English, as the CLI and logs show them) in Danish for the staff pages."""

from __future__ import annotations

import re

_NO_REPLY = "; intet automatisk svar (autosvar, postliste eller returmeddelelse)"


_QUARANTINE = {
    "too_deep": "for mange dele inde i hinanden",
    "too_many_parts": "for mange dele",
    "too_many_headers": "for mange brevhoveder",
    "header_line_too_long": "en for lang brevhovedlinje",
    "unparseable": "kunne ikke læses",
    "worker_gave_up": "behandlingen fejlede for mange gange",
}


def _mb(size: str) -> str:
    return f"{int(size) / 1024 / 1024:.1f}".replace(".", ",")


_RULES: tuple[tuple[re.Pattern[str], str | object], ...] = (
    (re.compile(r"^complete$"), "komplet"),
    (re.compile(r"^(\d+) problem\(s\) to clarify$"), r"\1 forhold skal afklares"),
    (re.compile(r"^message is (\d+) bytes, over the limit of (\d+) bytes; not downloaded"
                r"(; no automatic reply \(auto-submitted, list or bounce\))?$"),
     lambda m: f"e-mailen var {_mb(m[1])} MB, over grænsen på {_mb(m[2])} MB; ikke hentet"
               + (_NO_REPLY if m[3] else "")),
    (re.compile(r"^no automatic reply: (.*)$"), r"intet automatisk svar: \1"),
    (re.compile(r"^form could not be opened \((.*)\)$"), r"skemaet kunne ikke åbnes (\1)"),
    (re.compile(r"^answer to (\S+) without a form \(found by (.*)\)$"), r"svar på \1 uden skema (fundet via \2)"),
    (re.compile(r"^no application form among the attachments$"), "intet ansøgningsskema blandt de vedhæftede filer"),
    (re.compile(r"^no attachments$"), "ingen vedhæftede filer"),
    (re.compile(r"^the application round is closed \(call.open = false\)$"), "ansøgningsrunden er lukket"),
    (re.compile(r"^same oversized email as message #(\d+)$"), r"samme for store e-mail som besked #\1"),
    (re.compile(r"^quarantined: (\w+) \((.*?)\)(; no automatic reply: .*)?$"),
     lambda m: f"i karantæne: {_QUARANTINE.get(m[1], m[1])} ({m[2]})" + (_NO_REPLY if m[3] else "")),
    (re.compile(r"^same email as message #(\d+) received (.*)$"), r"samme e-mail som besked #\1, modtaget \2"),
)


def danish_reason(reason: str | None) -> str:
    """The reason in Danish when it is one the worker writes; otherwise as stored (never lost)."""
    if not reason:
        return ""
    for pattern, replacement in _RULES:
        match = pattern.match(reason)
        if match:
            return replacement(match) if callable(replacement) else match.expand(replacement)  # type: ignore[arg-type]
    return reason
