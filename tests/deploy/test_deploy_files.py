"""The files in deploy/: the systemd unit, its EnvironmentFile template and the nginx site.

The unit is checked by ``systemd-analyze verify`` (and its offline security review), the nginx site by
``nginx -t``, both on the shipped files with only the paths that must differ on this machine rewritten. Then
the real service runs behind the real nginx on loopback ports: TLS, headers, body limit, and that a client
cannot choose the address it is rate-limited under. The tools must be installed (.ci/run installs nginx);
when one is missing the tests fail, they are never skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from erpnext_medusa.config import Settings
from tests.helpers import Server, free_port, server_env

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNIT = DEPLOY / "erpnext-medusa.service"
ENV_EXAMPLE = DEPLOY / "env.example"
SITE = DEPLOY / "nginx.conf"

SHIPPED_BINARY = "/opt/erpnext-medusa/venv/bin/erpnext-medusa"
SHIPPED_EXEC_START = f"ExecStart={SHIPPED_BINARY} serve --host 127.0.0.1 --port 8000 --workers 2"
FETCH = "/api/method/medusa_integration.api.fetch_all_customers"
MAX_BODY_BYTES = 65_536  # Settings.max_body_bytes' default, which the site's client_max_body_size matches


def tool(name: str) -> str:
    """The path of a command-line tool; the test fails (it is not skipped) when the tool is missing."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    found = shutil.which(name, path=search)
    assert found, f"{name} is not installed; on Debian: apt-get install -y {name} (.ci/run installs nginx)"
    return found


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced by ``new``; ``old`` must occur exactly once, so that a rewritten copy
    differs from the shipped file in that spot only."""
    assert text.count(old) == 1, f"expected exactly one {old!r} in the shipped file"
    return text.replace(old, new)


# --- the systemd unit ------------------------------------------------------------------------------------------


def unit_directives() -> dict[str, list[str]]:
    """Every ``Key=value`` of the shipped unit (continuation lines are not used in it), in order per key."""
    directives: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if not line.strip() or line.startswith(("#", ";", "[")):
            continue
        assert not line.endswith("\\"), "the unit uses no continuation lines"
        key, sep, value = line.partition("=")
        assert sep, f"not a Key=value line: {line!r}"
        directives.setdefault(key, []).append(value)
    return directives


def checkable_unit(tmp_path: Path, unit_text: str | None = None) -> Path:
    """A copy of the unit whose ExecStart names an executable that exists here; nothing else differs.

    ``systemd-analyze verify`` refuses a unit whose binary is missing, and the venv of the unit is not on
    this machine; the stub stands at that one spot.
    """
    stub = tmp_path / "bin" / "erpnext-medusa"
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    text = UNIT.read_text() if unit_text is None else unit_text
    assert text.count(f"\n{SHIPPED_EXEC_START}\n") == 1
    checked = tmp_path / "unit" / UNIT.name
    checked.parent.mkdir()
    checked.write_text(replace_once(text, f"ExecStart={SHIPPED_BINARY} ", f"ExecStart={stub} "))
    return checked


def verify_unit(path: Path) -> str:
    """What ``systemd-analyze verify`` says about a unit: nothing when it is clean.

    It needs no running systemd: verify loads the unit, and the units it names, from the unit search path into
    a manager of its own, and checks that the binaries of its Exec lines can be run. --man=no: no man pages
    to look up (the unit names none; the flag keeps a machine without man-db quiet)."""
    result = run(tool("systemd-analyze"), "verify", "--man=no", str(path))
    status = f"exit status {result.returncode}\n" if result.returncode else ""
    return status + result.stdout + result.stderr


def test_systemd_analyze_verify_passes_the_unit_without_a_word(tmp_path):
    assert verify_unit(checkable_unit(tmp_path)) == ""


def test_the_unit_check_notices_a_broken_unit(tmp_path):
    """An unknown key or a bad value is only a warning to systemd (it starts the unit anyway, ignoring the
    line): the check above counts any output as a failure, and this shows that it gets some."""
    broken = replace_once(
        UNIT.read_text(), "\nProtectSystem=strict\n", "\nProtectSystem=sometimes\nProtectSystm=strict\n"
    )
    output = verify_unit(checkable_unit(tmp_path, broken))
    assert "ProtectSystm" in output
    assert "sometimes" in output


def test_the_units_offline_security_review_rates_it_ok(tmp_path):
    """systemd's own review of the sandbox: 0 is fully locked down, 10 not at all. The shipped unit scores
    1.2 with systemd 252; --threshold=20 fails the test above 2.0."""
    result = run(tool("systemd-analyze"), "security", "--offline=yes", "--threshold=20", str(checkable_unit(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Overall exposure level" in result.stdout
    assert result.stderr == ""


def test_the_unit_runs_the_service_hardened_with_secrets_outside_it():
    d = unit_directives()
    assert d["ExecStart"] == [SHIPPED_EXEC_START.removeprefix("ExecStart=")]
    assert d["User"] == ["erpnext-medusa"]
    assert "DynamicUser" not in d
    assert d["EnvironmentFile"] == ["/etc/erpnext-medusa/env"]
    # No setting of the service in the unit: they (and their secrets) belong in the EnvironmentFile.
    assert not [e for e in d.get("Environment", []) if "ERPNEXT_MEDUSA_" in e]
    assert d["StateDirectory"] == ["erpnext-medusa"]
    assert d["WorkingDirectory"] == ["/var/lib/erpnext-medusa"]
    expected = {
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "NoNewPrivileges": "true",
        "PrivateTmp": "true",
        "PrivateDevices": "true",
        "ProtectKernelTunables": "true",
        "ProtectKernelModules": "true",
        "ProtectKernelLogs": "true",
        "ProtectControlGroups": "true",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "RestrictNamespaces": "true",
        "LockPersonality": "true",
        "MemoryDenyWriteExecute": "true",
        "CapabilityBoundingSet": "",
        "Restart": "on-failure",
        "KillMode": "mixed",
    }
    assert {key: d.get(key) for key in expected} == {key: [value] for key, value in expected.items()}
    assert d["SystemCallFilter"][0] == "@system-service"
    assert d["RestartSec"] and d["TimeoutStopSec"]
    # Every connection is a file: the limit stays far above the connections each worker holds at most.
    (files,) = d["LimitNOFILE"]
    assert int(files) >= 64 * Settings.model_fields["max_connections"].default


def environment_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd reads an EnvironmentFile (comments are whole lines starting with # or ;)."""
    values = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        assert sep and key == key.strip() and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), f"bad line: {line!r}"
        values[key] = value
    return values


def test_env_example_names_only_real_settings_and_refuses_to_start_until_a_secret_is_set(monkeypatch, tmp_path):
    fields = {f"ERPNEXT_MEDUSA_{name.upper()}" for name in Settings.model_fields}
    mentioned = set(re.findall(r"^#? ?(ERPNEXT_MEDUSA_[A-Z_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    assert mentioned, "env.example names no setting"
    assert mentioned <= fields, f"not settings of the service: {sorted(mentioned - fields)}"

    values = environment_file(ENV_EXAMPLE)
    assert values["ERPNEXT_MEDUSA_TRUSTED_PROXIES"] == "127.0.0.1"  # nginx, and only nginx
    # The service answers for the site's name, the one nginx serves (and passes on in Host).
    (server_name,) = re.findall(r"^\s*server_name\s+([^;\s]+);", SITE.read_text(), re.MULTILINE)
    assert values["ERPNEXT_MEDUSA_ALLOWED_HOSTS"] == server_name
    for key in [k for k in os.environ if k.startswith("ERPNEXT_MEDUSA_")]:
        monkeypatch.delenv(key)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    # The template's database lives in the unit's state directory, which this machine does not have.
    assert values["ERPNEXT_MEDUSA_DATABASE_URL"] == "sqlite:////var/lib/erpnext-medusa/erpnext-medusa.db"
    monkeypatch.setenv("ERPNEXT_MEDUSA_DATABASE_URL", f"sqlite:///{tmp_path}/erpnext-medusa.db")
    with pytest.raises(ValidationError, match="at least 16 characters"):  # the template holds no usable secret
        Settings(_env_file=None)
    monkeypatch.setenv("ERPNEXT_MEDUSA_STOREFRONT_KEYS", "web:" + "x" * 32)
    settings = Settings(_env_file=None)
    assert settings.guest_access == "key"
    assert settings.url.database == f"{tmp_path}/erpnext-medusa.db"


# --- the nginx site --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Nginx:
    binary: str
    prefix: Path
    conf: Path
    port: int
    cert: Path
    access_log: Path

    def command(self, *extra: str) -> list[str]:
        # -e: the log used before the configuration's own is open (Debian's default is /var/log/nginx/...).
        return [self.binary, "-p", f"{self.prefix}/", "-c", str(self.conf), "-e", "stderr", *extra]


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 (and the site's placeholder name)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    result = run(
        tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-days", "1", "-subj", "/CN=erpnext-medusa test", "-addext", "subjectAltName=IP:127.0.0.1,DNS:api.example.com",
        "-keyout", str(key), "-out", str(cert),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return cert, key


def nginx_config(tmp_path: Path, upstream_port: int) -> Nginx:
    """A main configuration that includes a copy of deploy/nginx.conf in which only the machine-specific
    values differ: listen addresses (free loopback ports instead of *:443), the upstream's port, the
    certificate and key, and the log files. Everything nginx writes goes under ``tmp_path``, so nginx runs
    as any user."""
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    cert, key = self_signed_certificate(prefix)
    port = free_port()
    access_log = prefix / "site-access.log"
    site = SITE.read_text()
    for old, new in [
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("listen [::]:443 ssl;", f"listen [::1]:{port} ssl;"),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};"),
        ("/etc/ssl/certs/erpnext-medusa.pem;", f"{cert};"),
        ("/etc/ssl/private/erpnext-medusa.key;", f"{key};"),
        ("/var/log/nginx/erpnext-medusa.access.log ", f"{access_log} "),
        ("/var/log/nginx/erpnext-medusa.error.log ", f"{prefix / 'site-error.log'} "),
    ]:
        site = replace_once(site, old, new)
    (prefix / "site.conf").write_text(site)
    # As root the workers would switch to "nobody", who cannot enter pytest's private temporary directory.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp_paths = "".join(
        f"    {kind}_temp_path {prefix / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = prefix / "nginx-main.conf"
    conf.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'} warn;\n"
        "events {\n    worker_connections 64;\n}\n"
        f"http {{\n{temp_paths}    access_log {prefix / 'access.log'};\n    include {prefix / 'site.conf'};\n}}\n"
    )
    return Nginx(tool("nginx"), prefix, conf, port, cert, access_log)


def test_nginx_accepts_the_site_without_a_warning(tmp_path):
    nginx = nginx_config(tmp_path, free_port())
    result = run(*nginx.command("-t", "-q"))  # -q: only problems are printed
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def active_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_site_sets_the_headers_and_limits_the_service_relies_on():
    lines = active_lines(SITE.read_text())
    for directive in [
        "server 127.0.0.1:8000;",
        "proxy_pass http://erpnext_medusa;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header Host $host;",
        "proxy_set_header X-Request-Id $http_x_request_id;",
        "client_max_body_size 64k;",
        "keepalive 16;",
    ]:
        assert lines.count(directive) == 1, directive
    assert not [line for line in lines if "$proxy_add_x_forwarded_for" in line]  # replaced, never appended
    assert 64 * 1024 == MAX_BODY_BYTES == Settings.model_fields["max_body_bytes"].default


# --- the service behind nginx ----------------------------------------------------------------------------------

# Runs the service with the kernel's "memory deny write execute" in force (prctl PR_SET_MDWE, Linux 6.3+; kept
# across execve): no mapping may be writable and executable, none may become executable. It is what
# MemoryDenyWriteExecute=true in the unit asks for, so the real service is shown to live with it.
MDWE_LAUNCHER = """
import ctypes, mmap, os, sys
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_MDWE) failed: " + os.strerror(ctypes.get_errno()))
try:
    mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
except PermissionError:
    pass
else:
    sys.exit("memory deny write execute is not in force")
os.execv(sys.executable, [sys.executable, "-m", "erpnext_medusa", *sys.argv[1:]])
"""


@contextmanager
def service(tmp_path: Path, *args: str, **settings: str) -> Iterator[Server]:
    """``python -m erpnext_medusa serve`` on a new SQLite database, under memory-deny-write-execute."""
    url = make_url(f"sqlite:///{tmp_path / 'deploy.db'}")
    port = free_port()
    log = tmp_path / f"service-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", MDWE_LAUNCHER, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            cwd=tmp_path,
            env=server_env(url, **settings),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(proc, port, log)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@contextmanager
def running_nginx(nginx: Nginx) -> Iterator[subprocess.Popen[bytes]]:
    log = nginx.prefix / "stderr.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            nginx.command(), stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, f"nginx exited: {log.read_text(errors='replace')}"
            try:
                socket.create_connection(("127.0.0.1", nginx.port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not listen within 20 s"
                time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)  # graceful stop
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


def https_client(nginx: Nginx, local_address: str = "127.0.0.1") -> httpx.Client:
    """A client that checks nginx's certificate and connects from ``local_address`` (any 127.x.y.z is this
    machine, so one test can be two clients with different addresses)."""
    context = ssl.create_default_context(cafile=str(nginx.cert))
    transport = httpx.HTTPTransport(verify=context, local_address=local_address)
    return httpx.Client(base_url=f"https://127.0.0.1:{nginx.port}", transport=transport, timeout=30)


UPDATE = "/api/method/medusa_integration.api.update_address"


@pytest.mark.slow
def test_the_service_behind_nginx_answers_over_tls_and_counts_real_clients_not_forwarded_claims(tmp_path):
    settings = {"trusted_proxies": "127.0.0.1", "rate_limit": "2", "rate_limit_window": "600"}
    with service(tmp_path, "--demo", **settings) as server:
        nginx = nginx_config(tmp_path, server.port)
        with running_nginx(nginx), https_client(nginx) as client, https_client(nginx, "127.0.0.2") as neighbour:
            ping = client.get("/api/method/ping", headers={"X-Request-Id": "deploy-ping-1"})
            assert (ping.status_code, ping.json()) == (200, {"message": "pong"})
            (ping_id,) = ping.headers.get_list("X-Request-Id")  # the service's own id, and only once
            assert re.fullmatch(r"[0-9a-f]{32}", ping_id), ping_id
            assert ping.headers["Server"] == "nginx"  # no version, and not uvicorn's header
            assert ping.headers["Strict-Transport-Security"] == "max-age=31536000"

            # Without an id of the client's, or with one the service would not keep, the service assigns one too.
            made = [
                client.get("/api/method/ping", headers=h).headers.get_list("X-Request-Id")
                for h in ({}, {"X-Request-Id": "no spaces!"})
            ]
            assert all(len(ids) == 1 and re.fullmatch(r"[0-9a-f]{32}", ids[0]) for ids in made), made

            # Rate limit 2: a client cannot buy more calls by naming other addresses in X-Forwarded-For ...
            answers = [client.get(FETCH, headers={"X-Forwarded-For": f"203.0.113.{i}"}) for i in (1, 2, 3)]
            assert [a.status_code for a in answers] == [200, 200, 429]
            assert "Ali Hassan" in {c["customer_name"] for c in answers[0].json()["message"]}
            assert answers[2].json()["exc_type"] == "TooManyRequestsError"
            assert int(answers[2].headers["Retry-After"]) > 0
            # ... nor by naming the proxy's own address; a client at another address has a budget of its own,
            # so the service does count by the address nginx reports, not by nginx's.
            assert client.get(FETCH, headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 429
            assert neighbour.get(FETCH, headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200

            # The body limit is nginx's as well as the service's: one byte over is refused by nginx.
            body = json.dumps({"customer_id": "Nobody", "city": "Sharjah", "pad": ""}).encode()
            fits = body[:-2] + b"x" * (MAX_BODY_BYTES - len(body)) + body[-2:]
            assert len(fits) == MAX_BODY_BYTES
            answer = client.post(UPDATE, content=fits, headers={"Content-Type": "application/json"})
            assert answer.json() == {"message": {"error": "Customer Nobody not found"}}
            too_big = client.post(
                UPDATE, content=fits + b" ", headers={"Content-Type": "application/json", "X-Request-Id": "big-1"}
            )
            assert too_big.status_code == 413
            assert "nginx" in too_big.text  # nginx's own page: the body never reached the service
            (nginx_id,) = too_big.headers.get_list("X-Request-Id")  # nginx's own answer carries nginx's own id
            assert re.fullmatch(r"[0-9a-f]{32}", nginx_id), nginx_id

    access = nginx.access_log.read_text()
    assert f"request_id={ping_id} client_request_id=deploy-ping-1" in access
    assert f"request_id={nginx_id} client_request_id=big-1" in access
    for (rid,) in [[ping_id], *made]:  # the same id in nginx's access log and in the service's log lines
        assert f"request_id={rid}" in access
        assert f"[{rid}]" in server.output()
    assert re.search(r"^127\.0\.0\.2 .*request_id=", access, re.MULTILINE)


@pytest.mark.slow
def test_two_workers_stop_gracefully_when_only_the_main_process_gets_sigterm(tmp_path):
    """The unit's ExecStart (2 workers) under memory-deny-write-execute, stopped as KillMode=mixed stops it:
    SIGTERM to uvicorn's supervisor alone. It passes SIGTERM on to each worker, waits for both to finish and
    exits 0, and no process of the service is left."""
    with service(tmp_path, "--workers", "2") as server:
        deadline = time.monotonic() + 60
        while server.output().count("Application startup complete.") < 2:
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        assert httpx.get(f"{server.base}/ping", timeout=10).json() == {"message": "pong"}
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=25) == 0, server.output()
    log = server.output()
    assert log.count("Finished server process") == 2, log
    assert "Stopping parent process" in log
    # Nothing is left in the service's process group: multiprocessing's resource tracker, the only other
    # process, exits by itself once the supervisor is gone (under systemd, KillMode=mixed would SIGKILL it).
    deadline = time.monotonic() + 15
    while True:
        try:
            os.killpg(server.proc.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "a process of the service outlived it"
        time.sleep(0.1)
