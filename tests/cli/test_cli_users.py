"""``erpnext-medusa user create / list / disable``: the password from stdin (never an argument), stored as a
passlib hash; a created user logs in; a disabled one cannot, and its sessions end."""

from __future__ import annotations

from fastapi.testclient import TestClient
from passlib.hash import pbkdf2_sha256
from sqlalchemy import select
from typer.testing import CliRunner

from erpnext_medusa.cli import app as cli_app
from erpnext_medusa.cli import commands
from erpnext_medusa.config import load_settings
from erpnext_medusa.store.sql.tables import user as user_table
from erpnext_medusa.web.app import create_app
from tests.erpnext_ddl import create_erpnext_auth_schema
from tests.helpers import TEST_HOST, assert_clean_exit, assert_clean_failure, invoke, query

PASSWORD = "s3cret password"


def create(email: str, stdin: str = PASSWORD + "\n", *extra: str):
    return CliRunner().invoke(cli_app, ["user", "create", email, *extra], input=stdin)


def test_create_list_login_disable(db_file):
    assert_clean_exit(create("clerk@example.com", PASSWORD + "\n", "--full-name", "Counter Clerk"))
    (row,) = query(db_file, 'SELECT name, full_name, password, enabled FROM "erpnext_medusa_user"')
    assert row[:2] == ("clerk@example.com", "Counter Clerk") and row[3] == 1
    assert row[2].startswith("$pbkdf2-sha256$") and pbkdf2_sha256.verify(PASSWORD, row[2])
    assert PASSWORD.encode() not in db_file.read_bytes()
    listed = invoke("user", "list")
    assert "clerk@example.com  Counter Clerk  enabled" in listed.output

    with TestClient(create_app(load_settings(allowed_hosts=TEST_HOST))) as c:
        r = c.post("/api/method/login", data={"usr": "Clerk@Example.com", "pwd": PASSWORD})
        assert r.json() == {"message": "Logged In", "home_page": "/app", "full_name": "Counter Clerk"}
        assert c.get("/api/method/frappe.auth.get_logged_user").json() == {"message": "clerk@example.com"}
        assert_clean_exit(invoke("user", "disable", "clerk@example.com"))
        assert c.get("/api/method/frappe.auth.get_logged_user").status_code == 403  # the session ended
        r = c.post("/api/method/login", data={"usr": "clerk@example.com", "pwd": PASSWORD})
        assert r.status_code == 401 and r.json()["message"] == "User disabled or missing"
    assert "disabled" in invoke("user", "list").output


def test_refusals(db_file):
    assert_clean_failure(create("a@x", "short\n"))
    assert_clean_exit(create("a@x"))
    assert "already exists" in create("A@X").output
    assert_clean_failure(invoke("user", "disable", "nobody@x"))


def test_no_own_users_on_an_erpnext_database(db_file):
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{db_file}")
    create_erpnext_auth_schema(engine)
    engine.dispose()
    result = create("a@x")
    assert_clean_failure(result)
    assert "ERPNext users" in result.output


def test_first_admin_is_created_once_with_a_hashed_password(services):
    """``serve --demo``'s first user, on every backend: created only while there is no user, the generated
    password returned once, stored only as a hash, and good for a login."""
    password = commands.create_first_admin(services)
    assert password is not None and len(password) >= 20
    assert services.accounts.list_users() == [(commands.DEMO_ADMIN, "Demo administrator", True)]
    with services.store.engine.connect() as conn:
        (stored,) = conn.execute(select(user_table.c.password)).scalars()
    assert stored != password and pbkdf2_sha256.verify(password, stored)
    assert services.accounts.check_password(commands.DEMO_ADMIN, password)
    assert commands.create_first_admin(services) is None  # a second start creates nobody
    assert len(services.accounts.list_users()) == 1


def test_no_first_admin_when_a_user_exists(services):
    services.accounts.add_user("clerk@example.com", "Clerk", PASSWORD, services.now())
    assert commands.create_first_admin(services) is None
    assert [name for name, _, _ in services.accounts.list_users()] == ["clerk@example.com"]
