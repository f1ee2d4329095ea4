"""ERPNext's own credentials: API keys from ``tabUser`` / ``__Auth`` (Fernet), logins against ERPNext's password
hashes, sessions and their cookies, locks, CSRF, link roles; and the service's own users elsewhere. The
ERPNext tables are built with ERPNext's DDL and filled as ERPNext fills them (passlib hashes, Fernet secrets)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from passlib.hash import argon2, pbkdf2_sha256
from sqlalchemy.engine import URL

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.migrate import upgrade
from erpnext_medusa.web.app import create_app
from erpnext_medusa.web.methods import CREDENTIALS_IN_URL
from erpnext_medusa.web.sessions import issue_csrf_token
from tests.erpnext_ddl import create_erpnext_auth_schema
from tests.helpers import TEST_HOST, TestDatabases, assert_frappe_error, customer, execute, lead, rows, seed

KEY = Fernet.generate_key().decode()
ME = "jane@example.com"
PASSWORD = "correct horse battery staple"
WHO = "/api/method/frappe.auth.get_logged_user"
LINK = "/api/method/medusa_integration.utils.link_medusa_lead"


@pytest.fixture(scope="module")
def erp_url(databases: TestDatabases) -> URL:
    url = databases.new()
    services = Services.from_settings(Settings(database_url=url.render_as_string(hide_password=False)))
    try:
        create_erpnext_auth_schema(services.store.engine)
        upgrade(services.store.engine)
    finally:
        services.close()
    return url


@pytest.fixture
def erp(erp_url: URL) -> Iterator[Callable[..., Services]]:
    made: list[Services] = []

    def make(**overrides: Any) -> Services:
        settings = Settings(
            database_url=erp_url.render_as_string(hide_password=False),
            **{"encryption_key": KEY, "allowed_hosts": TEST_HOST, **overrides},
        )
        made.append(Services.from_settings(settings))
        return made[-1]

    yield make
    first = made[0]
    for table in ("tabUser", "tabHas Role", "__Auth", "erpnext_medusa_session", "erpnext_medusa_login_failure"):
        execute(first, f'DELETE FROM "{table}"')
    for table in ("tabDynamic Link", "tabAddress", "tabCustomer", "tabLead", "erpnext_medusa_audit"):
        execute(first, f'DELETE FROM "{table}"')
    for svc in made:
        svc.close()


def add_user(
    services: Services, name: str = ME, *, password: str | None = PASSWORD, enabled: int = 1, roles: tuple = (),
    api_key: str | None = None, api_secret: str | None = None, user_type: str = "System User", hasher: Any = None,
) -> None:  # fmt: skip
    """A user as ERPNext stores one: tabUser, its roles in tabHas Role, its hashes and secrets in __Auth."""
    execute(
        services,
        'INSERT INTO "tabUser" (name, enabled, email, first_name, full_name, user_type, api_key) '
        "VALUES (:n, :e, :n, 'Jane', 'Jane Doe', :t, :k)",
        n=name, e=enabled, t=user_type, k=api_key,
    )  # fmt: skip
    for i, role in enumerate(roles):
        execute(
            services,
            'INSERT INTO "tabHas Role" (name, parent, parentfield, parenttype, role) '
            "VALUES (:id, :n, 'roles', 'User', :r)",
            id=f"{name}-{i}", n=name, r=role,
        )  # fmt: skip
    if password is not None:
        hashed = (hasher or pbkdf2_sha256).hash(password)
        execute(
            services,
            'INSERT INTO "__Auth" (doctype, name, fieldname, password, encrypted) '
            "VALUES ('User', :n, 'password', :p, 0)",
            n=name, p=hashed,
        )  # fmt: skip
    if api_secret is not None:
        encrypted = Fernet(KEY.encode()).encrypt(api_secret.encode()).decode()
        execute(
            services,
            'INSERT INTO "__Auth" (doctype, name, fieldname, password, encrypted) '
            "VALUES ('User', :n, 'api_secret', :p, 1)",
            n=name, p=encrypted,
        )  # fmt: skip


def client_for(services: Services, peer: str = "testclient", **kw: Any) -> TestClient:
    return TestClient(create_app(services=services), client=(peer, 50000), **kw)


# --- API keys -----------------------------------------------------------------------------------------------


def test_erpnext_api_key_token_and_basic(erp):
    services = erp()
    add_user(services, api_key="k123", api_secret="s3cret")
    with client_for(services) as c:
        assert c.get(WHO, headers={"Authorization": "token k123:s3cret"}).json() == {"message": ME}
        basic = base64.b64encode(b"k123:s3cret").decode()
        assert c.get(WHO, headers={"Authorization": f"Basic {basic}"}).json() == {"message": ME}
        for header in ("token k123:wrong", "token nope:s3cret"):
            r = c.get(WHO, headers={"Authorization": header})
            assert r.status_code == 401 and r.json()["exc_type"] == "AuthenticationError"


def test_disabled_erpnext_user_key_is_401(erp):
    services = erp()
    add_user(services, enabled=0, api_key="k123", api_secret="s3cret")
    with client_for(services) as c:
        assert c.get(WHO, headers={"Authorization": "token k123:s3cret"}).status_code == 401


def test_erpnext_keys_need_the_encryption_key(erp):
    add_user(erp(), api_key="k123", api_secret="s3cret")
    with client_for(erp(encryption_key="")) as c:
        assert c.get(WHO, headers={"Authorization": "token k123:s3cret"}).status_code == 401
    with client_for(erp(encryption_key=Fernet.generate_key().decode())) as c:  # another site's key
        assert c.get(WHO, headers={"Authorization": "token k123:s3cret"}).status_code == 401


def test_own_keys_keep_working_on_an_erpnext_database(erp):
    services = erp()
    key = create_api_key(services.keys, "svc@example.com", services.now())
    with client_for(services) as c:
        r = c.get(WHO, headers={"Authorization": f"token {key.api_key}:{key.api_secret}"})
        assert r.json() == {"message": "svc@example.com"}
    execute(services, 'DELETE FROM "erpnext_medusa_api_key"')


# --- logins and sessions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_json", [False, True])
def test_login_answers_and_sets_cookies_as_frappe(erp, as_json):
    services = erp()
    add_user(services)
    with client_for(services) as c:
        body = {"usr": ME.upper(), "pwd": PASSWORD}
        r = c.post("/api/method/login", json=body) if as_json else c.post("/api/method/login", data=body)
        assert r.status_code == 200
        assert r.json() == {"message": "Logged In", "home_page": "/app", "full_name": "Jane Doe"}
        cookies = {h.split("=", 1)[0]: h for h in r.headers.get_list("set-cookie")}
        assert set(cookies) == {"sid", "system_user", "full_name", "user_id", "user_image"}
        sid = cookies["sid"]
        assert "HttpOnly" in sid and "SameSite=Lax" in sid and "Path=/" in sid and "Secure" not in sid
        assert f"Max-Age={170 * 3600}" in sid and "Expires=" in sid
        assert cookies["full_name"].startswith("full_name=Jane%20Doe;") and "HttpOnly" not in cookies["full_name"]
        assert cookies["system_user"].startswith("system_user=yes;")
        assert cookies["user_id"].startswith("user_id=jane%40example.com;")
        assert c.get(WHO).json() == {"message": ME}
        value = c.cookies["sid"]
        stored = rows(services, 'SELECT sid_sha256, "user" FROM erpnext_medusa_session')
        assert [r["user"] for r in stored] == [ME] and value not in str(stored)


def test_sid_in_a_body_not_in_the_url_and_logout_by_post(erp):
    """Frappe reads ``sid`` from its form_dict too; here a form or JSON body may carry it, never the query string
    (proxies and browsers log URLs)."""
    services = erp()
    add_user(services)
    with client_for(services) as c:
        c.post("/api/method/login", data={"usr": ME, "pwd": PASSWORD})
        sid = c.cookies["sid"]
    with client_for(services) as other:
        r = other.get(WHO, params={"sid": sid})
        assert r.status_code == 403 and "session_expired" not in r.json()  # a guest: the sid was not read
        assert other.post(WHO, data={"sid": sid}).json() == {"message": ME}
        assert other.post(WHO, json={"sid": sid}).json() == {"message": ME}
        r = other.post("/api/method/logout", data={"sid": sid})
        assert r.status_code == 200
        assert all("Max-Age=0" in h for h in r.headers.get_list("set-cookie"))
        r = other.post(WHO, data={"sid": sid})
        assert r.status_code == 403 and r.json()["session_expired"] == 1


def test_legacy_cmd_login_and_logout_by_post(erp):
    services = erp()
    add_user(services)
    with client_for(services) as c:
        assert c.post("/", data={"cmd": "login", "usr": ME, "pwd": PASSWORD}).json()["message"] == "Logged In"
        assert c.get(WHO).json() == {"message": ME}
        c.post("/", data={"cmd": "logout"})
        assert c.get(WHO).status_code == 403


def test_login_only_by_post_with_the_credentials_in_the_body(erp):
    services = erp()
    add_user(services)
    login = {"usr": ME, "pwd": PASSWORD}
    with client_for(services) as c:
        for r in (c.get("/api/method/login", params=login), c.get("/", params={"cmd": "login", **login})):
            assert_frappe_error(r, 403, "PermissionError", "Not permitted")
            assert "set-cookie" not in r.headers
        for r in (c.post("/api/method/login", params=login), c.post("/", params={"cmd": "login", **login})):
            assert_frappe_error(r, 417, "ValidationError", CREDENTIALS_IN_URL)
            assert "set-cookie" not in r.headers
        assert rows(services, "SELECT * FROM erpnext_medusa_session") == []


def test_a_session_writes_by_get_only_from_its_own_pages_or_with_its_token(erp):
    """A GET that writes, in a session, needs the browser's word that the service's own page sent it, or the
    session's CSRF token; a foreign page, or no word at all, is refused and changes nothing. API keys call by
    GET as before."""
    services = erp()
    add_user(services, roles=("Sales User",), api_key="k1", api_secret="s1")
    seed(services, customer("Acme"), lead("L1", medusa_id="m1"))
    link = {"customer": "Acme", "lead": "L1"}
    with client_for(services) as c:
        c.post("/api/method/login", data={"usr": ME, "pwd": PASSWORD})
        refusals = {
            "no proof": {},
            "cross-site": {"Sec-Fetch-Site": "cross-site"},
            "same-site": {"Sec-Fetch-Site": "same-site"},
            "address bar": {"Sec-Fetch-Site": "none"},
            "foreign referer": {"Referer": "https://evil.example/"},
        }
        for why, headers in refusals.items():
            for r in (c.get(LINK, params=link, headers=headers), c.get("/", params={"cmd": LINK[12:], **link})):
                assert r.status_code == 403, (why, r.text)
            r = c.get("/api/method/logout", headers=headers)
            assert r.status_code == 403 and "set-cookie" not in r.headers, why
        assert rows(services, 'SELECT medusa_id FROM "tabCustomer"') == [{"medusa_id": None}]
        assert c.get(WHO).json() == {"message": ME}  # still signed in
        token = issue_csrf_token(services, c.cookies["sid"])
        assert c.get(LINK, params={**link, "csrf_token": token}).status_code == 200
        execute(services, """UPDATE "tabCustomer" SET medusa_id = NULL, lead_name = NULL""")
        assert c.get(LINK, params=link, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
        execute(services, """UPDATE "tabCustomer" SET medusa_id = NULL, lead_name = NULL""")
        assert c.get(LINK, params=link, headers={"Referer": "http://testserver/admin"}).status_code == 200
        r = c.get("/api/method/logout", headers={"Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 200 and c.get(WHO).status_code == 403
    execute(services, """UPDATE "tabCustomer" SET medusa_id = NULL, lead_name = NULL""")
    with client_for(services) as keyed:
        assert keyed.get(LINK, params=link, headers={"Authorization": "token k1:s1"}).status_code == 200


def test_over_long_user_names_are_refused_before_any_lookup_and_nothing_of_them_is_stored(erp):
    services = erp(login_max_failures=3)
    add_user(services)
    with client_for(services) as c:
        for name in ("x" * 141 + "@example.com", "y" * 60_000):
            r = c.post("/api/method/login", data={"usr": name, "pwd": "wrong"})
            assert_frappe_error(r, 417, "ValidationError", "User name is too long: at most 140 characters.")
        assert rows(services, "SELECT * FROM erpnext_medusa_login_failure") == []
        assert c.post("/api/method/login", data={"usr": ME.upper(), "pwd": "wrong"}).status_code == 401
    (failure,) = rows(services, 'SELECT "user" FROM erpnext_medusa_login_failure')
    assert failure["user"] == hashlib.sha256(ME.lower().encode()).hexdigest()  # a digest, not the name


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"usr": ME, "pwd": "wrong"}, "Invalid login credentials"),
        ({"usr": "nobody@example.com", "pwd": PASSWORD}, "Invalid login credentials"),
        ({"usr": ME}, "Incomplete login details"),
        ({"usr": ME, "pwd": "x" * 513}, "Password size exceeded the maximum allowed size"),
    ],
)
def test_refused_logins(erp, body, message):
    services = erp()
    add_user(services)
    with client_for(services) as c:
        r = c.post("/api/method/login", data=body)
        assert r.status_code == 401
        assert r.json() == {
            "message": message,
            "exception": f"frappe.exceptions.AuthenticationError: {message}",
            "exc_type": "AuthenticationError",
            "exc": f'["frappe.exceptions.AuthenticationError: {message}"]',
        }
        assert "set-cookie" not in r.headers


def test_disabled_user_cannot_log_in(erp):
    services = erp()
    add_user(services, enabled=0)
    with client_for(services) as c:
        r = c.post("/api/method/login", data={"usr": ME, "pwd": PASSWORD})
        assert r.status_code == 401 and r.json()["message"] == "User disabled or missing"


def test_argon2_and_other_rounds_log_in_and_erpnext_rows_stay_as_they_are(erp):
    """ERPNext's context (pbkdf2_sha256, argon2; no deprecated scheme, no minimum rounds) finds no hash to update,
    so nothing is written to __Auth."""
    services = erp()
    add_user(services, hasher=argon2)
    add_user(services, "old@example.com", hasher=pbkdf2_sha256.using(rounds=1000))
    before = rows(services, """SELECT password FROM "__Auth" WHERE name = 'old@example.com'""")[0]["password"]
    with client_for(services) as c:
        assert c.post("/api/method/login", data={"usr": ME, "pwd": PASSWORD}).status_code == 200
        assert c.post("/api/method/login", data={"usr": "old@example.com", "pwd": PASSWORD}).status_code == 200
    after = rows(services, """SELECT password FROM "__Auth" WHERE name = 'old@example.com'""")[0]["password"]
    assert before.startswith("$pbkdf2-sha256$1000$") and after == before


def test_repeated_failures_lock_the_account(erp):
    services = erp(login_max_failures=3, login_lock_seconds=60)
    add_user(services)
    with client_for(services) as c:
        for _ in range(3):
            assert c.post("/api/method/login", data={"usr": ME, "pwd": "wrong"}).status_code == 401
        r = c.post("/api/method/login", data={"usr": ME, "pwd": PASSWORD})
        assert r.status_code == 429 and r.json()["exc_type"] == "SecurityException"
        assert "Your account has been locked and will resume after" in r.json()["exception"]
        assert int(r.headers["retry-after"]) <= 60
    with client_for(erp(login_max_failures=3)) as other:  # the lock is in the database: every process sees it
        assert other.post("/api/method/login", data={"usr": ME, "pwd": PASSWORD}).status_code == 429


def test_expired_session_is_guest_with_session_expired(erp):
    services = erp()
    add_user(services)
    with client_for(services) as c:
        c.post("/api/method/login", data={"usr": ME, "pwd": PASSWORD})
        execute(services, "UPDATE erpnext_medusa_session SET expires_at = :t", t=services.now() - timedelta(seconds=1))
        r = c.get("/api/method/ping")
        assert r.json() == {"message": "pong", "session_expired": 1}
        assert any(h.startswith("sid=;") for h in r.headers.get_list("set-cookie"))
        assert c.get(WHO).status_code == 403


def test_csrf_only_once_the_session_has_a_token(erp):
    services = erp()
    add_user(services, roles=("Sales User",))
    seed(services, customer("Acme"), lead("L1", medusa_id="m1"))
    with client_for(services) as c:
        c.post("/api/method/login", data={"usr": ME, "pwd": PASSWORD})
        assert c.post(WHO).status_code == 200  # no token yet: no check, as in Frappe
        token = issue_csrf_token(services, c.cookies["sid"])
        r = c.post(LINK, data={"customer": "Acme", "lead": "L1"})
        assert r.status_code == 400 and r.json()["exc_type"] == "CSRFTokenError"
        assert c.post(WHO, headers={"X-Frappe-CSRF-Token": "wrong"}).status_code == 400
        assert c.get(WHO).status_code == 200  # safe verbs are not checked
        assert c.post(WHO, headers={"X-Frappe-CSRF-Token": token}).json() == {"message": ME}
        assert c.post(WHO, data={"csrf_token": token}).json() == {"message": ME}
        assert c.post(LINK, json={"customer": "Acme", "lead": "L1", "csrf_token": token}).status_code == 200


def test_secure_cookies_behind_a_trusted_https_proxy_only(erp):
    services = erp(trusted_proxies="10.0.0.1")
    add_user(services)
    login = {"usr": ME, "pwd": PASSWORD}
    proto = {"X-Forwarded-Proto": "https"}
    with client_for(services, peer="10.0.0.1") as trusted:
        r = trusted.post("/api/method/login", data=login, headers=proto)
        assert all(h.endswith("; Secure") for h in r.headers.get_list("set-cookie"))
    with client_for(services, peer="10.0.0.2") as untrusted:
        r = untrusted.post("/api/method/login", data=login, headers=proto)
        assert not any("Secure" in h for h in r.headers.get_list("set-cookie"))


# --- roles for link_medusa_lead, and the audit trail --------------------------------------------------------


@pytest.mark.parametrize(("user", "roles", "status"), [
    (ME, ("Sales User",), 200), (ME, ("Accounts User",), 403), ("Administrator", (), 200),
])  # fmt: skip
def test_link_needs_a_link_role(erp, user, roles, status):
    services = erp()
    add_user(services, user, roles=roles, api_key="k1", api_secret="s1")
    seed(services, customer("Acme"), lead("L1", medusa_id="m1"))
    with client_for(services) as c:
        r = c.post(LINK, data={"customer": "Acme", "lead": "L1"}, headers={"Authorization": "token k1:s1"})
        assert r.status_code == status, r.text
        if status == 403:
            assert r.json()["exc_type"] == "PermissionError"
        else:
            audit = rows(services, 'SELECT "user" FROM erpnext_medusa_audit')
            assert [a["user"] for a in audit] == [user]
