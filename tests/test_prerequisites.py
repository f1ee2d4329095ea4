"""``./dev test`` checks the machine first (tests/prerequisites.py): one line per missing piece, with how to get it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests import prerequisites
from tests.helpers import free_port


def fake_tools(folder: Path, node_version: str) -> str:
    """A PATH holding only a `node` that reports ``node_version`` and an `npm`."""
    folder.mkdir()
    (folder / "node").write_text(f"#!/bin/sh\necho {node_version}\n")
    (folder / "npm").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("node", "npm"):
        (folder / tool).chmod(0o755)
    return str(folder)


def test_each_missing_piece_is_one_line_saying_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(prerequisites, "NGINX_SBIN", tmp_path / "no-nginx")
    monkeypatch.setattr(prerequisites, "CHROMIUM", tmp_path / "no-chromium")
    closed = free_port()
    environ = {
        "PATH": fake_tools(tmp_path / "bin", "18"),
        "ERPNEXT_MEDUSA_TEST_BACKENDS": "sqlite,postgresql",
        "ERPNEXT_MEDUSA_TEST_POSTGRES_URL": f"postgresql+psycopg://postgres@127.0.0.1:{closed}/postgres",
    }
    lines = prerequisites.missing(environ)
    assert any(line.startswith("nginx is missing") and "apt-get install nginx" in line for line in lines)
    assert any(line.startswith("Chromium is missing") and "apt-get install chromium" in line for line in lines)
    assert any("Node.js 20 or later" in line and "found 18" in line for line in lines)
    assert any(f"postgresql does not answer on 127.0.0.1:{closed}" in line for line in lines)
    assert not any(line.startswith("mariadb") for line in lines)  # not among the chosen backends


def test_a_recent_node_and_present_tools_are_not_reported(tmp_path, monkeypatch):
    nginx = tmp_path / "nginx"
    nginx.write_text("")
    chromium = tmp_path / "chromium"
    chromium.write_text("")
    monkeypatch.setattr(prerequisites, "NGINX_SBIN", nginx)
    monkeypatch.setattr(prerequisites, "CHROMIUM", chromium)
    environ = {"PATH": fake_tools(tmp_path / "bin", "22"), "ERPNEXT_MEDUSA_TEST_BACKENDS": "sqlite"}
    assert [line for line in prerequisites.missing(environ) if not line.startswith("Redis")] == []


def test_the_script_stops_with_status_1_and_names_what_is_missing():
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERPNEXT_MEDUSA_TEST_")}
    env["ERPNEXT_MEDUSA_TEST_BACKENDS"] = "mariadb"
    env["ERPNEXT_MEDUSA_TEST_MARIADB_URL"] = f"mariadb+pymysql://root@127.0.0.1:{free_port()}/t"
    script = Path(__file__).parent / "prerequisites.py"
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "mariadb does not answer" in done.stderr and "./dev test stops here" in done.stderr
