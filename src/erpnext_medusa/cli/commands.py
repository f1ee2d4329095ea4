"""The ``erpnext-medusa`` command line."""

from __future__ import annotations

import ipaddress
import json
import logging
import logging.config
import os
import secrets
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import SQLAlchemyError

import erpnext_medusa.cli.outbox as outbox_cli
import erpnext_medusa.cli.site as site_cli
from erpnext_medusa import logs
from erpnext_medusa.cli.created import CreatedNames
from erpnext_medusa.cli.documents import DocumentsFile, DocumentsFileError
from erpnext_medusa.cli.help import PlainCommand, PlainGroup
from erpnext_medusa.config import Settings, SettingsError, environment, load_settings, unknown_variables, variable
from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.domain.audit import AuditRecord
from erpnext_medusa.domain.errors import ServiceError
from erpnext_medusa.domain.importing import load_documents
from erpnext_medusa.domain.moments import parse_moment
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.migrate import MigrationError, Track, UpgradeReport, upgrade
from erpnext_medusa.store.sql.site import ERPNEXT_SITE_REFUSAL
from erpnext_medusa.store.sql.store import SqlStore

app = typer.Typer(
    cls=PlainGroup, help="ERPNext <-> Medusa customer service (Frappe-compatible HTTP API).", no_args_is_help=True
)
db_app = typer.Typer(cls=PlainGroup, help="Database schema.", no_args_is_help=True)
key_app = typer.Typer(cls=PlainGroup, help="API keys (Frappe-style key:secret pairs).", no_args_is_help=True)
audit_app = typer.Typer(cls=PlainGroup, help="The audit trail of writes.", invoke_without_command=True)
app.add_typer(db_app, name="db")
app.add_typer(key_app, name="api-key")
app.add_typer(audit_app, name="audit")
user_app = typer.Typer(
    cls=PlainGroup, help="The service's own users (on a database without ERPNext's).", no_args_is_help=True
)
app.add_typer(user_app, name="user")
app.add_typer(site_cli.site_app, name="erpnext")
app.add_typer(outbox_cli.outbox_app, name="outbox")
log = logging.getLogger("erpnext_medusa.cli")

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
#: From this many documents an import refreshes the planner's statistics.
_ANALYZE_FROM = 10_000
#: Below this many bytes (about 500 documents) no progress bar is drawn.
_PROGRESS_FROM = 100_000
DEMO_MARKER = ("Customer", "Ali Hassan")


def _first_line(exc: SQLAlchemyError) -> str:
    """The driver's own message, without SQLAlchemy's statement dump."""
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    return typer.Exit(code=1)


def _settings() -> Settings:
    """The settings every command starts from. A variable that looks like a setting but is not one stops the
    command (unless ERPNEXT_MEDUSA_ALLOW_UNKNOWN_VARIABLES is true: then it is a warning); a bad value is an error
    naming its variable."""
    unknown = unknown_variables(environment())
    try:
        settings = load_settings()
    except SettingsError as exc:
        _print_unknown(unknown, "warning")
        raise _fail(f"invalid settings: {exc}") from None
    if unknown and not settings.allow_unknown_variables:
        _print_unknown(unknown, "error")
        raise _fail(f"{len(unknown)} unknown setting(s); fix the name, or set {_ALLOW_UNKNOWN}=true to carry on")
    _print_unknown(unknown, "warning")
    return settings


_ALLOW_UNKNOWN = variable("allow_unknown_variables")


def _print_unknown(unknown: list[str], level: Literal["warning", "error"]) -> None:
    colour = "yellow" if level == "warning" else "red"
    for line in unknown:
        err.print(f"[{colour}]{level}:[/{colour}] {escape(line)}", highlight=False)


@contextmanager
def _services(migrate: bool = True, documents: bool = False, settings: Settings | None = None) -> Iterator[Services]:
    """Settings (``settings``, or read now), engine and (by default) an up-to-date schema; every failure is one
    clear line. ``documents``: the command serves or writes documents, which the standalone shape refuses on an
    ERPNext site's database."""
    services = Services.from_settings(settings or _settings())
    try:
        if migrate:
            upgrade(services.store.engine, stamp_time=services.now(), track=_track(services.settings))
        if documents and isinstance(services.store, SqlStore) and services.store.erpnext_site:
            raise _fail(ERPNEXT_SITE_REFUSAL)
        yield services
    except (MigrationError, SettingsError) as exc:
        raise _fail(str(exc)) from None
    except ServiceError as exc:
        raise _fail(exc.message) from None
    except SQLAlchemyError as exc:
        raise _fail(f"database error: {_first_line(exc)}") from None
    finally:
        services.close()


def _track(settings: Settings) -> Track:
    """The migrations of the shape: ERPNext's layout (standalone), or only the service's own tables."""
    return "site" if settings.backend == "erpnext" else "standalone"


site_cli.open_services = _services
outbox_cli.open_services = _services


def _load(services: Services, documents: Iterable[object], label: str, names: CreatedNames) -> CreatedNames:
    """Import the documents (a file is streamed; its progress is counted in bytes read) and tell ``names``."""
    size = documents.size if isinstance(documents, DocumentsFile) else 0
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=err, transient=True, disable=size < _PROGRESS_FROM,
    ) as progress:  # fmt: skip
        task = progress.add_task(escape(label), total=size)

        def advance(done: int) -> None:
            if isinstance(documents, DocumentsFile) and done % 1000 == 0:
                progress.update(task, completed=documents.bytes_read)

        load_documents(services.store, documents, services.stamp("Administrator"), names, advance)
    if names.total >= _ANALYZE_FROM and isinstance(services.store, SqlStore):  # let the planner see the new shape
        services.store.analyze(list(names.counts))
    return names


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def open_guest_refusal(settings: Settings, host: str) -> str | None:
    """Why ``serve`` will not start: guest endpoints left open on an address other machines can reach, without
    the host names it answers for (a page whose name is rebound to this address could read them)."""
    if settings.guest_access != "open" or _loopback(host) or settings.hosts_set:
        return None
    return (
        f"guest access is open and the service would listen on {host}, but ERPNEXT_MEDUSA_ALLOWED_HOSTS is not "
        "set: it answers only for localhost, 127.0.0.1 and [::1] until you name the host names clients use "
        "(a web page whose name is rebound to this address could otherwise read the open endpoints). Set "
        "ERPNEXT_MEDUSA_ALLOWED_HOSTS, or ERPNEXT_MEDUSA_GUEST_ACCESS=key or medusa-token, or bind to 127.0.0.1."
    )


def open_guest_warning(settings: Settings, host: str) -> str | None:
    """The start-up warning for guest endpoints left open on an address other machines can reach."""
    if settings.guest_access != "open" or _loopback(host):
        return None
    return (
        f"WARNING: guest access is open and the service listens on {host}: anyone who can reach it may list "
        "unlinked customers' contact details and change any customer's billing address. Set "
        "ERPNEXT_MEDUSA_GUEST_ACCESS=key or medusa-token, or bind to 127.0.0.1 behind your storefront."
    )


def default_hosts_warning(settings: Settings, host: str) -> str | None:
    """Listening beyond loopback while answering only the loopback names: say so, once."""
    if _loopback(host) or settings.hosts_set:
        return None
    return (
        f"The service listens on {host} but ERPNEXT_MEDUSA_ALLOWED_HOSTS is not set: requests for any host name "
        "but localhost, 127.0.0.1 and [::1] are answered 421. Set it to the names clients use."
    )


def port_refusal(host: str, port: int) -> str | None:
    """Why ``serve`` cannot listen on ``host:port`` (taken, or not an address of this machine), found before
    anything is migrated or announced."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(infos[0][4])
    except OSError as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror or exc} (choose another --port or --host)"
    return None


def _upgrade_message(report: UpgradeReport) -> str:
    """What ``db upgrade`` did, in one line; on an ERPNext site's database, then what it took off the site's
    tables (object by object), what it left there and why, and what to set next."""
    lines = [_upgrade_line(report)]
    if report.removed:
        lines.append("Removed from the ERPNext site's tables:")
        lines += [f"  - {what}" for what in report.removed]
    if report.kept:
        lines.append("Kept:")
        lines += [f"  - {what}" for what in report.kept]
    if report.erpnext_site:
        lines.append(f"Next: {ERPNEXT_SITE_REFUSAL}")
    return "\n".join(lines)


def _upgrade_line(report: UpgradeReport) -> str:
    if not report.applied:
        return f"Schema is up to date (revision {report.after})."
    first, last = report.applied[0], report.applied[-1]
    revisions = f"revision {first}" if first == last else f"revisions {first}-{last}"
    tables = ", ".join(report.created_tables)
    if report.before is None:
        return f"Created the schema ({revisions}): tables {tables or 'none new, they all existed'}."
    return f"Upgraded from {report.before} to {report.after}" + (f"; new tables {tables}." if tables else ".")


def load_demo(services: Services) -> bool:
    """Load the bundled demo data unless it is already there; True when it was loaded now."""
    doctype, name = DEMO_MARKER
    if services.store.read(lambda tx: tx.stored_names(doctype, [name])):
        return False
    docs = json.loads(files("erpnext_medusa").joinpath("data/demo.json").read_text(encoding="utf-8"))
    _load(services, docs, "demo", CreatedNames())
    return True


DEMO_ADMIN = "admin"


def create_first_admin(services: Services) -> str | None:
    """Create the user ``admin`` with a generated password when the database has no user yet (and no ERPNext
    users), so that the demo's /admin can be signed in to; the password, returned here, is stored only hashed."""
    if services.accounts.erpnext or services.accounts.list_users():
        return None
    password = secrets.token_urlsafe(18)
    services.accounts.add_user(DEMO_ADMIN, "Demo administrator", password, services.now())
    return password


@app.command(cls=PlainCommand)
def serve(
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, metavar="COUNT", help="Worker processes.")] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="Load the bundled demo data first.")] = False,
) -> None:
    """Apply pending migrations, optionally load the demo data, and serve HTTP."""
    import uvicorn

    from erpnext_medusa.web.server import BoundedHttpToolsProtocol

    chosen = _settings()
    refusal = open_guest_refusal(chosen, host) or port_refusal(host, port)
    if refusal:
        raise _fail(refusal)
    with _services(documents=True, settings=chosen) as services:
        if demo and services.site is not None:
            raise _fail("--demo loads documents of the service's own: it is for the standalone shape (a live site's "
                        "documents are its own; `erpnext sync` fills the mirror)")  # fmt: skip
        if demo:
            loaded = load_demo(services)
            err.print("Demo data loaded." if loaded else "Demo data already present.")
            password = create_first_admin(services)
            if password is not None:
                err.print(
                    f"Created the user {DEMO_ADMIN} for /admin; its password, shown only now: {password}",
                    markup=False, highlight=False, soft_wrap=True,
                )  # fmt: skip
        settings = services.settings
        erpnext_users = services.accounts.erpnext
    log_config = logs.uvicorn_config(settings.log_level, settings.log_format)
    logging.config.dictConfig(log_config)
    for warning in (open_guest_warning(settings, host), default_hosts_warning(settings, host)):
        if warning:
            log.warning(warning)
    if erpnext_users and not settings.encryption_key.get_secret_value():
        log.warning(
            "This database has ERPNext users, but ERPNEXT_MEDUSA_ENCRYPTION_KEY is not set: ERPNext's API keys "
            "are not accepted (their secrets cannot be decrypted). Set it to the site's encryption_key."
        )
    err.print(f"Serving on http://{host}:{port} (API docs at /docs)")
    with _metrics_folder(settings.metrics_on):
        # The protocol bounds request heads (web/server.py); proxy_headers off: X-Forwarded-For is believed only
        # from ERPNEXT_MEDUSA_TRUSTED_PROXIES, by the app.
        uvicorn.run(
            "erpnext_medusa.web.app:create_served_app", factory=True, host=host, port=port, workers=workers,
            log_level=settings.log_level, log_config=log_config, proxy_headers=False, http=BoundedHttpToolsProtocol,
            access_log=settings.log_format == "text", limit_concurrency=settings.max_connections,
        )  # fmt: skip


@contextmanager
def _metrics_folder(enabled: bool) -> Iterator[None]:
    """With metrics on, a fresh folder where every worker writes its figures (the Prometheus client's
    multiprocess mode), removed when the server stops. Set before any worker imports the client."""
    if not enabled or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # an operator's own folder is kept as is
        yield
        return
    folder = tempfile.mkdtemp(prefix="erpnext-medusa-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    try:
        yield
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
        shutil.rmtree(folder, ignore_errors=True)


@db_app.command("upgrade", cls=PlainCommand)
def db_upgrade() -> None:
    """Create or upgrade the schema (on an ERPNext site's database: take the service's additions off its tables)."""
    with _services(migrate=False) as services:
        report = upgrade(services.store.engine, stamp_time=services.now(), track=_track(services.settings))
    err.print(_upgrade_message(report), markup=False, highlight=False)


@app.command("import", cls=PlainCommand)
def import_files(
    paths: Annotated[
        list[Path],
        typer.Argument(exists=True, dir_okay=False, metavar="FILE...", help="JSON or JSON-lines files."),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per file: the file and the names created per DocType.")
    ] = False,
) -> None:
    """Load Frappe-style documents; each file is loaded whole or not at all. Lists the names given."""
    with _services(documents=True) as services:
        for done, path in enumerate(paths):
            names = CreatedNames(spool=as_json)  # with --json every name, spooled to disk until the commit
            try:
                _load(services, DocumentsFile(path), path.name, names)
                if as_json:
                    names.write_json(sys.stdout, str(path))
                else:
                    out.print(f"{path}: " + "\n".join(names.lines()), markup=False, highlight=False)
            except ServiceError as exc:
                raise _fail(f"{path}: {exc.message}; nothing from this file was written") from None
            except DocumentsFileError as exc:
                raise _fail(f"{path}: {exc}; nothing from this file was written") from None
            except SQLAlchemyError as exc:
                raise _fail(f"{path}: {_first_line(exc)}; nothing from this file was written") from None
            except KeyboardInterrupt:
                kept = f"the {done} file(s) before it were imported" if done else "no file was imported"
                err.print(f"Interrupted: nothing from {path} was written; {kept}.", markup=False, highlight=False)
                raise typer.Exit(code=130) from None
            finally:
                names.close()


@app.command(cls=PlainCommand)
def demo() -> None:
    """Load the bundled demo data set."""
    with _services(documents=True) as services:
        loaded = load_demo(services)
        err.print("Demo data loaded." if loaded else "Demo data already present; nothing to do.")


@key_app.command("create", cls=PlainCommand)
def api_key_create(
    user: Annotated[str, typer.Option(metavar="USER", help="The user the key acts as (e.g. an e-mail address).")],
    expires: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN", help="Refuse the key from then on: a duration (90m, 12h, 30d, 2w) or ISO date-time."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Create a key/secret pair; the secret is printed once and stored only as a hash."""
    with _services() as services:
        now = services.now()
        expires_at = parse_moment(expires, now, services.settings.zone, ago=False) if expires else None
        new = create_api_key(services.keys, user, now, expires_at)
    expiry = f"{expires_at:%Y-%m-%d %H:%M:%S}" if expires_at else None
    if as_json:
        document = {"user": new.user, "api_key": new.api_key, "api_secret": new.api_secret, "expires": expiry}
        sys.stdout.write(json.dumps(document) + "\n")
        return
    out.print(
        f"user:       {new.user}\napi_key:    {new.api_key}\napi_secret: {new.api_secret}\n"
        f"expires:    {expiry or 'never'}",
        markup=False,
        highlight=False,
    )
    err.print(f"Send it as: Authorization: token {new.api_key}:<api_secret>. The secret is not shown again.")


@key_app.command("list", cls=PlainCommand)
def api_key_list() -> None:
    """List keys (never their secrets): creation, last use, expiry and revocation."""
    with _services() as services:
        records = services.keys.list_api_keys()

    def when(moment: datetime | None) -> str:
        return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"

    # Plain aligned lines, never shortened, so keys can be copied and the output piped.
    lines = [("api_key", "user", "created", "last used", "expires", "revoked")]
    lines += [
        (r.api_key, r.user, when(r.created_at), when(r.last_used_at), when(r.expires_at), when(r.revoked_at))
        for r in records
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n")


@key_app.command("revoke", cls=PlainCommand)
def api_key_revoke(key: Annotated[str, typer.Argument(metavar="API_KEY", help="The api_key to revoke.")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    with _services() as services:
        if not services.keys.revoke_api_key(key, services.now()):
            raise _fail(f"no active API key {key}")
    err.print(f"Revoked {key}.", markup=False, highlight=False)


def _read_password() -> str:
    """The new password: asked twice at a terminal, else the first line of standard input (never an argument,
    which other users of the machine could read)."""
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@user_app.command("create", cls=PlainCommand)
def user_create(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The user's name, as typed at login.")],
    full_name: Annotated[str, typer.Option(metavar="NAME", help="The name shown (default: EMAIL).")] = "",
) -> None:
    """Create a user who may log in (POST /api/method/login); the password is read from a prompt or stdin."""
    with _services() as services:
        if services.accounts.erpnext:
            raise _fail("this database has ERPNext users: log in with them (manage them in ERPNext)")
        name = email.strip()
        if not name or len(name) > 140:
            raise _fail("EMAIL must be 1 to 140 characters")
        password = _read_password()
        if not 8 <= len(password) <= 512:
            raise _fail("the password must be 8 to 512 characters")
        if services.accounts.find_account(name) is not None:
            raise _fail(f"user {name} already exists")
        services.accounts.add_user(name, full_name.strip() or name, password, services.now())
    err.print(f"Created user {name}.", markup=False, highlight=False)


@user_app.command("list", cls=PlainCommand)
def user_list() -> None:
    """List the service's own users."""
    with _services() as services:
        users = services.accounts.list_users()
    for name, full_name, enabled in users:
        sys.stdout.write(f"{name}  {full_name}  {'enabled' if enabled else 'disabled'}\n")


@user_app.command("disable", cls=PlainCommand)
def user_disable(email: Annotated[str, typer.Argument(metavar="EMAIL", help="The user to disable.")]) -> None:
    """Disable a user: logins are refused from now on."""
    with _services() as services:
        if not services.accounts.disable_user(email.strip()):
            raise _fail(f"no enabled user {email}")
    err.print(f"Disabled {email}.", markup=False, highlight=False)


def _audit_line(record: AuditRecord) -> str:
    who = record.user
    if record.client:
        who += f" from {record.client}"
    if record.storefront_key:
        who += f" key {record.storefront_key}"
    if record.medusa_actor:
        who += f" medusa {record.medusa_actor}"
    request = record.request_id or "-"
    if record.client_request_id:
        request += f" (client's id {record.client_request_id})"
    head = f"{record.at:%Y-%m-%d %H:%M:%S}  {record.action}  {who}  request {request}"
    body = [
        f"    {document}: " + (", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in fields.items()) or "touched")
        for document, fields in record.changes.items()
    ]
    return "\n".join([head, *body])


@audit_app.callback()
def audit(
    ctx: typer.Context,
    customer: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only writes to this Customer (its name).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(metavar="WHEN", help="Only writes since then: a duration (90m, 12h, 30d, 2w) or ISO date-time."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, metavar="COUNT", help="At most this many (the newest).")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """List the audit trail, oldest first: who changed what, when, from where, from what to what."""
    if ctx.invoked_subcommand is not None:
        return
    with _services() as services:
        start = parse_moment(since, services.now(), services.settings.zone, ago=True) if since else None
        records = services.audit.list_audit(customer=customer, since=start, limit=limit)
    for record in records:
        if as_json:
            sys.stdout.write(json.dumps(record.as_json(), ensure_ascii=False) + "\n")
        else:
            out.print(_audit_line(record), markup=False, highlight=False)


@audit_app.command("prune", cls=PlainCommand)
def audit_prune() -> None:
    """Delete audit rows older than ERPNEXT_MEDUSA_AUDIT_RETENTION_DAYS."""
    with _services() as services:
        if services.settings.audit_retention_days is None:
            raise _fail("ERPNEXT_MEDUSA_AUDIT_RETENTION_DAYS is not set: audit rows are kept forever")
        deleted = services.prune_audit()
    err.print(f"Deleted {deleted} audit rows older than {services.settings.audit_retention_days} days.")


def main() -> None:
    app()
