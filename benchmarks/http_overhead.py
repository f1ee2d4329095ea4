"""CPU time per request of the server outside the database, served by uvicorn as ``erpnext-medusa serve`` does,
under wrk:

    python -m benchmarks.http_overhead [--runs 5] [--duration 5] [--connections 32]

The server is ``erpnext-medusa serve`` itself (one worker, its uvicorn options: the bounded HTTP protocol, no
proxy headers, its log configuration), started in a child process whose store has its search port replaced by
benchmarks/request_path.py's stub (a fixed page of 20 customers, no storage touched); everything else is the
real service on a fresh SQLite database. Per run and request kind, interleaved:

* ``ping``: the request path alone (HTTP parsing, routing, middleware, the dispatcher, the envelope);
* ``search (stub store)``: a guest's ``fetch_all_customers``, the web layer's and the domain's cost of a search.

For each, wrk loads the server for ``--duration`` seconds at ``--connections``, and the server's CPU seconds
(user + system, from /proc/<pid>/stat, over the process and its children) spent meanwhile are divided by the
requests wrk completed. The figures are medians of ``--runs`` runs, in microseconds of CPU per request.
Guest rate limits are off; metrics are off and the log level is ``warning`` (no access lines), as the typeahead
benchmarks run the server.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from benchmarks.request_path import PING, SEARCH, StubSearch
from benchmarks.run import ROOT, server, service_env, wrk_load

KINDS = {"ping": PING, "search (stub store)": SEARCH}
TARGET_US = 500


def serve_stubbed(port: int) -> None:
    """``erpnext-medusa serve`` in this process (one worker), its app built with the stubbed search port."""
    from erpnext_medusa.cli import commands
    from erpnext_medusa.config import get_settings
    from erpnext_medusa.services import Services
    from erpnext_medusa.web import app

    def stubbed() -> object:
        services = Services.from_settings(get_settings())
        return app.create_app(services=replace(services, store=StubSearch(services.store)))  # type: ignore[arg-type]

    app.create_served_app = stubbed  # type: ignore[assignment]  # what serve hands uvicorn, by its path
    commands.serve(host="127.0.0.1", port=port, workers=1, demo=False)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and of its live children (the workers, if any)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per request kind (the median is printed)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of wrk per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=18095)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the server's own process
    args = parser.parse_args(argv)
    if args.serve:
        serve_stubbed(args.port)
        return 0
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed")
    work = Path(tempfile.mkdtemp(prefix="erpnext-medusa-http-overhead-"))
    try:
        env = service_env(f"sqlite:///{work / 'service.db'}")
        command = [sys.executable, "-m", "benchmarks.http_overhead", "--serve", "--port", str(args.port)]
        figures: dict[str, list[float]] = {kind: [] for kind in KINDS}
        rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
        with server(env, args.port, 1, baseline=False, command=command) as proc:
            for path in KINDS.values():  # warm up: first requests build caches and compile statements
                wrk_load(f"http://127.0.0.1:{args.port}", [path], args.connections, 1, work)
            for _ in range(args.runs):  # interleaved, so that a busy moment of the machine spreads over both
                for kind, path in KINDS.items():
                    before = cpu_seconds(proc.pid)
                    load = wrk_load(f"http://127.0.0.1:{args.port}", [path], args.connections, args.duration, work)
                    spent = cpu_seconds(proc.pid) - before
                    assert load is not None
                    if load["errors"]:
                        raise SystemExit(f"{kind}: {load['errors']} answers were not 200")
                    figures[kind].append(spent / load["requests"])
                    rates[kind].append(load["rate"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"uvicorn as `serve` runs it, 1 worker, wrk -c{args.connections} -d{args.duration:g}s, median of "
          f"{args.runs} runs; server CPU microseconds per request (user + system)")  # fmt: skip
    print(f"{'request':<22}{'median':>10}{'min':>10}{'max':>10}{'vs ping':>10}{'req/s':>10}")
    ping = statistics.median(figures["ping"])
    for kind, runs in figures.items():
        median = statistics.median(runs)
        print(f"{kind:<22}{median * 1e6:>10.0f}{min(runs) * 1e6:>10.0f}{max(runs) * 1e6:>10.0f}"
              f"{median / ping:>9.2f}x{statistics.median(rates[kind]):>10.0f}")  # fmt: skip
    stub = statistics.median(figures["search (stub store)"])
    print(f"search outside the database under wrk (stub store): {stub * 1e6:.0f} us (target <= {TARGET_US} us)")
    return 0


if __name__ == "__main__":
    os.chdir(ROOT.parent)
    sys.exit(main())
