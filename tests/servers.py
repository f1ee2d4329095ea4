"""Real server processes (``erpnext-medusa serve``) for tests that need more than one process, or a kill."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import URL

READY_WITHIN = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/method"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_WITHIN
        while True:
            try:
                if httpx.get(f"{self.base}/ping", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, f"the server exited: {self.log.read_text(errors='replace')[-3000:]}"
            assert time.monotonic() < deadline, f"the server did not answer within {READY_WITHIN} s"
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no rollback by the server; whatever was in flight is cut off."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def server_env(url: URL, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERPNEXT_MEDUSA_")}
    env["ERPNEXT_MEDUSA_DATABASE_URL"] = url.render_as_string(hide_password=False)
    env.update({f"ERPNEXT_MEDUSA_{k.upper()}": v for k, v in settings.items()})
    return env


def _spawn(workdir: Path, env: dict[str, str], host: str) -> Server:
    port = free_port()
    log = workdir / f"server-{port}-{time.monotonic_ns()}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "erpnext_medusa", "serve", "--host", host, "--port", str(port)],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(proc, port, log)


@contextmanager
def start_servers(workdir: Path, env: dict[str, str], count: int, host: str = "127.0.0.1") -> Iterator[list[Server]]:
    """``count`` ``erpnext-medusa serve`` processes on one database, started together; their output goes to
    files in ``workdir``."""
    with ExitStack() as stack:
        servers = []
        for _ in range(count):
            server = _spawn(workdir, env, host)
            stack.callback(server.stop)
            servers.append(server)
        for server in servers:
            server.wait_ready()
        yield servers


@contextmanager
def start_server(workdir: Path, env: dict[str, str]) -> Iterator[Server]:
    with start_servers(workdir, env, 1) as (server,):
        yield server
