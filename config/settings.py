"""Typed settings: defaults from config/default.toml, a user TOML file on top, environment above all.

Environment variables are named ``UIP_INTAKE_<SECTION>__<KEY>`` (``UIP_INTAKE_MAILBOX__HOST``).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from config.errors import UipIntakeError
from config.rounds import Round, checked

DEFAULT_FILE = Path(__file__).with_name("default.toml")
CONFIG_ENV = "UIP_INTAKE_CONFIG"

Security = Literal["ssl", "starttls", "none"]


class _Section(BaseModel):
    model_config = {"extra": "forbid"}


def _read_secret(password: SecretStr, password_file: str) -> SecretStr:
    if password_file:
        return SecretStr(Path(password_file).read_text(encoding="utf-8").strip())
    return password


class OAuth2Settings(_Section):
    """App-only OAuth2 for the mailbox and the relay (``mailbox.auth`` / ``smtp.auth`` = "oauth2")."""

    provider: Literal["microsoft", "google", "generic"] = "microsoft"
    tenant: str = ""  # microsoft: the directory (tenant) id
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    client_secret_file: str = ""
    certificate_file: str = ""  # microsoft: a certificate credential instead of a secret (PEM, key included)
    service_account_file: str = ""  # google: service-account JSON with domain-wide delegation
    token_url: str = ""  # overrides the provider's token endpoint (required for "generic")
    scope: str = ""  # overrides the provider's default scope
    ca_file: str = ""  # a private CA for the token endpoint (PEM); the system's CAs otherwise

    @model_validator(mode="after")
    def _secret_from_file(self) -> OAuth2Settings:
        self.client_secret = _read_secret(self.client_secret, self.client_secret_file)
        return self


class _SignIn(_Section):
    """What the mailbox and the relay share: the OAuth2 settings they sign in with (set by Settings)."""

    _oauth2: OAuth2Settings | None = PrivateAttr(default=None)

    @property
    def oauth2(self) -> OAuth2Settings:
        return self._oauth2 or OAuth2Settings()


class MailboxSettings(_SignIn):
    protocol: Literal["imap", "maildir", "graph"] = "maildir"  # graph: Microsoft Graph (no IMAP needed)
    host: str = "localhost"
    port: int = Field(993, ge=1, le=65535)
    security: Security = "ssl"
    ca_file: str = ""  # a private CA to verify the server's certificate (PEM); the system's CAs otherwise
    auth: Literal["password", "oauth2"] = "password"
    username: str = ""
    password: SecretStr = SecretStr("")
    password_file: str = ""
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    rejected_folder: str = "Rejected"
    quarantine_folder: str = "Quarantine"  # messages beyond the structure limits, or given up on after retries
    poll_seconds: int = Field(60, ge=1)
    idle: bool = True  # also keep an IMAP IDLE connection, so new mail is processed within seconds
    timeout_seconds: float = Field(60, gt=0)
    maildir_path: Path = Path("var/maildir")
    # Microsoft Graph (protocol = "graph"): its endpoint (another for a national cloud, a private endpoint or
    # tests); the mailbox is ``username`` (its address), signed in with the [oauth2] app, verified by ca_file
    graph_url: str = "https://graph.microsoft.com/v1.0"
    graph_page_size: int = Field(100, ge=1, le=1000)  # messages listed per request ($top)
    # with idle = true, a Graph mailbox is asked this often what arrived (a delta query: a few bytes when
    # nothing did), so new mail is answered within seconds without a public callback URL
    graph_delta_seconds: float = Field(5, gt=0)
    # the receiving server's anti-spoofing verdict (Authentication-Results, RFC 8601): mail it shows forged
    # (dmarc=fail) is recorded and shown to staff, never answered. trusted_authserv_id: the receiving server's
    # authserv-id (the topmost field carrying it is read); authentication_results = "exchange_online": Exchange
    # Online's field, which has none (the topmost field only). Neither set: not read (`check` says so).
    trusted_authserv_id: str = ""
    authentication_results: Literal["", "exchange_online"] = ""
    spf_fail_is_forged: bool = False  # also spf=fail with no DKIM pass aligned with the From domain

    @model_validator(mode="after")
    def _secret_from_file(self) -> MailboxSettings:
        self.password = _read_secret(self.password, self.password_file)
        if self.trusted_authserv_id and self.authentication_results:
            raise ValueError("mailbox.trusted_authserv_id and mailbox.authentication_results = "
                             f"\"{self.authentication_results}\" exclude each other: Exchange Online's field "
                             "carries no authserv-id; set one of them")
        return self


class SmtpSettings(_SignIn):
    # graph: Microsoft Graph's sendMail as the mailbox ``username``; auto: graph when mailbox.protocol is graph,
    # else file (Settings resolves it: code only ever sees smtp, file or graph)
    transport: Literal["auto", "smtp", "file", "graph"] = "auto"
    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    security: Security = "starttls"
    ca_file: str = ""  # a private CA to verify the relay's certificate (PEM)
    auth: Literal["password", "oauth2", "none"] = "password"  # password: only when a username is set
    username: str = ""
    password: SecretStr = SecretStr("")
    password_file: str = ""
    sender: str = "Socialstyrelsen – Åben Dialog <uip-imp2@socialstyrelsen.dk>"
    timeout_seconds: float = Field(30, gt=0)
    outbox_dir: Path = Path("var/outbox")
    max_attempts: int = Field(40, ge=1)  # backoff doubles from 1 min to 2 h: 40 attempts span about 3 days
    max_per_recipient_per_hour: int = Field(10, ge=1)  # more are held for staff, not sent: a loop breaker
    max_per_hour: int = Field(500, ge=1)
    sent_folder: str = ""  # IMAP folder to append each sent reply to ("" = none), e.g. "Sent"
    graph_url: str = ""  # transport = "graph": Graph's endpoint ("" = mailbox.graph_url)

    @model_validator(mode="after")
    def _secret_from_file(self) -> SmtpSettings:
        self.password = _read_secret(self.password, self.password_file)
        return self


class DatabaseSettings(_Section):
    url: str = "sqlite:///var/uip-intake.db"
    password_file: str = ""  # the password for url, read from a file (a container secret)

    @model_validator(mode="after")
    def _password_from_file(self) -> DatabaseSettings:
        if self.password_file:
            from sqlalchemy.engine import make_url

            password = Path(self.password_file).read_text(encoding="utf-8").strip()
            self.url = make_url(self.url).set(password=password).render_as_string(hide_password=False)
        return self


class StorageSettings(_Section):
    archive_dir: Path = Path("var/archive")


class ParsingSettings(_Section):
    isolate: bool = True  # parse each file in a separate process with the bounds below
    workers: int = Field(0, ge=0)  # parse processes at once; 0: one per CPU core
    timeout_seconds: float = Field(90, gt=0)
    memory_mb: int = Field(1536, ge=128)
    libreoffice: str = "soffice"  # command or path for .doc files; "" answers .doc with a request for .docx
    convert_timeout_seconds: float = Field(60, gt=0)
    warm_libreoffice: bool = True  # keep a LibreOffice running between .doc conversions, driven over UNO
    uno_python: str = ""  # the Python with LibreOffice's uno module; "": LibreOffice's own, else /usr/bin/python3
    conversions_per_office: int = Field(50, ge=1)  # then the running LibreOffice is replaced by a fresh one
    office_idle_minutes: float = Field(10, gt=0)  # a LibreOffice kept running and idle this long is ended
    max_pdf_pages: int = Field(40, ge=1)

    @model_validator(mode="after")
    def _conversion_inside_parse(self) -> ParsingSettings:
        if self.convert_timeout_seconds >= self.timeout_seconds:
            raise ValueError("parsing.convert_timeout_seconds must be below parsing.timeout_seconds")
        return self


class LimitsSettings(_Section):
    """What one message may cost the service."""

    # reading one message (its MIME, its files) may take this much memory above what the process held before:
    # a parse worker's address space is limited to that per message, and a message whose parse is estimated
    # above it is not parsed in the poll's own process; beyond it the message is quarantined (a file, refused)
    max_message_memory_mb: int = Field(256, ge=32)


class ContactSettings(_Section):
    """Whom a municipality may ask about the call and its decision (the call names one)."""

    name: str = "Martin Sandø"
    title: str = "specialkonsulent"
    phone: str = "41 93 24 90"
    address: str = "spm-uip2@socialstyrelsen.dk"


class CallSettings(_Section):
    deadline: datetime = datetime.fromisoformat("2019-09-09T12:00:00+02:00")
    timezone: str = "Europe/Copenhagen"
    max_message_bytes: int = Field(10 * 1024 * 1024, ge=1)
    reference_prefix: str = Field("AD", pattern=r"^[A-Z]{1,8}$")
    questions_address: str = "spm-uip2@socialstyrelsen.dk"
    open: bool = True
    language: Literal["da", "en"] = "da"  # the language of the replies
    template_dir: str = ""  # an operator's folder of templates (<dir>/<language>/<name>.txt.j2), looked in first
    # a late application: "exclude" (the call says "senest": not ranked unless staff admit it with a reason) or
    # "admit" (ranked like the others, its lateness stated in its letter)
    late_policy: Literal["exclude", "admit"] = "exclude"
    # the guidance on appeal every decision letter carries, per language; "" for the call's language: a warning
    appeal_text: dict[Literal["da", "en"], str] = {}
    contact: ContactSettings = ContactSettings()
    signing_unit: str = Field("Socialstyrelsen", min_length=1)  # who signs the decision letters
    clarification_days: int = Field(7, ge=1, le=90)  # a clarification request asks for an answer within this

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError) as error:  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"unknown time zone {value!r} (e.g. \"Europe/Copenhagen\")") from error
        return value

    @model_validator(mode="after")
    def _aware_deadline(self) -> CallSettings:
        if self.deadline.tzinfo is None:  # a naive deadline is Danish local time
            self.deadline = self.deadline.replace(tzinfo=ZoneInfo(self.timezone))
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    session_hours: float = Field(10, gt=0)  # a sign-in lasts a working day; logout ends it at once
    secure_cookies: Literal["auto", "always", "never"] = "auto"  # auto: Secure when the request came over TLS
    # proxies (addresses or networks, comma-separated) whose X-Forwarded-For/-Proto are believed; "" = none,
    # so no client can choose the address the sign-in limit counts by sending the header itself
    forwarded_allow_ips: str = ""
    login_max_failures: int = Field(5, ge=1)  # per e-mail address in login_window_minutes
    login_max_failures_per_client: int = Field(20, ge=1)  # per client address in login_window_minutes
    login_window_minutes: int = Field(15, ge=1)
    root_path: str = Field("", pattern=r"^(/[^/\s]+)*$")  # a proxy serves the app under it (stripping it): "/intake"


class LoggingSettings(_Section):
    format: Literal["text", "json"] = "text"  # json: one object per line, for a log collector
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class MetricsSettings(_Section):
    # a bearer token for GET /metrics on the web app ("" = /metrics is off); or token_file
    token: SecretStr = SecretStr("")
    token_file: str = ""

    @model_validator(mode="after")
    def _secret_from_file(self) -> MetricsSettings:
        self.token = _read_secret(self.token, self.token_file)
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="UIP_INTAKE_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    mailbox: MailboxSettings = MailboxSettings()
    smtp: SmtpSettings = SmtpSettings()
    database: DatabaseSettings = DatabaseSettings()
    storage: StorageSettings = StorageSettings()
    call: CallSettings = CallSettings()
    parsing: ParsingSettings = ParsingSettings()
    limits: LimitsSettings = LimitsSettings()
    web: WebSettings = WebSettings()
    oauth2: OAuth2Settings = OAuth2Settings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSettings = MetricsSettings()
    rounds: list[Round] = []  # [[rounds]]; none: the call is the one round (config/rounds.py)

    @model_validator(mode="after")
    def _share_oauth2(self) -> Settings:
        self.mailbox._oauth2 = self.oauth2
        self.smtp._oauth2 = self.oauth2
        return self

    @model_validator(mode="after")
    def _graph_sends_for_a_graph_mailbox(self) -> Settings:
        """A mailbox read through Graph sends through Graph too, as itself, unless smtp says otherwise."""
        smtp, mailbox = self.smtp, self.mailbox
        if smtp.transport == "auto":
            smtp.transport = "graph" if mailbox.protocol == "graph" else "file"
        if smtp.transport == "graph":
            smtp.graph_url = smtp.graph_url or mailbox.graph_url
            smtp.username = smtp.username or mailbox.username
            smtp.ca_file = smtp.ca_file or mailbox.ca_file
            smtp.auth = "oauth2"
        return self

    @model_validator(mode="after")
    def _rounds_in_order(self) -> Settings:
        zone = self.call.zone

        def aware(moment: datetime | None) -> datetime | None:  # a naive time is the call's local time
            return moment.replace(tzinfo=zone) if moment is not None and moment.tzinfo is None else moment

        self.rounds = list(checked([r.model_copy(update={"opens": aware(r.opens), "deadline": aware(r.deadline),
                                                         "closes": aware(r.closes)}) for r in self.rounds]))
        return self

    @property
    def call_rounds(self) -> tuple[Round, ...]:
        """The configured rounds in opening order, or the call as the one round."""
        if self.rounds:
            return tuple(self.rounds)
        return (Round(name=f"{self.call.reference_prefix}-{self.call.deadline.year}", deadline=self.call.deadline),)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        user_file = settings_cls.model_config.get("toml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if user_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=user_file))
        sources.append(TomlConfigSettingsSource(settings_cls, toml_file=DEFAULT_FILE))
        return tuple(sources)


class ConfigFileError(UipIntakeError):
    """The configuration file named by the operator cannot be used."""


def load_settings(config_file: str | Path | None = None, **overrides: object) -> Settings:
    """Load settings: defaults, then ``config_file`` (or $UIP_INTAKE_CONFIG), then the environment."""
    path = config_file or os.environ.get(CONFIG_ENV) or None
    if path is None:
        return Settings(**overrides)  # type: ignore[arg-type]
    path = Path(path)
    if not path.is_file():
        raise ConfigFileError(f"configuration file not found: {path}")
    bound = type("FileSettings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": path}})
    return bound(**overrides)
