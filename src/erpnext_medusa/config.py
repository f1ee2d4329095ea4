"""Settings: environment variables prefixed ``ERPNEXT_MEDUSA_`` (and an optional ``.env``), validated at start-up."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///erpnext-medusa.db"

#: SQLAlchemy drivers we test and support, by backend name.
SUPPORTED_DRIVERS = {
    "sqlite": {"pysqlite"},
    "postgresql": {"psycopg"},
    "mysql": {"pymysql"},
    "mariadb": {"pymysql"},
}


class SettingsError(ValueError):
    """A setting that the service refuses to start with."""


def parse_database_url(value: str) -> URL:
    """Parse and check a SQLAlchemy URL; name the problem when it is not one we can serve."""
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise SettingsError("not a valid SQLAlchemy URL (dialect+driver://user:password@host/database)") from exc
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
    return url


_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")
#: Storefront keys must be at least this long (they guard guest writes).
MIN_SECRET_LENGTH = 16
#: An HS256 key should have at least 256 bits (RFC 7518, 3.2).
MIN_JWT_SECRET_BYTES = 32
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


def parse_networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses or CIDR blocks."""
    networks = []
    for entry in (part.strip() for part in value.split(",")):
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError as exc:
                raise SettingsError(f"{entry!r} is not an IP address or CIDR block") from exc
    return tuple(networks)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ERPNEXT_MEDUSA_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(default=DEFAULT_DATABASE_URL, description="SQLAlchemy URL of the ERPNext tables")
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

    # --- guest endpoints ---------------------------------------------------------------------------------
    guest_access: GuestAccess = "open"
    #: ``id:secret`` pairs, comma-separated (guest_access=key).
    storefront_keys: str = Field(default="", repr=False)
    #: The Medusa server's JWT secret (guest_access=medusa-token).
    medusa_jwt_secret: str = Field(default="", repr=False)
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
    #: Counters shared by every process (redis://host:port/db); unset: each process counts alone.
    redis_url: str = Field(default="", repr=False)
    redis_prefix: str = Field(default="erpnext_medusa", pattern=r"^[A-Za-z0-9:._-]{1,64}$")

    # --- input limits --------------------------------------------------------------------------------------
    max_body_bytes: int = Field(default=65_536, ge=1_024, le=16_777_216)
    #: Request headers: total bytes and number of fields (431 beyond either).
    max_header_bytes: int = Field(default=16_384, ge=1_024, le=1_048_576)
    max_headers: int = Field(default=100, ge=10, le=1_000)
    #: Longest text argument (characters); update_address fields are bounded by their columns as well.
    max_text_length: int = Field(default=1_000, ge=140, le=100_000)
    #: Most words a fetch_all_customers ``name`` may have.
    max_search_words: int = Field(default=10, ge=1, le=100)

    # --- audit trail --------------------------------------------------------------------------------------------
    #: Audit rows older than this many days are deleted; unset keeps them forever.
    audit_retention_days: int | None = Field(default=None, ge=1, le=36_500)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        parse_database_url(value)
        return value

    @field_validator("time_zone")
    @classmethod
    def _check_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(f"{value!r} is not an IANA time zone name") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"critical", "error", "warning", "info", "debug"}:
            raise SettingsError(f"{value!r} is not one of critical, error, warning, info, debug")
        return value

    @field_validator("storefront_keys")
    @classmethod
    def _check_storefront_keys(cls, value: str) -> str:
        parse_storefront_keys(value)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError("use redis://host:port/db, rediss://... or unix:///path")
        return value

    @model_validator(mode="after")
    def _check_guest_access(self) -> Settings:
        if self.guest_access == "key" and not self.storefront_key_map:
            raise SettingsError("guest_access=key needs ERPNEXT_MEDUSA_STOREFRONT_KEYS (id:secret,...)")
        if self.guest_access == "medusa-token" and len(self.medusa_jwt_secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise SettingsError(
                f"guest_access=medusa-token needs ERPNEXT_MEDUSA_MEDUSA_JWT_SECRET (at least {MIN_JWT_SECRET_BYTES} "
                "bytes, the Medusa server's JWT_SECRET)"
            )
        return self

    @property
    def storefront_key_map(self) -> dict[str, str]:
        return parse_storefront_keys(self.storefront_keys)

    @property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return parse_networks(self.trusted_proxies)

    def secrets(self) -> list[str]:
        """Every secret the settings hold, so that log lines can be scrubbed of them."""
        values = [*self.storefront_key_map.values(), self.medusa_jwt_secret]
        password = self.url.password
        if password:
            values.append(str(password))
        if self.redis_url:
            redis_password = make_url_password(self.redis_url)
            if redis_password:
                values.append(redis_password)
        return [v for v in values if v]

    @property
    def url(self) -> URL:
        return parse_database_url(self.database_url)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def make_url_password(url: str) -> str | None:
    """The password in a redis:// style URL, if any."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None


@lru_cache
def get_settings() -> Settings:
    return Settings()
