"""The ``erpnext-medusa`` command line, on a SQLite file (the CLI's own engine, not the ``services`` fixture)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from erpnext_medusa.cli import app
from tests.helpers import free_port

runner = CliRunner()

HELP_COMMANDS = [
    [],
    ["serve"],
    ["db"],
    ["db", "upgrade"],
    ["import"],
    ["demo"],
    ["api-key"],
    ["api-key", "create"],
    ["api-key", "list"],
    ["api-key", "revoke"],
    ["audit"],
    ["audit", "prune"],
]


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("ERPNEXT_MEDUSA_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)  # no stray .env or default database file from the repository
    return path


def invoke(*args: str):
    return runner.invoke(app, list(args))


def flat(text: str) -> str:
    """Rich wraps long lines; compare on whitespace-normalised text."""
    return " ".join(text.split())


def query(path: Path, sql: str, *params: object) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def count(path: Path, table: str) -> int:
    return query(path, f'SELECT COUNT(*) FROM "{table}"')[0][0]


def assert_clean_exit(result) -> None:
    assert result.exit_code == 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def assert_clean_failure(result) -> None:
    assert result.exit_code != 0, result.output
    # A handled failure ends in SystemExit; anything else is an uncaught exception (a traceback).
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


# --- help --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_of_every_command(db_file, command):
    result = invoke(*command, "--help")
    assert_clean_exit(result)
    assert "Usage" in result.output
    assert not db_file.exists(), "--help must not touch the database"


def test_python_dash_m_help():
    proc = subprocess.run(
        [sys.executable, "-m", "erpnext_medusa", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout
    for command in ("serve", "db", "import", "demo", "api-key"):
        assert command in proc.stdout


# --- db upgrade --------------------------------------------------------------------------------------------


def test_db_upgrade_creates_tables_and_can_run_twice(db_file):
    assert_clean_exit(invoke("db", "upgrade"))
    tables = {r[0] for r in query(db_file, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"tabCustomer", "tabLead", "tabAddress", "tabDynamic Link", "tabCountry"} <= tables
    assert any(t.startswith("erpnext_medusa_") for t in tables)
    columns = {r[1] for r in query(db_file, 'PRAGMA table_info("tabCustomer")')}
    assert {"name", "customer_name", "medusa_id", "lead_name", "modified", "modified_by"} <= columns
    countries = count(db_file, "tabCountry")
    assert countries > 200

    again = invoke("db", "upgrade")
    assert_clean_exit(again)
    assert {r[0] for r in query(db_file, "SELECT name FROM sqlite_master WHERE type = 'table'")} == tables
    assert count(db_file, "tabCountry") == countries


# --- demo --------------------------------------------------------------------------------------------------


def test_demo_loads_then_reports_already_present(db_file):
    first = invoke("demo")
    assert_clean_exit(first)
    assert "loaded" in first.output.lower()
    loaded = {t: count(db_file, t) for t in ("tabCustomer", "tabLead", "tabAddress", "tabDynamic Link")}
    assert (loaded["tabCustomer"], loaded["tabLead"], loaded["tabAddress"]) == (14, 8, 16)

    second = invoke("demo")
    assert_clean_exit(second)
    assert "already present" in second.output.lower()
    assert {t: count(db_file, t) for t in loaded} == loaded


# --- import ------------------------------------------------------------------------------------------------

SMALL = [
    {"doctype": "Customer", "name": "Ali Hassan", "customer_name": "Ali Hassan"},
    {"doctype": "Lead", "name": "LEAD-1", "first_name": "Ali", "medusa_id": "cus_1"},
    {
        "doctype": "Address",
        "address_title": "Home",
        "address_type": "Billing",
        "address_line1": "1 Main Street",
        "city": "Dubai",
        "country": "United Arab Emirates",
        "links": [{"link_doctype": "Customer", "link_name": "Ali Hassan"}],
    },
]


def test_import_loads_a_small_file(db_file, tmp_path):
    path = tmp_path / "small.json"
    path.write_text(json.dumps(SMALL), encoding="utf-8")
    result = invoke("import", str(path))
    assert_clean_exit(result)
    assert "imported" in result.output
    assert query(db_file, 'SELECT name, customer_name FROM "tabCustomer"') == [("Ali Hassan", "Ali Hassan")]
    assert query(db_file, 'SELECT name, medusa_id FROM "tabLead"') == [("LEAD-1", "cus_1")]
    assert query(db_file, 'SELECT name FROM "tabAddress"') == [("Home-Billing",)]
    assert query(db_file, 'SELECT link_name FROM "tabDynamic Link"') == [("Ali Hassan",)]


def test_import_json_lines_file(db_file, tmp_path):
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in SMALL), encoding="utf-8")
    assert_clean_exit(invoke("import", str(path)))
    assert count(db_file, "tabAddress") == 1


def test_import_bad_file_fails_names_the_document_and_writes_nothing(db_file, tmp_path):
    assert_clean_exit(invoke("db", "upgrade"))
    before = {t: count(db_file, t) for t in ("tabCustomer", "tabLead", "tabAddress", "tabDynamic Link")}
    bad = [*SMALL, {"doctype": "Customer", "name": "Bad Co", "customer_name": "Bad Co", "customer_type": "Nope"}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")

    result = invoke("import", str(path))
    assert_clean_failure(result)
    text = flat(result.output)
    assert "document 4" in text
    assert "Bad Co" in text
    assert "customer_type" in text
    assert {t: count(db_file, t) for t in before} == before


def test_import_invalid_json_fails_cleanly(db_file, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[{"doctype": "Customer", ', encoding="utf-8")
    result = invoke("import", str(path))
    assert_clean_failure(result)
    assert "JSON" in result.output


def test_import_missing_file_fails(db_file, tmp_path):
    result = invoke("import", str(tmp_path / "nope.json"))
    assert result.exit_code != 0
    assert "nope.json" in flat(result.output)


# --- api keys ----------------------------------------------------------------------------------------------


def create_key(user: str = "u@x") -> dict[str, str]:
    result = invoke("api-key", "create", "--user", user, "--json")
    assert_clean_exit(result)
    return json.loads(result.stdout)


def database_bytes(db_file: Path) -> bytes:
    """The database file and its WAL/SHM companions, whatever SQLite left on disk."""
    return b"".join(p.read_bytes() for p in sorted(db_file.parent.glob(db_file.name + "*")))


def test_api_key_create_json_and_secret_not_stored_in_clear(db_file):
    created = create_key()
    assert set(created) == {"user", "api_key", "api_secret", "expires"}
    assert created["user"] == "u@x"
    assert created["expires"] is None
    assert created["api_key"] and created["api_secret"]
    assert created["api_key"] != created["api_secret"]

    raw = database_bytes(db_file)
    assert created["api_key"].encode() in raw  # we are looking at the right file
    assert created["api_secret"].encode() not in raw
    stored = query(db_file, 'SELECT * FROM "erpnext_medusa_api_key"')
    assert len(stored) == 1
    assert all(created["api_secret"] not in str(value) for value in stored[0])


def test_api_key_create_plain_output_shows_secret_once(db_file):
    result = invoke("api-key", "create", "--user", "u@x")
    assert_clean_exit(result)
    assert "api_secret" in result.output
    (key,) = query(db_file, 'SELECT api_key FROM "erpnext_medusa_api_key"')
    assert key[0] in result.output


def test_api_key_list_shows_key_but_not_secret(db_file, monkeypatch):
    first = create_key("u@x")
    second = create_key("medusa.storefront@example.com")
    # Piped output (no terminal) is 80 columns wide: keys and users must still be shown whole.
    monkeypatch.delenv("COLUMNS")
    result = invoke("api-key", "list")
    assert_clean_exit(result)
    for created in (first, second):
        assert created["api_key"] in result.output
        assert created["user"] in result.output
        assert created["api_secret"] not in result.output


def test_api_key_revoke_then_second_revoke_fails(db_file):
    created = create_key()
    first = invoke("api-key", "revoke", created["api_key"])
    assert_clean_exit(first)
    assert created["api_key"] in first.output
    (revoked_at,) = query(db_file, 'SELECT revoked_at FROM "erpnext_medusa_api_key"')
    assert revoked_at[0] is not None

    second = invoke("api-key", "revoke", created["api_key"])
    assert_clean_failure(second)
    assert created["api_key"] in flat(second.output)

    unknown = invoke("api-key", "revoke", "no-such-key")
    assert_clean_failure(unknown)


# --- bad settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [["db", "upgrade"], ["demo"], ["api-key", "list"], ["api-key", "create", "--user", "u@x"]],
    ids=lambda c: " ".join(c),
)
def test_bad_database_url_fails_with_a_clear_message(db_file, monkeypatch, command):
    monkeypatch.setenv("ERPNEXT_MEDUSA_DATABASE_URL", "nosuchdb://x")
    result = invoke(*command)
    assert_clean_failure(result)
    text = flat(result.output)
    assert "nosuchdb" in text
    assert "DATABASE_URL" in text


def test_bad_database_url_in_a_real_process_prints_no_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERPNEXT_MEDUSA_")}
    env["ERPNEXT_MEDUSA_DATABASE_URL"] = "nosuchdb://x"
    proc = subprocess.run(
        [sys.executable, "-m", "erpnext_medusa", "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "nosuchdb" in proc.stderr


def test_unreachable_database_is_one_clear_line(db_file, monkeypatch):
    monkeypatch.setenv("ERPNEXT_MEDUSA_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = invoke("db", "upgrade")
    assert_clean_failure(result)
    assert "database error" in flat(result.output)
    assert "Connection refused" in flat(result.output) or "connection failed" in flat(result.output)


def test_bad_number_setting_names_the_variable(db_file, monkeypatch):
    monkeypatch.setenv("ERPNEXT_MEDUSA_FETCH_MAX_RESULTS", "abc")
    result = invoke("db", "upgrade")
    assert_clean_failure(result)
    assert "ERPNEXT_MEDUSA_FETCH_MAX_RESULTS" in flat(result.output)


def test_markup_in_file_content_is_printed_literally(db_file, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"doctype": "Customer", "name": "x[/]", "customer_name": "[bold]Y", "nope": 1}]))
    result = invoke("import", str(bad))
    assert_clean_failure(result)
    assert "x[/]" in flat(result.output)


def test_malformed_database_url_never_echoes_its_password(db_file, monkeypatch):
    monkeypatch.setenv("ERPNEXT_MEDUSA_DATABASE_URL", "postgresql+psycopg:/app:S3cretPw@db.example/erp")
    result = invoke("db", "upgrade")
    assert_clean_failure(result)
    assert "S3cretPw" not in result.output


def test_settings_are_read_from_a_dot_env_file(db_file, tmp_path, monkeypatch):
    monkeypatch.delenv("ERPNEXT_MEDUSA_DATABASE_URL")
    other = tmp_path / "from-dotenv.db"
    (tmp_path / ".env").write_text(f"ERPNEXT_MEDUSA_DATABASE_URL=sqlite:///{other}\n")
    assert_clean_exit(invoke("db", "upgrade"))
    assert other.exists()
    assert not db_file.exists()


def test_serve_demo_answers_on_demo_data(tmp_path):
    """The README's first command, end to end: a real server process on a new SQLite file."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERPNEXT_MEDUSA_")}
    env["ERPNEXT_MEDUSA_DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "erpnext_medusa", "serve", "--demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}/api/method"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/ping", timeout=2).json() == {"message": "pong"}:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the server did not answer within 60 s"
            time.sleep(0.2)
        r = httpx.get(f"{base}/medusa_integration.api.fetch_all_customers", params={"name": "ali"}, timeout=10)
        assert [row["name"] for row in r.json()["message"]] == ["Ali Hassan", "Alina Petrova"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
