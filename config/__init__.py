"""Settings and their documented defaults (config/default.toml). Imports nothing of ours."""

from config.settings import (
    CallSettings,
    DatabaseSettings,
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
    "MailboxSettings",
    "OAuth2Settings",
    "ParsingSettings",
    "Settings",
    "SmtpSettings",
    "StorageSettings",
    "WebSettings",
    "load_settings",
]
