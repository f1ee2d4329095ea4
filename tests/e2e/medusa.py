"""A real Medusa v2 server for the end-to-end tests: the example project (``examples/medusa``) installed with
``npm ci``, its own PostgreSQL database, ``medusa start`` as a process of its own, and small helpers for the
store API calls a shopper's storefront makes.

``npm ci`` takes minutes and ~700 MB, so the installed ``node_modules`` is kept in a cache folder outside the
repository (``~/.cache/erpnext-medusa/medusa-<hash of the package files>``, or under
``ERPNEXT_MEDUSA_TEST_NPM_CACHE``) and reused while the package files stay the same. Each test runs a copy of
the project in its own temporary folder, with ``node_modules`` a link to the cached one."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.helpers import ADMIN_URLS, TestDatabases, free_port

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "medusa"
PLUGIN = REPO / "medusa-plugin"
PACKAGE_FILES = ("package.json", "package-lock.json")
# The plugin's tarball, where the host's package.json expects it (``file:../../medusa-plugin/<this>``).
PLUGIN_NAME = "@erpnext-medusa/medusa-plugin"
PLUGIN_TARBALL = "erpnext-medusa-medusa-plugin-0.1.0.tgz"
CACHE = Path(os.environ.get("ERPNEXT_MEDUSA_TEST_NPM_CACHE", "~/.cache/erpnext-medusa")).expanduser()
NODE_MAJOR = 20
NPM_CI_TIMEOUT = 1200.0
READY_WITHIN = 240.0


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def check_node() -> str:
    """Node.js 20 or later and npm, or the test fails saying what is missing; the version found."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: the Medusa example needs Node.js {NODE_MAJOR} or later with npm")
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < NODE_MAJOR:
        pytest.fail(f"Node.js {version} is too old: the Medusa example needs Node.js {NODE_MAJOR} or later")
    return version


def _npm(*args: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
    return subprocess.run(["npm", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _digest(root: Path, names: Sequence[str | Path]) -> str:
    """A short hash of these files under ``root``: their names (relative to it) and contents."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(f"{name}\0".encode())
        digest.update((root / name).read_bytes())
    return digest.hexdigest()[:16]


def _plugin_sources() -> list[Path]:
    """The plugin's files that go into its build, relative to its folder (no node_modules, no build output)."""
    skip = {"node_modules", ".medusa"}
    return sorted(
        p.relative_to(PLUGIN)
        for p in PLUGIN.rglob("*")
        if p.is_file() and not skip.intersection(p.relative_to(PLUGIN).parts) and p.suffix != ".tgz"
    )


@contextmanager
def _cached(name: str) -> Iterator[tuple[Path, Path | None]]:
    """A cache folder ``CACHE/<name>``: yields it and, when it is not complete yet, a fresh ``.partial`` folder
    to fill (None when already done). Made under a lock so that concurrent runs wait for each other; the
    partial folder becomes the cached one only when the block ends without an error."""
    target = CACHE / name
    done = target / ".complete"
    if done.exists():
        yield target, None
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run making the same folder: wait for it
        if done.exists():
            yield target, None
            return
        work = CACHE / f"{name}.partial"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        yield target, work
        (work / ".complete").write_text(f"made at {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        shutil.rmtree(target, ignore_errors=True)
        work.rename(target)


def _npm_ci(folder: Path, what: str) -> None:
    ping = _npm("ping", cwd=CACHE, timeout=120)
    if ping.returncode != 0:
        pytest.fail(f"npm cannot reach its registry, so {what} cannot be installed:\n{ping.stderr}")
    ci = _npm("ci", "--no-audit", "--loglevel=error", cwd=folder, timeout=NPM_CI_TIMEOUT)
    if ci.returncode != 0:
        pytest.fail(f"npm ci failed for {what} (exit {ci.returncode}):\n{_tail(ci.stderr)}")


def plugin_tarball() -> Path:
    """The plugin built with ``medusa plugin:build`` and packed with ``npm pack``, cached by the hash of its
    sources (its dependencies are installed with ``npm ci`` into a cache of their own, by its package files)."""
    with _cached(f"plugin-deps-{_digest(PLUGIN, PACKAGE_FILES)}") as (deps, work):
        if work is not None:
            for name in PACKAGE_FILES:
                shutil.copy2(PLUGIN / name, work / name)
            _npm_ci(work, "the Medusa plugin's build dependencies")
    sources = _plugin_sources()
    with _cached(f"plugin-build-{_digest(PLUGIN, sources)}") as (build, work):
        if work is not None:
            for rel in sources:
                (work / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(PLUGIN / rel, work / rel)
            (work / "node_modules").symlink_to(deps / "node_modules", target_is_directory=True)
            built = subprocess.run(
                [str(work / "node_modules" / ".bin" / "medusa"), "plugin:build"],
                cwd=work,
                env={**os.environ, "MEDUSA_DISABLE_TELEMETRY": "true"},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert built.returncode == 0, f"medusa plugin:build failed:\n{_tail(built.stdout + built.stderr)}"
            packed = _npm("pack", "--loglevel=error", cwd=work, timeout=300)
            assert packed.returncode == 0, f"npm pack failed:\n{_tail(packed.stderr)}"
            assert (work / PLUGIN_TARBALL).is_file(), f"npm pack made no {PLUGIN_TARBALL}: {packed.stdout}"
    return build / PLUGIN_TARBALL


def installed_node_modules() -> tuple[Path, bool]:
    """The example host's ``node_modules``: its package files installed with ``npm ci``, the plugin's tarball
    among them (in a folder laid out as the repository, so that the ``file:`` path resolves), unless the cache
    already holds it for these package files and this tarball; the folder and whether it was installed now.
    Fails (never skips) when npm cannot reach its registry or the install fails."""
    tarball = plugin_tarball()
    key = _digest(EXAMPLE, PACKAGE_FILES) + _digest(tarball.parent, (PLUGIN_TARBALL,))[:8]
    installed_now = False
    with _cached(f"medusa-{key}") as (target, work):
        if work is not None:
            host = work / "examples" / "medusa"
            host.mkdir(parents=True)
            shutil.copy2(EXAMPLE / "package.json", host / "package.json")
            # The lock holds the committed tarball's integrity; this one is built from the current sources.
            lock = json.loads((EXAMPLE / "package-lock.json").read_text())
            lock["packages"][f"node_modules/{PLUGIN_NAME}"].pop("integrity", None)
            (host / "package-lock.json").write_text(json.dumps(lock, indent=2))
            (work / "medusa-plugin").mkdir()
            shutil.copy2(tarball, work / "medusa-plugin" / PLUGIN_TARBALL)
            _npm_ci(host, "the Medusa example")
            installed_now = True
    return target / "examples" / "medusa" / "node_modules", installed_now


def _example_sources() -> list[Path]:
    """The example's files that go into ``medusa build``, relative to its folder."""
    skip = {"node_modules", ".medusa", ".env", "scripts", "README.md"}
    return sorted(
        p.relative_to(EXAMPLE)
        for p in EXAMPLE.rglob("*")
        if p.is_file() and not skip.intersection(p.relative_to(EXAMPLE).parts)
    )


def admin_build(node_modules: Path) -> Path:
    """``medusa build`` of the example with its admin dashboard on (``MEDUSA_ADMIN=on``): the ``.medusa/server``
    folder it makes (the compiled configuration and the dashboard in ``public/admin``, the plugin's widget in
    it), cached by the hash of the example's sources and the installed ``node_modules`` (which holds the
    plugin's tarball). The build needs no database and no secrets (see medusa-config.ts)."""
    key = f"{node_modules.parents[2].name}-{_digest(EXAMPLE, _example_sources())}"
    with _cached(f"admin-build-{key}") as (build, work):
        if work is not None:
            project = project_copy(work, node_modules)
            env = {**os.environ, "MEDUSA_ADMIN": "on", "MEDUSA_DISABLE_TELEMETRY": "true"}
            medusa_cli(project, env, "build", timeout=900)
            server = project / ".medusa" / "server"
            assert (server / "public" / "admin" / "index.html").is_file(), "medusa build made no admin dashboard"
            shutil.move(server, work / "server")
            shutil.rmtree(project)
    return build / "server"


def built_copy(into: Path, build: Path, node_modules: Path) -> Path:
    """A copy of a ``medusa build`` output using the installed ``node_modules``: ``medusa start`` from there
    serves the built dashboard at ``/app``."""
    server = into / "server"
    shutil.copytree(build, server)
    (server / "node_modules").symlink_to(node_modules, target_is_directory=True)
    return server


def project_copy(into: Path, node_modules: Path) -> Path:
    """A copy of the example project (sources and configuration) using the installed ``node_modules``."""
    project = into / "medusa"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("node_modules", ".medusa", ".env"))
    (project / "node_modules").symlink_to(node_modules, target_is_directory=True)
    return project


# --- Medusa's database and process ------------------------------------------------------------------------------


@contextmanager
def medusa_database(tmp: Path) -> Iterator[str]:
    """A fresh PostgreSQL database on the local test server, as Medusa's ``DATABASE_URL``; dropped after."""
    dbs = TestDatabases("postgresql", tmp)
    url = dbs.new()
    try:
        auth = url.username or "postgres"
        if url.password:
            auth += f":{url.password}"
        yield f"postgres://{auth}@{url.host or '127.0.0.1'}:{url.port or 5432}/{url.database}"
    finally:
        dbs.drop_all()


def database_exists(database_url: str) -> bool:
    name = database_url.rsplit("/", 1)[1]
    admin = create_engine(ADMIN_URLS["postgresql"])
    try:
        with admin.connect() as conn:
            return conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None
    finally:
        admin.dispose()


def medusa_env(database_url: str, service_url: str, jwt_secret: str, webhook_secret: str) -> dict[str, str]:
    """The example's settings (see its README); nothing of the service's own environment leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERPNEXT_MEDUSA_")}
    origins = "http://localhost:8000"
    env.update(
        DATABASE_URL=database_url,
        JWT_SECRET=jwt_secret,
        COOKIE_SECRET=uuid.uuid4().hex + uuid.uuid4().hex,
        STORE_CORS=origins,
        ADMIN_CORS=origins,
        AUTH_CORS=origins,
        ERPNEXT_MEDUSA_URL=service_url,
        ERPNEXT_MEDUSA_WEBHOOK_SECRET=webhook_secret,
        MEDUSA_DISABLE_TELEMETRY="true",
    )
    return env


def medusa_cli(project: Path, env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run ``medusa ARGS`` in the project (the installed binary, as ``npx medusa`` would); its output."""
    done = subprocess.run(
        [str(project / "node_modules" / ".bin" / "medusa"), *args],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"medusa {' '.join(args)} failed (exit {done.returncode}):\n{_tail(output)}"
    return output


@dataclass
class Medusa:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_WITHIN
        while True:
            try:
                if httpx.get(f"{self.base}/health", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, f"Medusa exited:\n{_tail(self.output())}"
            assert time.monotonic() < deadline, f"Medusa was not ready within {READY_WITHIN} s:\n{_tail(self.output())}"
            time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM to Medusa's process group (its own pid; workers it started, if any), SIGKILL after 20 s."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)
        with suppress(ProcessLookupError):  # anything left in its group
            os.killpg(self.proc.pid, signal.SIGKILL)


@contextmanager
def start_medusa(project: Path, env: dict[str, str], logs: Path) -> Iterator[Medusa]:
    """``medusa start`` (the binary itself, so that the pid is the server's) on a free port, logging to a file
    outside the project folder; ready when ``GET /health`` answers."""
    port = free_port()
    log = logs / f"medusa-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(project / "node_modules" / ".bin" / "medusa"), "start"],
            cwd=project,
            env={**env, "PORT": str(port)},
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    medusa = Medusa(proc, port, log)
    try:
        medusa.wait_ready()
        yield medusa
    finally:
        medusa.stop()


# --- the store API ------------------------------------------------------------------------------------------------


def _ok(r: httpx.Response) -> dict:
    assert r.status_code == 200, f"{r.request.method} {r.request.url.path}: HTTP {r.status_code} {r.text}"
    return r.json()


def admin_token(base: str, email: str, password: str) -> str:
    return str(_ok(httpx.post(f"{base}/auth/user/emailpass", json={"email": email, "password": password}))["token"])


def publishable_key(base: str, token: str) -> str:
    """A new publishable API key (the storefront's ``x-publishable-api-key``)."""
    r = httpx.post(
        f"{base}/admin/api-keys",
        json={"title": "erpnext-medusa e2e", "type": "publishable"},
        headers={"Authorization": f"Bearer {token}"},
    )
    return str(_ok(r)["api_key"]["token"])


@dataclass
class Shopper:
    email: str
    password: str
    first_name: str
    last_name: str
    id: str = ""


def register(base: str, key: str, shopper: Shopper) -> str:
    """Sign up as the storefront does: an auth identity, then the customer (``customer.created`` fires); the
    Medusa customer id."""
    creds = {"email": shopper.email, "password": shopper.password}
    reg = _ok(httpx.post(f"{base}/auth/customer/emailpass/register", json=creds))["token"]
    r = httpx.post(
        f"{base}/store/customers",
        json={"email": shopper.email, "first_name": shopper.first_name, "last_name": shopper.last_name},
        headers={"Authorization": f"Bearer {reg}", "x-publishable-api-key": key},
    )
    shopper.id = str(_ok(r)["customer"]["id"])
    return shopper.id


def login(base: str, shopper: Shopper) -> str:
    """The shopper's login token (its ``actor_id`` is their customer id)."""
    creds = {"email": shopper.email, "password": shopper.password}
    return str(_ok(httpx.post(f"{base}/auth/customer/emailpass", json=creds))["token"])


def change_billing_address(base: str, key: str, token: str, **fields: str) -> httpx.Response:
    """The example's store route, which forwards the shopper's token to the service's ``update_address``."""
    return httpx.post(
        f"{base}/store/erpnext/billing-address",
        json=fields,
        headers={"Authorization": f"Bearer {token}", "x-publishable-api-key": key},
        timeout=30,
    )
