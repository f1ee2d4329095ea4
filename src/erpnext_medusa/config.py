"""Settings: environment variables prefixed ``ERPNEXT_MEDUSA_`` (and an optional ``.env``), validated at start-up."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
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
    log_level: str = "info"

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

    @property
    def url(self) -> URL:
        return parse_database_url(self.database_url)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@lru_cache
def get_settings() -> Settings:
    return Settings()
