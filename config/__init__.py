"""Settings and their documented defaults (config/default.toml). Imports nothing of ours.

The settings models (pydantic) load on first use of one of these names, not with the package: the parse
workers import ``config.errors`` (the project's exception root) and nothing else of it, and start ~0.2 s
sooner without pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.settings import (
        CallSettings,
        DatabaseSettings,
        LimitsSettings,
        MailboxSettings,
        OAuth2Settings,
        ParsingSettings,
        Settings,
        SmtpSettings,
        StorageSettings,
        WebSettings,
        load_settings,
    )

__all__ = [
    "CallSettings",
    "DatabaseSettings",
    "LimitsSettings",
    "MailboxSettings",
    "OAuth2Settings",
    "ParsingSettings",
    "Settings",
    "SmtpSettings",
    "StorageSettings",
    "WebSettings",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from config import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'config' has no attribute {name!r}")
