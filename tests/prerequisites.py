"""What the whole test suite needs on the machine, checked by ``./dev test`` before it starts: one line per
missing piece, saying how to install or start it, and exit status 1 when anything is missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

CHROMIUM = Path("/usr/bin/chromium")
NGINX_SBIN = Path("/usr/sbin/nginx")  # outside a normal user's PATH
SERVERS = {  # backend: (test URL variable, default URL, how to start it)
    "postgresql": (
        "ERPNEXT_MEDUSA_TEST_POSTGRES_URL",
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        "pg_ctlcluster <version> main start",
    ),
    "mariadb": ("ERPNEXT_MEDUSA_TEST_MARIADB_URL", "mariadb+pymysql://root@127.0.0.1:3306/test", "mariadbd &"),
}


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def node_major(path: str | None) -> int | None:
    node = shutil.which("node", path=path)
    if node is None or shutil.which("npm", path=path) is None:
        return None
    out = subprocess.run([node, "-p", "process.versions.node.split('.')[0]"], capture_output=True, text=True)
    return int(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip().isdigit() else None


def missing(environ: Mapping[str, str]) -> list[str]:
    """One line per missing prerequisite, with how to install or start it."""
    lines = []
    if shutil.which("nginx", path=environ.get("PATH")) is None and not NGINX_SBIN.exists():
        lines.append("nginx is missing (tests/deploy run the service behind it): apt-get install nginx")
    if not CHROMIUM.exists():
        lines.append(f"Chromium is missing ({CHROMIUM}, for the browser tests): apt-get install chromium")
    major = node_major(environ.get("PATH"))
    if major is None or major < 20:
        found = "not found" if major is None else f"found {major}"
        lines.append(
            f"Node.js 20 or later with npm is needed ({found}, for examples/medusa): apt-get install nodejs npm"
        )
    backends = environ.get("ERPNEXT_MEDUSA_TEST_BACKENDS", "sqlite,postgresql,mariadb").split(",")
    for backend in (b.strip() for b in backends):
        if backend not in SERVERS:
            continue
        variable, default, start = SERVERS[backend]
        url = make_url(environ.get(variable, default))
        host, port = url.host or "127.0.0.1", url.port or (5432 if backend == "postgresql" else 3306)
        if not answers(host, port):
            lines.append(f"{backend} does not answer on {host}:{port} ({variable}): start it ({start})")
    if not answers("127.0.0.1", 6379):
        lines.append("Redis does not answer on 127.0.0.1:6379: start it (redis-server --daemonize yes)")
    return lines


def main() -> int:
    lines = missing(os.environ)
    for line in lines:
        print(line, file=sys.stderr)
    if lines:
        print("./dev test stops here (.ci/run installs and starts all of these).", file=sys.stderr)
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
