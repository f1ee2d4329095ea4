"""PostgreSQL servers of a test's own (initdb'd in a temporary folder and run as the postgres user), for tests
that stop, start or replicate a server without touching the one every other test uses."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PG_BIN = Path("/usr/lib/postgresql")
#: initdb refuses root; pytest's own temporary folders are closed to other users, hence tempfile's.
AS_POSTGRES: dict[str, Any] = {"user": "postgres", "group": "postgres"}


def pg_tool(name: str) -> str:
    found = sorted(PG_BIN.glob(f"*/bin/{name}"))
    assert found, f"PostgreSQL's {name} is not installed (Debian package postgresql)"
    return str(found[-1])


@dataclass
class PgServer:
    """One PostgreSQL server of the test's own: its data folder, port and socket folder."""

    data: Path
    port: int
    sockets: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str, check: bool = True) -> None:
        ctl = [pg_tool("pg_ctl"), "-D", str(self.data), "-l", str(self.data.parent / f"{self.data.name}.log")]
        subprocess.run([*ctl, "-w", "-t", "60", *args], check=check, capture_output=True, **AS_POSTGRES)

    def initdb(self) -> None:
        subprocess.run(
            [pg_tool("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"],
            check=True, capture_output=True, **AS_POSTGRES,
        )  # fmt: skip

    def start(self) -> None:
        self._ctl("-o", f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "stop")

    def kill(self) -> None:
        """Stop at once, whatever state it is in (clean-up)."""
        self._ctl("-m", "immediate", "stop", check=False)


@contextmanager
def server_folder(prefix: str) -> Iterator[Path]:
    """A temporary folder the postgres user owns, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    shutil.chown(folder, "postgres", "postgres")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
