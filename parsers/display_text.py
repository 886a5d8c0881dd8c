"""Text that is shown to staff or written into a header or a file name: no control or format characters.

A sender chooses file names, subjects and display names. Control characters (line breaks, NUL, ESC) and
Unicode format characters (the bidi overrides U+202E/U+202D/U+2066–2069 that make ``gpj.exe`` read as
``exe.jpg``, zero-width joiners, soft hyphens) are removed; line and paragraph separators become spaces.
"""

from __future__ import annotations

import re
import unicodedata

_REMOVED = {"Cc", "Cf", "Co", "Cs", "Cn"}  # control, format, private use, surrogates, unassigned
_SPACE_LIKE = {"Zl", "Zp"}
_SPACES = re.compile(r"\s+")


def visible_text(value: str, limit: int = 998) -> str:
    """``value`` without control or format characters, whitespace runs as one space, at most ``limit`` long."""
    kept = []
    for char in value:
        category = unicodedata.category(char)
        if char in "\t\r\n" or category in _SPACE_LIKE:
            kept.append(" ")
        elif category not in _REMOVED:
            kept.append(char)
    return _SPACES.sub(" ", "".join(kept)).strip()[:limit]


def safe_filename(name: str, fallback: str = "fil") -> str:
    """No path, no control or quoting characters, no leading dots; at most 120 characters, extension kept."""
    name = visible_text(unicodedata.normalize("NFC", name), 1000).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\"<>:|?*;%]+", "_", name).strip(" .")
    if not name:
        return fallback
    stem, dot, ext = name.rpartition(".")
    if dot and 0 < len(ext) <= 10 and stem:
        return stem[: 120 - len(ext) - 1] + "." + ext
    return name[:120]
