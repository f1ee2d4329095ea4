"""Settings: parsed once into typed values, every error naming its variable, unknown variables warned of."""

from __future__ import annotations

import ipaddress
import logging
import os
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from erpnext_medusa import config
from erpnext_medusa.config import Settings, SettingsError, environment, get_settings, load_settings, unknown_variables
from erpnext_medusa.web.app import create_app, create_served_app

KEY = "0123456789abcdef-web"
JWT = "j" * 32


@pytest.fixture(autouse=True)
def clean_environment(tmp_path, monkeypatch):
    """No ERPNEXT_MEDUSA_* variable of the developer's and no .env; a SQLite file in a folder of its own."""
    for name in list(os.environ):
        if name.upper().startswith("ERPNEXT_MEDUSA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ERPNEXT_MEDUSA_DATABASE_URL", f"sqlite:///{tmp_path / 'config.db'}")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# --- parsed once ---------------------------------------------------------------------------------------------


def test_structured_values_are_typed_and_parsed_when_the_settings_are_built(monkeypatch):
    settings = Settings(
        database_url="postgresql+psycopg://app:db-password@db.example:6432/erp",
        time_zone="Asia/Dubai",
        guest_access="key",
        storefront_keys=f"web:{KEY}, app:{KEY}-app",
        trusted_proxies="10.0.0.0/8, ::1",
        redis_url="redis://:redis-password@cache:6379/0",
    )
    # From here on nothing parses: the parsers may as well be gone.
    for parser in ("parse_database_url", "parse_time_zone", "parse_storefront_keys", "parse_networks", "make_url"):
        monkeypatch.setattr(config, parser, lambda *_: pytest.fail("parsed again"))
    assert (settings.url.host, settings.url.port, settings.url.database) == ("db.example", 6432, "erp")
    assert settings.zone == ZoneInfo("Asia/Dubai")
    assert settings.storefront_key_map == {"web": KEY, "app": f"{KEY}-app"}
    assert settings.trusted_networks == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1"))
    assert sorted(settings.secrets()) == sorted([KEY, f"{KEY}-app", "db-password", "redis-password"])
    assert settings.trusted_networks is settings.trusted_networks


def test_the_typed_values_cannot_be_changed_through_their_accessors():
    settings = Settings(guest_access="key", storefront_keys=f"web:{KEY}")
    settings.storefront_key_map["evil"] = KEY
    settings.secrets().append("x")
    assert settings.storefront_key_map == {"web": KEY}
    assert settings.secrets() == [KEY]


@pytest.mark.parametrize(
    "written",
    ["postgres://app@db.example/erp", "postgresql://app@db.example/erp", "postgres+psycopg://app@db.example/erp"],
)
def test_postgres_urls_are_served_by_psycopg(written):
    url = Settings(database_url=written).url
    assert (url.get_backend_name(), url.get_driver_name(), url.database) == ("postgresql", "psycopg", "erp")


def test_a_mariadb_url_without_a_driver_gets_pymysql():
    assert Settings(database_url="mariadb://app@db.example/erp").url.drivername == "mariadb+pymysql"


def test_a_sqlite_url_in_the_working_directory_is_accepted():
    assert Settings(database_url="sqlite:///relative.db").url.database == "relative.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://erpnext.db", "a SQLite URL has three slashes before a relative path (sqlite:///erpnext.db)"),
        ("sqlite://data/erpnext.db", "(sqlite:///data/erpnext.db) and four before an absolute one"),
        ("sqlite://", "an in-memory SQLite database is gone when its connection closes: name a file"),
        ("sqlite:///:memory:", "an in-memory SQLite database is gone when its connection closes: name a file"),
    ],
)
def test_a_sqlite_url_that_names_no_file_is_one_line_naming_the_fix(url, message):
    with pytest.raises(SettingsError) as caught:
        load_settings(database_url=url)
    assert str(caught.value).startswith("ERPNEXT_MEDUSA_DATABASE_URL: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


# --- errors name the variable --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"guest_access": "key"},
            "ERPNEXT_MEDUSA_STOREFRONT_KEYS: guest_access=key needs ERPNEXT_MEDUSA_STOREFRONT_KEYS",
        ),
        ({"guest_access": "medusa-token"}, "ERPNEXT_MEDUSA_MEDUSA_JWT_SECRET: guest_access=medusa-token needs"),
        ({"storefront_keys": "no-secret-here"}, "ERPNEXT_MEDUSA_STOREFRONT_KEYS: each storefront key is written"),
        ({"trusted_proxies": "10.0.0.0/33"}, "ERPNEXT_MEDUSA_TRUSTED_PROXIES: '10.0.0.0/33' is not an IP address"),
        ({"time_zone": "Mars/Olympus"}, "ERPNEXT_MEDUSA_TIME_ZONE: 'Mars/Olympus' is not an IANA time zone name"),
        ({"database_url": "nosuchdb://x"}, "ERPNEXT_MEDUSA_DATABASE_URL: backend 'nosuchdb' is not supported"),
        ({"database_url": "postgresql://u:pw@h:99999/db"}, "ERPNEXT_MEDUSA_DATABASE_URL: port '99999' is not valid"),
        ({"database_url": "postgresql://u:pw@h:0/db"}, "ERPNEXT_MEDUSA_DATABASE_URL: port '0' is not valid"),
        ({"database_url": "postgresql://u:p/w@h:abc/db"}, "ERPNEXT_MEDUSA_DATABASE_URL: port 'abc' is not valid"),
        ({"database_url": "mariadb://u@[::1]:7x/db"}, "ERPNEXT_MEDUSA_DATABASE_URL: port '7x' is not valid"),
        ({"fetch_max_results": "many"}, "ERPNEXT_MEDUSA_FETCH_MAX_RESULTS: Input should be a valid integer"),
        ({"log_level": "loud"}, "ERPNEXT_MEDUSA_LOG_LEVEL: 'loud' is not one of"),
        (
            {"webhook_secret": "x" * 31},
            "ERPNEXT_MEDUSA_WEBHOOK_SECRET: ERPNEXT_MEDUSA_WEBHOOK_SECRET must be at least 32",
        ),
        (
            {"webhook_secret": "é" * 15},
            "ERPNEXT_MEDUSA_WEBHOOK_SECRET: ERPNEXT_MEDUSA_WEBHOOK_SECRET must be at least 32",
        ),
        ({"lead_source": "x" * 141}, "ERPNEXT_MEDUSA_LEAD_SOURCE: String should have at most 140 characters"),
        ({"lead_source": " Medusa"}, "ERPNEXT_MEDUSA_LEAD_SOURCE: a Lead Source name has no leading or trailing"),
    ],
)
def test_each_error_names_its_environment_variable(values, message):
    with pytest.raises(SettingsError) as caught:
        load_settings(**values)
    assert str(caught.value).startswith(message)
    assert "pw" not in str(caught.value)


def test_two_bad_values_are_both_named():
    with pytest.raises(SettingsError) as caught:
        load_settings(pool_size=0, rate_limit=-1)
    assert str(caught.value).startswith("ERPNEXT_MEDUSA_POOL_SIZE: ")
    assert "; ERPNEXT_MEDUSA_RATE_LIMIT: " in str(caught.value)


def test_a_bad_value_from_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("ERPNEXT_MEDUSA_GUEST_ACCESS", "key")
    with pytest.raises(SettingsError, match=r"^ERPNEXT_MEDUSA_STOREFRONT_KEYS: guest_access=key needs"):
        get_settings()


def test_the_directory_of_a_sqlite_file_must_exist_and_is_not_created(tmp_path):
    missing = tmp_path / "data" / "shop"
    with pytest.raises(SettingsError) as caught:
        load_settings(database_url=f"sqlite:///{missing}/erpnext-medusa.db")
    assert str(caught.value) == (
        f"ERPNEXT_MEDUSA_DATABASE_URL: the directory {missing} does not exist; create it or choose another path"
    )
    assert not (tmp_path / "data").exists()


# --- unknown variables -------------------------------------------------------------------------------------------


def test_unknown_variables_name_the_closest_setting():
    environ = {
        "ERPNEXT_MEDUSA_GUEST_ACCES": "key",
        "erpnext_medusa_trusted_proxy": "10.0.0.1",
        "ERPNEXT_MEDUSA_FETCH_MAX": "10",
        "ERPNEXT_MEDUSA_COLOUR": "blue",
        "ERPNEXT_MEDUSA_GUEST_ACCESS": "open",
        "erpnext_medusa_log_level": "debug",
        "ERPNEXT_MEDUSA_TEST_BACKENDS": "sqlite",
        "ERPNEXT_MEDUSA_TEST_POSTGRES_URL": "postgresql://x/y",
        "ERPNEXT_MEDUSA_BENCH_MARIADB_URL": "mariadb://x/y",
        "PATH": "/usr/bin",
        "MEDUSA_GUEST_ACCESS": "key",
    }
    assert unknown_variables(environ) == [
        "ERPNEXT_MEDUSA_COLOUR is not a setting (docs/configuration.md lists them)",
        "ERPNEXT_MEDUSA_FETCH_MAX is not a setting; did you mean ERPNEXT_MEDUSA_FETCH_MAX_RESULTS?",
        "ERPNEXT_MEDUSA_GUEST_ACCES is not a setting; did you mean ERPNEXT_MEDUSA_GUEST_ACCESS?",
        "erpnext_medusa_trusted_proxy is not a setting; did you mean ERPNEXT_MEDUSA_TRUSTED_PROXIES?",
    ]


def test_every_setting_is_known():
    assert unknown_variables({f"ERPNEXT_MEDUSA_{name.upper()}": "" for name in Settings.model_fields}) == []


def test_environment_is_the_dot_env_file_overridden_by_the_process(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("ERPNEXT_MEDUSA_LOG_LEVL=debug\nERPNEXT_MEDUSA_POOL_SIZE=3\n")
    monkeypatch.setenv("ERPNEXT_MEDUSA_POOL_SIZE", "4")
    env = environment()
    assert (env["ERPNEXT_MEDUSA_LOG_LEVL"], env["ERPNEXT_MEDUSA_POOL_SIZE"]) == ("debug", "4")
    assert unknown_variables(env) == [
        "ERPNEXT_MEDUSA_LOG_LEVL is not a setting; did you mean ERPNEXT_MEDUSA_LOG_LEVEL?"
    ]


def test_an_app_built_from_the_environment_logs_unknown_variables(monkeypatch, caplog):
    monkeypatch.setenv("ERPNEXT_MEDUSA_RATE_LIMT", "5")
    with caplog.at_level(logging.WARNING, logger="erpnext_medusa"):
        create_app()
    warning = "ERPNEXT_MEDUSA_RATE_LIMT is not a setting; did you mean ERPNEXT_MEDUSA_RATE_LIMIT?"
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [warning]

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="erpnext_medusa"):
        create_app(get_settings())  # settings given: whoever built them has reported the environment
        create_served_app()  # the factory behind `erpnext-medusa serve`, which prints the warning itself
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == []


def test_the_webhook_secret_is_a_secret_the_logs_scrub_and_32_bytes_suffice():
    settings = load_settings(webhook_secret="w" * 32, lead_source="Medusa Storefront")
    assert "w" * 32 in settings.secrets()
    assert "w" * 32 not in repr(settings)
    assert settings.lead_source == "Medusa Storefront"
    assert load_settings(webhook_secret="é" * 16).webhook_secret.get_secret_value() == "é" * 16  # 32 bytes in UTF-8
    assert not load_settings().intake_on  # unset: the webhook is off


# --- a read replica ----------------------------------------------------------------------------------------------


def test_a_read_replica_of_the_same_backend_is_parsed_and_its_password_is_a_secret():
    settings = Settings(
        database_url="postgresql://app:primary-pw@db1.example/erp",
        read_database_url="postgres://app:replica-pw@db2.example:5433/erp",
    )
    assert settings.read_url is not None
    replica = settings.read_url
    assert (replica.get_backend_name(), replica.get_driver_name(), replica.host, replica.port) == (
        "postgresql", "psycopg", "db2.example", 5433,
    )  # fmt: skip
    assert sorted(settings.secrets()) == ["primary-pw", "replica-pw"]
    assert "replica-pw" not in repr(settings)
    mariadb = Settings(database_url="mariadb://app@db1/erp", read_database_url="mysql://app@db2/erp")
    assert mariadb.read_url is not None and mariadb.read_url.drivername == "mysql+pymysql"


def test_without_a_read_replica_there_is_none():
    assert Settings(database_url="postgresql://app@db1/erp").read_url is None


@pytest.mark.parametrize(
    ("primary", "replica", "message"),
    [
        (
            "postgresql://app@db1/erp",
            "mariadb://app:pw@db2/erp",
            "ERPNEXT_MEDUSA_READ_DATABASE_URL: the read replica must use the same backend as "
            "ERPNEXT_MEDUSA_DATABASE_URL (postgresql), not mariadb",
        ),
        ("sqlite:///x.db", "sqlite:///y.db", "ERPNEXT_MEDUSA_READ_DATABASE_URL: a read replica must be PostgreSQL"),
        ("postgresql://app@db1/erp", "postgresql://u:pw@h:99999/db", "ERPNEXT_MEDUSA_READ_DATABASE_URL: port '99999'"),
        ("postgresql://app@db1/erp", "postgresql://u:pw@h", "ERPNEXT_MEDUSA_READ_DATABASE_URL: the URL must name a"),
        ("postgresql://app@db1/erp", "nosuchdb://x", "ERPNEXT_MEDUSA_READ_DATABASE_URL: backend 'nosuchdb'"),
    ],
    ids=["other backend", "sqlite", "bad port", "no database", "unknown backend"],
)
def test_a_bad_read_replica_is_refused_naming_its_variable(primary, replica, message):
    with pytest.raises(SettingsError) as caught:
        load_settings(database_url=primary, read_database_url=replica)
    assert str(caught.value).startswith(message)
    assert "pw" not in str(caught.value)


def test_the_read_replicas_password_is_scrubbed_from_log_lines():
    from erpnext_medusa import logs

    settings = Settings(
        database_url="postgresql://app@db1/erp", read_database_url="postgresql://app:Rep1ica-S3cret@db2/erp"
    )
    logs.add_secrets(settings.secrets())
    assert "Rep1ica-S3cret" not in logs.redact("connecting to postgresql://app:Rep1ica-S3cret@db2/erp failed")


@pytest.mark.parametrize(("value", "on"), [("off", False), ("open", True), ("token", True)])
def test_metrics_on_follows_the_metrics_mode(value, on):
    extra = {"metrics_token": "t" * 32} if value == "token" else {}
    assert Settings(metrics=value, **extra).metrics_on is on


def test_every_secret_typed_setting_is_scrubbed_and_hidden_from_repr():
    secret_fields = [name for name, f in Settings.model_fields.items() if f.annotation is SecretStr]
    assert {"medusa_api_key", "erpnext_api_secret", "webhook_secret", "metrics_token"} <= set(secret_fields)
    values = {name: f"{name}-{'s' * 40}" for name in secret_fields if name not in ("storefront_keys", "encryption_key")}
    settings = Settings(**values)
    assert set(values.values()) <= set(settings.secrets())
    assert not any(value in repr(settings) or value in str(settings.model_dump()) for value in values.values())
