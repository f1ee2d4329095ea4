"""The ``erpnext-medusa`` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import pydantic
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import SQLAlchemyError

from erpnext_medusa.config import Settings, SettingsError
from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.domain.errors import ServiceError
from erpnext_medusa.domain.importing import import_documents, read_documents
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.migrate import MigrationError, upgrade

app = typer.Typer(help="ERPNext <-> Medusa customer service (Frappe-compatible HTTP API).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
key_app = typer.Typer(help="API keys (Frappe-style key:secret pairs).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(key_app, name="api-key")

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
#: Below this many documents no progress bar is drawn.
_PROGRESS_FROM = 500
DEMO_MARKER = ("Customer", "Ali Hassan")


def _first_line(exc: SQLAlchemyError) -> str:
    """The driver's own message, without SQLAlchemy's statement dump."""
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    return typer.Exit(code=1)


@contextmanager
def _services(migrate: bool = True) -> Iterator[Services]:
    """Settings, engine and (by default) an up-to-date schema; every failure is one clear line."""
    try:
        settings = Settings()
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"ERPNEXT_MEDUSA_{'_'.join(str(part) for part in e['loc']).upper()}: "
            + str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise _fail(f"invalid settings: {problems}") from None
    services = Services.from_settings(settings)
    try:
        if migrate:
            upgrade(services.store.engine, stamp_time=services.now())
        yield services
    except (MigrationError, SettingsError) as exc:
        raise _fail(str(exc)) from None
    except ServiceError as exc:
        raise _fail(exc.message) from None
    except SQLAlchemyError as exc:
        raise _fail(f"database error: {_first_line(exc)}") from None
    finally:
        services.close()


def _load(services: Services, docs: list[object], label: str) -> dict[str, int]:
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=err, transient=True, disable=len(docs) < _PROGRESS_FROM,
    ) as progress:  # fmt: skip
        task = progress.add_task(escape(label), total=len(docs))
        return import_documents(
            services.store, docs, services.stamp("Administrator"), lambda done: progress.update(task, completed=done)
        )


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {doctype}" for doctype, n in sorted(counts.items())) or "nothing"


def load_demo(services: Services) -> bool:
    """Load the bundled demo data unless it is already there; True when it was loaded now."""
    doctype, name = DEMO_MARKER
    if services.store.read(lambda tx: tx.stored_names(doctype, [name])):
        return False
    docs = json.loads(files("erpnext_medusa").joinpath("data/demo.json").read_text(encoding="utf-8"))
    _load(services, docs, "demo")
    return True


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="Load the bundled demo data first.")] = False,
) -> None:
    """Apply pending migrations, optionally load the demo data, and serve HTTP."""
    import uvicorn

    with _services() as services:
        if demo:
            loaded = load_demo(services)
            err.print("Demo data loaded." if loaded else "Demo data already present.")
        log_level = services.settings.log_level
    err.print(f"Serving on http://{host}:{port} (API docs at /docs)")
    uvicorn.run(
        "erpnext_medusa.web.app:create_app", factory=True, host=host, port=port, workers=workers,
        log_level=log_level,
    )  # fmt: skip


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema (never drops or retypes an ERPNext column)."""
    with _services():
        err.print("Schema is up to date.")


@app.command("import")
def import_files(
    paths: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="JSON or JSON-lines files.")],
) -> None:
    """Load Frappe-style documents; each file is loaded whole or not at all."""
    with _services() as services:
        for path in paths:
            try:
                counts = _load(services, read_documents(path), path.name)
            except ServiceError as exc:
                raise _fail(f"{path}: {exc.message}; nothing from this file was written") from None
            except SQLAlchemyError as exc:
                raise _fail(f"{path}: {_first_line(exc)}; nothing from this file was written") from None
            err.print(f"{path}: imported {_summary(counts)}", markup=False, highlight=False)


@app.command()
def demo() -> None:
    """Load the bundled demo data set."""
    with _services() as services:
        loaded = load_demo(services)
        err.print("Demo data loaded." if loaded else "Demo data already present; nothing to do.")


@key_app.command("create")
def api_key_create(
    user: Annotated[str, typer.Option(help="The user the key acts as (e.g. an e-mail address).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Create a key/secret pair; the secret is printed once and stored only as a hash."""
    with _services() as services:
        new = create_api_key(services.keys, user, services.now())
    if as_json:
        sys.stdout.write(json.dumps({"user": new.user, "api_key": new.api_key, "api_secret": new.api_secret}) + "\n")
        return
    out.print(
        f"user:       {new.user}\napi_key:    {new.api_key}\napi_secret: {new.api_secret}",
        markup=False,
        highlight=False,
    )
    err.print(f"Send it as: Authorization: token {new.api_key}:<api_secret>. The secret is not shown again.")


@key_app.command("list")
def api_key_list() -> None:
    """List keys (never their secrets)."""
    with _services() as services:
        records = services.keys.list_api_keys()

    def when(moment: datetime | None) -> str:
        return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"

    # Plain aligned lines, never shortened, so keys can be copied and the output piped.
    lines = [("api_key", "user", "created", "last used", "revoked")]
    lines += [(r.api_key, r.user, when(r.created_at), when(r.last_used_at), when(r.revoked_at)) for r in records]
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    for line in lines:
        sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n")


@key_app.command("revoke")
def api_key_revoke(key: Annotated[str, typer.Argument(help="The api_key to revoke.")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    with _services() as services:
        if not services.keys.revoke_api_key(key, services.now()):
            raise _fail(f"no active API key {key}")
    err.print(f"Revoked {key}.", markup=False, highlight=False)


def main() -> None:
    app()
