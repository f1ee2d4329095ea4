"""Settings: environment variables prefixed ``ERPNEXT_MEDUSA_`` (and an optional ``.env``), validated at start-up.

The values that have a structure (the database URL, the time zone, storefront keys, trusted proxies) are
parsed once, when the settings are built, into the typed values the service reads: ``url``, ``zone``,
``storefront_key_map``, ``trusted_networks`` and ``secrets()``.
"""

from __future__ import annotations

import base64
import difflib
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ENV_PREFIX = "ERPNEXT_MEDUSA_"
#: The fields of a Medusa customer the outbox can send (domain/outbound.py maps each).
MEDUSA_FIELDS = ("first_name", "last_name", "email", "phone", "billing_address")
ENV_FILE = ".env"
#: Variables with these prefixes belong to the test suite and the benchmarks, not to the service.
_TOOL_PREFIXES = (f"{ENV_PREFIX}TEST_", f"{ENV_PREFIX}BENCH_")

DEFAULT_DATABASE_URL = "sqlite:///erpnext-medusa.db"

#: SQLAlchemy drivers we test and support, by backend name.
SUPPORTED_DRIVERS = {
    "sqlite": {"pysqlite"},
    "postgresql": {"psycopg"},
    "mysql": {"pymysql"},
    "mariadb": {"pymysql"},
}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(ValueError):
    """A setting that the service refuses to start with; ``setting`` names it (a field name such as
    ``storefront_keys``) when the error is not raised by that field's own validator."""

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


def variable(setting: str) -> str:
    """The environment variable of a setting: ``guest_access`` is ``ERPNEXT_MEDUSA_GUEST_ACCESS``."""
    return ENV_PREFIX + setting.upper()


#: The port of a URL, as written (user and password skipped), for a message about it.
_PORT = re.compile(r"^[\w+]+://(?:[^@]*@)?(?:\[[^\]]*\]|[^/:?]*):(?P<port>[^/?]*)")


def _bad_port(value: str) -> SettingsError:
    match = _PORT.match(value)
    port = f"port {match['port']!r}" if match else "the port"
    return SettingsError(f"{port} is not valid: a port is a number from 1 to 65535")


def parse_database_url(value: str) -> URL:
    """Parse and check a SQLAlchemy URL; name the problem when it is not one we can serve."""
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise SettingsError("not a valid SQLAlchemy URL (dialect+driver://user:password@host/database)") from exc
    except ValueError:  # a port that is not a number
        raise _bad_port(value) from None
    if url.port is not None and not 1 <= url.port <= 65535:
        raise _bad_port(value)
    dialect, plus, driver_name = url.drivername.partition("+")
    if dialect == "postgres":  # libpq's and many hosting providers' spelling
        url = url.set(drivername=f"postgresql{plus}{driver_name}")
    backend = url.get_backend_name()
    if backend not in SUPPORTED_DRIVERS:
        raise SettingsError(f"backend {backend!r} is not supported; use sqlite, postgresql+psycopg or mariadb+pymysql")
    # A URL without an explicit driver gets the one we support for that backend.
    driver = url.get_driver_name()
    if backend == "postgresql" and driver != "psycopg":
        if "+" in url.drivername:
            raise SettingsError("PostgreSQL URLs must use the psycopg driver: postgresql+psycopg://...")
        url = url.set(drivername="postgresql+psycopg")
    elif backend in ("mysql", "mariadb") and driver != "pymysql":
        if "+" in url.drivername:
            raise SettingsError("MariaDB URLs must use the PyMySQL driver: mariadb+pymysql://...")
        url = url.set(drivername=f"{backend}+pymysql")
    if backend != "sqlite" and not url.database:
        raise SettingsError("the URL must name a database")
    if backend == "sqlite":
        _check_sqlite_file(url)
    return url


def _check_sqlite_file(url: URL) -> None:
    """A SQLite URL names a file (three slashes before a relative path); SQLite creates the file, but not the
    directory it goes in."""
    if url.host:  # sqlite://erpnext.db: the file's name was read as a host
        meant = "/".join(part for part in (url.host, url.database) if part)
        raise SettingsError(
            f"a SQLite URL has three slashes before a relative path (sqlite:///{meant}) "
            "and four before an absolute one (sqlite:////var/lib/erpnext-medusa.db)"
        )
    database = url.database
    if not database or database == ":memory:":
        raise SettingsError(
            "an in-memory SQLite database is gone when its connection closes: name a file, e.g. "
            "sqlite:///erpnext-medusa.db"
        )
    if database.startswith("file:"):
        return
    directory = Path(database).parent
    if not directory.is_dir():
        raise SettingsError(f"the directory {directory} does not exist; create it or choose another path")


def _check_replica(primary: URL, replica: URL) -> None:
    """A read replica must be a server replicating the primary: PostgreSQL or MariaDB, the same backend."""

    def family(url: URL) -> str:
        backend = url.get_backend_name()
        return "mariadb" if backend == "mysql" else backend

    if family(replica) not in ("postgresql", "mariadb"):
        raise SettingsError("a read replica must be PostgreSQL or MariaDB", "read_database_url")
    if family(replica) != family(primary):
        raise SettingsError(
            f"the read replica must use the same backend as {variable('database_url')} "
            f"({family(primary)}), not {family(replica)}",
            "read_database_url",
        )


_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")
#: Storefront keys must be at least this long (they guard guest writes).
MIN_SECRET_LENGTH = 16
#: An HS256 key should have at least 256 bits (RFC 7518, 3.2).
MIN_JWT_SECRET_BYTES = 32
#: The webhook's HMAC key, like an HS256 key, should have at least 256 bits.
MIN_WEBHOOK_SECRET_BYTES = 32
GuestAccess = Literal["open", "key", "medusa-token"]


def parse_storefront_keys(value: str) -> dict[str, str]:
    """``id:secret,id:secret`` as ``{id: secret}``; the id names the key in the audit trail, never the secret."""
    keys: dict[str, str] = {}
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        key_id, sep, secret = entry.partition(":")
        if not sep or not _KEY_ID.fullmatch(key_id):
            raise SettingsError("each storefront key is written id:secret, the id 1-40 of A-Z a-z 0-9 . _ -")
        if len(secret) < MIN_SECRET_LENGTH or secret != secret.strip():
            raise SettingsError(f"storefront key {key_id}: the secret needs at least {MIN_SECRET_LENGTH} characters")
        if key_id in keys:
            raise SettingsError(f"storefront key id {key_id} is given twice")
        keys[key_id] = secret
    return keys


def parse_networks(value: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR blocks."""
    networks = []
    for entry in (part.strip() for part in value.split(",")):
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError as exc:
                raise SettingsError(f"{entry!r} is not an IP address or CIDR block") from exc
    return tuple(networks)


#: The Host names answered when ``allowed_hosts`` is empty: the loopback ones.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
_HOST_NAME = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)")


def parse_hosts(value: str) -> frozenset[str] | None:
    """Comma-separated host names (an IPv6 address in brackets, no port), or ``*`` for any (None); empty: the
    loopback names."""
    entries = {entry.strip().lower().rstrip(".") for entry in value.split(",") if entry.strip()}
    if not entries:
        return LOOPBACK_HOSTS
    if "*" in entries:
        if len(entries) > 1:
            raise SettingsError("* stands for every host name: give it alone")
        return None
    for entry in entries:
        if not _HOST_NAME.fullmatch(entry):
            raise SettingsError(f"{entry!r} is not a host name (no scheme, port or path; IPv6 in brackets)")
    return frozenset(entries)


def parse_time_zone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"{value!r} is not an IANA time zone name") from exc


#: The settings written as text with a structure of their own, each with the parser that checks it.
_STRUCTURED: dict[str, Callable[[str], object]] = {
    "time_zone": parse_time_zone,
    "storefront_keys": parse_storefront_keys,
    "trusted_proxies": parse_networks,
    "allowed_hosts": parse_hosts,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(default=DEFAULT_DATABASE_URL, description="SQLAlchemy URL of the ERPNext tables")
    #: A read replica of that database (PostgreSQL or MariaDB, the same backend) that typeahead searches read
    #: from; empty: they read from the database itself.
    read_database_url: str = Field(default="", repr=False)
    #: Hard cap on the rows one fetch_all_customers call returns, paged or not.
    fetch_max_results: int = Field(default=500, ge=1, le=100_000)
    #: Time zone of the ERPNext site: creation/modified are naive timestamps in this zone.
    time_zone: str = "UTC"
    #: Connection pool size per worker (PostgreSQL / MariaDB).
    pool_size: int = Field(default=10, ge=1, le=200)
    #: Seconds a request waits for a free database connection before it is answered 503 (Retry-After).
    pool_timeout: float = Field(default=2.0, ge=0.1, le=60)
    #: Longest a search statement may run (milliseconds) before it is stopped and answered with an error.
    statement_timeout_ms: int = Field(default=5_000, ge=100, le=600_000)
    #: Guest searches one process runs at once, in total and per client address; others wait briefly, then 503.
    search_concurrency: int = Field(default=4, ge=1, le=100)
    search_concurrency_per_client: int = Field(default=2, ge=1, le=100)
    log_level: str = "info"
    #: ``text`` lines for people, or ``json`` lines (one object per line) for log collectors.
    log_format: Literal["text", "json"] = "text"
    #: ``GET /metrics`` (Prometheus): off (the default: it reveals traffic), open, or token (needs metrics_token).
    metrics: Literal["off", "open", "token"] = "off"
    #: The bearer token ``/metrics`` asks for when metrics=token (at least 16 characters).
    metrics_token: SecretStr = SecretStr("")
    #: An ``ERPNEXT_MEDUSA_*`` variable that is not a setting stops every command (it is most often a misspelt
    #: one); true makes it a warning instead.
    allow_unknown_variables: bool = False

    # --- guest endpoints ---------------------------------------------------------------------------------
    guest_access: GuestAccess = "open"
    #: ``id:secret`` pairs, comma-separated (guest_access=key).
    storefront_keys: SecretStr = SecretStr("")
    #: The Medusa server's JWT secret (guest_access=medusa-token).
    medusa_jwt_secret: SecretStr = SecretStr("")
    #: Proxies whose X-Forwarded-For is believed: comma-separated addresses or CIDR blocks.
    trusted_proxies: str = ""
    #: Guest calls per client address and method in one window; 0 turns the limit off.
    rate_limit: int = Field(default=120, ge=0, le=1_000_000)
    rate_limit_window: int = Field(default=60, ge=1, le=86_400)
    #: Failed authentications (bad API key or secret) per client address in one window before a 429; 0: off.
    auth_failure_limit: int = Field(default=20, ge=0, le=1_000_000)
    #: Browser origins allowed to call the service from another site: ``*`` or a comma-separated list. Unsafe
    #: requests (POST, PUT, DELETE, PATCH) from any other site are refused.
    allow_cors: str = ""
    #: Host names the service answers for (the Host header, without its port): comma-separated, or ``*`` for any.
    #: Empty: the loopback names only (localhost, 127.0.0.1, [::1]).
    allowed_hosts: str = ""
    #: Counters shared by every process (redis://host:port/db); unset: each process counts alone.
    redis_url: str = Field(default="", repr=False)
    redis_prefix: str = Field(default="erpnext_medusa", pattern=r"^[A-Za-z0-9:._-]{1,64}$")

    #: Calls per storefront key id in one window (key mode, a valid X-Storefront-Key); 0: unlimited.
    storefront_rate_limit: int = Field(default=0, ge=0, le=10_000_000)

    # --- where the documents live -------------------------------------------------------------------------------
    #: ``standalone``: in the service's own database, in ERPNext's table layout; ``erpnext``: on a live ERPNext
    #: site, written only through its REST API, with a search mirror in the service's own database.
    backend: Literal["standalone", "erpnext"] = "standalone"
    #: The live site (backend=erpnext): its URL, and an API user's key and secret.
    erpnext_url: str = ""
    erpnext_api_key: str = Field(default="", repr=False)
    erpnext_api_secret: SecretStr = SecretStr("")
    #: The Host header to send, for a bench that serves several sites on one address; empty: the URL's host.
    erpnext_host: str = ""
    #: Seconds one call to the site may take before it counts as failed (and, where safe, is tried again).
    erpnext_timeout: float = Field(default=10.0, ge=0.5, le=120)
    #: Seconds between reconciliation passes (what changed since the last one, and what was deleted).
    erpnext_sync_interval: int = Field(default=60, ge=5, le=86_400)
    #: Seconds between full passes, which compare the mirror with the site document by document (renames,
    #: missed webhooks, edits made by SQL on the site).
    erpnext_full_sync_interval: int = Field(default=3_600, ge=60, le=604_800)
    #: The secret the site's Webhooks sign with; empty: derived from the API secret (``erpnext setup`` writes
    #: the same value into the Webhooks it creates).
    erpnext_webhook_secret: SecretStr = SecretStr("")
    #: Seconds an ERPNext API key or login the site accepted is believed without asking the site again.
    erpnext_auth_cache_seconds: int = Field(default=60, ge=0, le=3_600)
    #: The site's name of the Medusa ID field on Customer and Lead (``custom_medusa_id`` when it was added in
    #: Customize Form on Frappe v15; ``erpnext check`` says which one the site has).
    erpnext_medusa_id_field: str = Field(default="medusa_id", pattern=r"^[a-z][a-z0-9_]{0,139}$")
    #: The service's own public URL (https://shop-sync.example.com), for the Webhooks the site calls.
    public_url: str = ""

    # --- ERPNext -> Medusa (the outbox; docs/medusa-sync.md) ----------------------------------------------------
    #: The Medusa server's URL (http://localhost:9000); empty: a linked Customer's changes are not sent.
    medusa_url: str = ""
    #: A secret API key of a Medusa admin user (sk_..., Settings > Secret API Keys).
    medusa_api_key: SecretStr = SecretStr("")
    #: The fields ERPNext owns and sends to Medusa (comma-separated, of first_name, last_name, email, phone,
    #: billing_address); the others are Medusa's own and are never sent.
    medusa_erpnext_fields: str = "first_name,last_name,email,phone,billing_address"
    #: Seconds a call to Medusa's admin API may take.
    medusa_timeout: float = Field(default=10.0, ge=0.5, le=120)
    #: Deliveries of one change before it is dead-lettered.
    outbox_max_attempts: int = Field(default=8, ge=1, le=100)

    # --- ERPNext's users, logins and sessions -------------------------------------------------------------------
    #: The ERPNext site's ``encryption_key`` (site_config.json): decrypts the API secrets ERPNext keeps in __Auth.
    encryption_key: SecretStr = SecretStr("")
    #: Frappe's session_expiry, ``hours:minutes``: a session unused this long ends.
    session_expiry: str = "170:00"
    #: Roles (comma-separated) an ERPNext user needs to call link_medusa_lead (Administrator always may).
    link_roles: str = "System Manager,Sales Manager,Sales Master Manager,Sales User"
    #: Consecutive failed logins that lock an account; 0: never lock.
    login_max_failures: int = Field(default=5, ge=0, le=1_000)
    #: How long a locked account stays locked, in seconds (Frappe's allow_login_after_fail).
    login_lock_seconds: int = Field(default=60, ge=1, le=86_400)
    #: Login attempts per user, and per client address, in one rate-limit window; 0: off.
    login_rate_limit: int = Field(default=30, ge=0, le=1_000_000)

    # --- signup intake (POST /webhooks/medusa/customer) ---------------------------------------------------
    #: The secret the Medusa server signs its customer webhooks with (at least 32 bytes); unset: no webhook route.
    webhook_secret: SecretStr = SecretStr("")
    #: The ``source`` of Leads the intake creates (a Lead Source's name); unset leaves it empty.
    lead_source: str = Field(default="", max_length=140)

    # --- input limits --------------------------------------------------------------------------------------
    max_body_bytes: int = Field(default=65_536, ge=1_024, le=16_777_216)
    #: Request headers: total bytes and number of fields (431 beyond either).
    max_header_bytes: int = Field(default=16_384, ge=1_024, le=1_048_576)
    max_headers: int = Field(default=100, ge=10, le=1_000)
    #: Seconds a request head may take to arrive (from the connection's start, or from the first byte of a later
    #: request on it); past it the answer is 408 and the connection is closed.
    request_head_timeout: float = Field(default=10.0, ge=0.5, le=300)
    #: Bytes per second a request body must arrive at, at least, over each span of request_head_timeout (408 and
    #: the connection closed otherwise).
    request_body_min_rate: int = Field(default=512, ge=1, le=10_000_000)
    #: Connections one process holds open at once; a request beyond them is answered 503.
    max_connections: int = Field(default=1_000, ge=10, le=100_000)
    #: Longest text argument (characters); update_address fields are bounded by their columns as well.
    max_text_length: int = Field(default=1_000, ge=140, le=100_000)
    #: Most words a fetch_all_customers ``name`` may have.
    max_search_words: int = Field(default=10, ge=1, le=100)

    # --- audit trail --------------------------------------------------------------------------------------------
    #: Audit rows older than this many days are deleted; unset keeps them forever.
    audit_retention_days: int | None = Field(default=None, ge=1, le=36_500)

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"critical", "error", "warning", "info", "debug"}:
            raise SettingsError(f"{value!r} is not one of critical, error, warning, info, debug")
        return value

    @field_validator("encryption_key")
    @classmethod
    def _check_encryption_key(cls, value: SecretStr) -> SecretStr:
        if key := value.get_secret_value():
            try:
                raw = base64.urlsafe_b64decode(key.encode("ascii"))
            except (ValueError, UnicodeEncodeError):
                raw = b""
            if len(raw) != 32:
                raise SettingsError("not a Fernet key (32 url-safe base64 bytes): copy the site's encryption_key")
        return value

    @field_validator("session_expiry")
    @classmethod
    def _check_session_expiry(cls, value: str) -> str:
        if not _EXPIRY.fullmatch(value.strip()) or parse_expiry(value) <= timedelta(0):
            raise SettingsError(f"{value!r} is not hours:minutes (e.g. 170:00) longer than zero")
        return value.strip()

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError("use redis://host:port/db, rediss://... or unix:///path")
        return value

    # Each structured value is checked by the function that parses it; the typed value is read from the
    # properties below, which parse it again (once: they are cached).
    @field_validator("database_url", "read_database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value:
            parse_database_url(value)
        return value

    @field_validator(*_STRUCTURED)
    @classmethod
    def _check_structured(cls, value: str | SecretStr, info: ValidationInfo) -> str | SecretStr:
        _STRUCTURED[str(info.field_name)](value.get_secret_value() if isinstance(value, SecretStr) else value)
        return value

    @field_validator("erpnext_url", "public_url", "medusa_url")
    @classmethod
    def _check_http_url(cls, value: str) -> str:
        if value and not _HTTP_URL.fullmatch(value):
            raise SettingsError("not an http:// or https:// URL")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() and len(value.get_secret_value().encode()) < MIN_WEBHOOK_SECRET_BYTES:
            raise SettingsError(
                f"{variable('webhook_secret')} must be at least {MIN_WEBHOOK_SECRET_BYTES} bytes (the same value as "
                "the Medusa server's), or unset to turn the webhook off"
            )
        return value

    @field_validator("lead_source")
    @classmethod
    def _check_lead_source(cls, value: str) -> str:
        if value != value.strip() or "\x00" in value:
            raise SettingsError("a Lead Source name has no leading or trailing spaces and no NUL")
        return value

    @field_validator("medusa_erpnext_fields")
    @classmethod
    def _check_medusa_fields(cls, value: str) -> str:
        unknown = [n for n in _names(value) if n not in MEDUSA_FIELDS]
        if unknown:
            raise SettingsError(f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(MEDUSA_FIELDS)}")
        return value

    @model_validator(mode="after")
    def _parse_once(self) -> Settings:
        """The typed values are built with the settings, so that nothing parses them while serving."""
        for name in ("url", "read_url", "zone", "storefront_key_pairs", "trusted_networks", "host_names"):
            getattr(self, name)
        return self

    @model_validator(mode="after")
    def _replica_follows_primary(self) -> Settings:
        """A read replica replicates the primary: PostgreSQL or MariaDB, the same backend."""
        if self.read_url is not None:
            _check_replica(self.url, self.read_url)
        return self

    @model_validator(mode="after")
    def _check_guest_secrets(self) -> Settings:
        """Each guest access mode has the secret it checks callers with."""
        if self.guest_access == "key" and not self.storefront_key_map:
            raise SettingsError(
                f"guest_access=key needs {variable('storefront_keys')} (id:secret,...)", "storefront_keys"
            )
        if (
            self.guest_access == "medusa-token"
            and len(self.medusa_jwt_secret.get_secret_value().encode()) < MIN_JWT_SECRET_BYTES
        ):
            raise SettingsError(
                f"guest_access=medusa-token needs {variable('medusa_jwt_secret')} (at least {MIN_JWT_SECRET_BYTES} "
                "bytes, the Medusa server's JWT_SECRET)",
                "medusa_jwt_secret",
            )
        return self

    @model_validator(mode="after")
    def _check_site(self) -> Settings:
        """backend=erpnext needs the site's URL and an API user's key and secret."""
        if self.backend == "erpnext":
            given = {
                "erpnext_url": self.erpnext_url,
                "erpnext_api_key": self.erpnext_api_key,
                "erpnext_api_secret": self.erpnext_api_secret.get_secret_value(),
            }
            for name, value in given.items():
                if not value:
                    raise SettingsError(f"backend=erpnext needs {variable(name)}", name)
        return self

    @model_validator(mode="after")
    def _check_metrics_token(self) -> Settings:
        if self.metrics == "token" and len(self.metrics_token.get_secret_value()) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"metrics=token needs {variable('metrics_token')} (at least {MIN_SECRET_LENGTH} characters)",
                "metrics_token",
            )
        return self

    @model_validator(mode="after")
    def _check_medusa_key(self) -> Settings:
        if self.medusa_url and not self.medusa_api_key.get_secret_value():
            raise SettingsError(f"{variable('medusa_url')} needs {variable('medusa_api_key')}", "medusa_api_key")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def metrics_on(self) -> bool:
        """Whether figures are counted and /metrics is served (``metrics`` is ``open`` or ``token``)."""
        return self.metrics != "off"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def intake_on(self) -> bool:
        """Whether the signed Medusa customer webhook is served (``webhook_secret`` is set)."""
        return bool(self.webhook_secret.get_secret_value())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hosts_set(self) -> bool:
        """Whether ``allowed_hosts`` was given (rather than left to the loopback names)."""
        return bool(self.allowed_hosts.strip())

    @cached_property
    def medusa_fields(self) -> frozenset[str]:
        """The fields ERPNext owns (sent to Medusa)."""
        return frozenset(_names(self.medusa_erpnext_fields))

    @cached_property
    def url(self) -> URL:
        return parse_database_url(self.database_url)

    @cached_property
    def read_url(self) -> URL | None:
        """The read replica's URL, when one is set."""
        return parse_database_url(self.read_database_url) if self.read_database_url else None

    @cached_property
    def zone(self) -> ZoneInfo:
        return parse_time_zone(self.time_zone)

    @cached_property
    def storefront_key_pairs(self) -> tuple[tuple[str, str], ...]:
        """The storefront keys, ``(id, secret)`` in the order given."""
        return tuple(parse_storefront_keys(self.storefront_keys.get_secret_value()).items())

    @property
    def storefront_key_map(self) -> dict[str, str]:
        """The storefront keys by id (a copy)."""
        return dict(self.storefront_key_pairs)

    @cached_property
    def trusted_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    @cached_property
    def host_names(self) -> frozenset[str] | None:
        """The Host names answered (lower case, without a port); None: any."""
        return parse_hosts(self.allowed_hosts)

    @property
    def session_lifetime(self) -> timedelta:
        return parse_expiry(self.session_expiry)

    @cached_property
    def link_role_set(self) -> frozenset[str]:
        return frozenset(_names(self.link_roles))

    def secrets(self) -> list[str]:
        """Every secret the settings hold, so that log lines can be scrubbed of them: the value of each
        secret-typed field (each storefront key's secret on its own too) and the passwords in the URLs."""
        typed = [name for name, f in type(self).model_fields.items() if f.annotation is SecretStr]
        found = [getattr(self, name).get_secret_value() for name in typed if name != "storefront_keys"]
        found += [secret for _, secret in self.storefront_key_pairs]  # each on its own, not the id:secret list
        found += [url.password or "" for url in (self.url, self.read_url) if url is not None]
        if self.redis_url:
            found.append(make_url_password(self.redis_url) or "")
        return [str(secret) for secret in found if secret]


def _names(value: str) -> list[str]:
    """The entries of a comma-separated list, stripped, empty ones left out."""
    return [part.strip() for part in value.split(",") if part.strip()]


_HTTP_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")


_EXPIRY = re.compile(r"[0-9]{1,5}:[0-5][0-9](:[0-5][0-9])?")


def parse_expiry(value: str) -> timedelta:
    """Frappe's ``hours:minutes[:seconds]``."""
    parts = [int(part) for part in value.strip().split(":")]
    return timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2] if len(parts) > 2 else 0)


def make_url_password(url: str) -> str | None:
    """The password in a redis:// style URL, if any."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def problems(exc: ValidationError) -> list[str]:
    """The settings errors, one line each, each naming its environment variable."""
    lines = []
    for error in exc.errors():
        cause = error.get("ctx", {}).get("error")
        setting = getattr(cause, "setting", None) or "_".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{variable(setting)}: {message}" if setting else message)
    return lines


def load_settings(**values: Any) -> Settings:
    """The settings from the environment and ``.env`` (``values`` override them); a bad value is a
    :class:`SettingsError` whose message names the variable."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError("; ".join(problems(exc))) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()


def environment(env_file: str | Path = ENV_FILE) -> dict[str, str | None]:
    """The variables the settings are read from: the ``.env`` file's entries, overridden by the process's own."""
    path = Path(env_file)
    from_file = dotenv_values(path) if path.is_file() else {}
    return {**from_file, **os.environ}


def unknown_variables(environ: Mapping[str, object]) -> list[str]:
    """A warning for each ``ERPNEXT_MEDUSA_*`` variable that is not a setting (a misspelt one is otherwise
    silently ignored), naming the closest setting. The test suite's and benchmarks' own variables are not."""
    settings = [name.upper() for name in Settings.model_fields]
    warnings = []
    for name in sorted(environ):
        key = name.upper()
        if not key.startswith(ENV_PREFIX) or key.startswith(_TOOL_PREFIXES):
            continue
        setting = key.removeprefix(ENV_PREFIX)
        if setting in settings:
            continue
        close = difflib.get_close_matches(setting, settings, n=1)
        hint = f"; did you mean {ENV_PREFIX}{close[0]}?" if close else " (docs/configuration.md lists them)"
        warnings.append(f"{name} is not a setting{hint}")
    return warnings
