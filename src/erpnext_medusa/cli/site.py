"""``erpnext-medusa erpnext setup|check|sync``: prepare a live ERPNext site, report drift, fill the mirror."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from erpnext_medusa.cli.help import PlainCommand, PlainGroup
from erpnext_medusa.domain.accounts import GUEST
from erpnext_medusa.domain.errors import ServiceError
from erpnext_medusa.domain.intake import Kept, retry_kept
from erpnext_medusa.services import Services
from erpnext_medusa.store.site.feed import MIRRORED
from erpnext_medusa.store.site.setup import Finding, Target, check, setup

site_app = typer.Typer(
    cls=PlainGroup, help="A live ERPNext site (ERPNEXT_MEDUSA_BACKEND=erpnext).", no_args_is_help=True
)
out = Console(soft_wrap=True)
#: A retry that began this long ago and never ended (its process died) may be taken again.
RETRY_STALE_AFTER = timedelta(minutes=10)
err = Console(stderr=True, soft_wrap=True)
#: How a command opens the services (settings checked, schema upgraded): set by cli/commands.py, which
#: registers these commands, so that this module needs no import back into it.
open_services: Callable[[], AbstractContextManager[Services]] | None = None


@contextmanager
def _site() -> Iterator[Services]:
    assert open_services is not None
    with open_services() as services:
        if services.site is None:
            err.print("[red]error:[/red] set ERPNEXT_MEDUSA_BACKEND=erpnext and the site's URL, key and secret first")
            raise typer.Exit(code=1)
        yield services


def _target(services: Services) -> Target:
    assert services.site is not None
    settings = services.settings
    return Target(
        services.site.client, settings.public_url, services.site.webhook_secret, settings.erpnext_medusa_id_field
    )


def _report(findings: list[Finding]) -> int:
    """Print the findings; the number that are not ok."""
    for finding in findings:
        mark = "[green]ok[/green]     " if finding.ok else "[red]missing[/red]"
        detail = f": {escape(finding.detail)}" if finding.detail else ""
        out.print(f"{mark} {escape(finding.what)}{detail}", highlight=False)
    return sum(not f.ok for f in findings)


@site_app.command("check", cls=PlainCommand)
def site_check() -> None:
    """Check the site (key, permissions, Custom Fields, Webhooks) and the mirror against it; exit 1 on drift."""
    with _site() as services:
        assert services.site is not None
        try:
            problems = _report(check(_target(services)))
            for doctype in MIRRORED:
                on_site = services.site.client.call("frappe.client.get_count", doctype=doctype)
                mirrored = services.site.mirror.count(doctype)
                ok = doctype == "Lead" or int(on_site or 0) == mirrored
                problems += not ok
                _report([Finding(f"mirror {doctype}", ok, f"{mirrored} mirrored, {on_site} on the site")])
        except ServiceError as exc:
            raise _failed(exc) from None
    raise typer.Exit(code=1 if problems else 0)


@site_app.command("setup", cls=PlainCommand)
def site_setup() -> None:
    """Create what the site lacks (the medusa_id Custom Fields, the Webhooks); safe to run again."""
    with _site() as services:
        try:
            problems = _report(setup(_target(services)))
        except ServiceError as exc:
            raise _failed(exc) from None
    raise typer.Exit(code=1 if problems else 0)


@site_app.command("sync", cls=PlainCommand)
def site_sync(
    full: Annotated[
        bool, typer.Option("--full/--changes", help="Every document (default), or only the changes.")
    ] = True,
) -> None:
    """Fill the mirror from the site, page by page; a sync that stopped goes on where it was."""
    with _site() as services:
        site = services.site
        assert site is not None
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        try:
            with Progress(*columns, console=err, transient=False) as progress:
                tasks = {}
                for doctype in MIRRORED:
                    total = site.client.call("frappe.client.get_count", doctype=doctype)
                    tasks[doctype] = progress.add_task(doctype, total=int(total or 0) or None)
                reports = site.feed.reconcile(
                    full=full, progress=lambda doctype, count: progress.advance(tasks[doctype], count)
                )
        except ServiceError as exc:
            raise _failed(exc) from None
    for report in reports:
        out.print(f"{report.doctype}: {report.read} read, {report.changed} changed, {report.removed} removed")


def _failed(exc: ServiceError) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(exc.message or type(exc).__name__)}", highlight=False)
    return typer.Exit(code=1)


@site_app.command("failed", cls=PlainCommand)
def site_failed() -> None:
    """List the Medusa customers whose Lead the site refused, with the site's reason."""
    with _site() as services:
        assert services.site is not None
        failures = services.site.mirror.intake_failures(("failed", "retrying"), limit=1000)
    for f in failures:
        reason = f"{f.exc_type}: {f.message}" if f.exc_type else f.message
        out.print(f"{escape(f.event_id)}  {escape(f.medusa_id)}  {f.attempts} attempt(s)  {escape(reason)}")


@site_app.command("retry", cls=PlainCommand)
def site_retry(
    event: Annotated[str, typer.Argument(metavar="EVENT_ID", help="The event to run again ('all': every one).")],
) -> None:
    """Run kept events again (after the site or the data was fixed); exit 1 if any is still refused."""
    with _site() as services:
        site = services.site
        assert site is not None
        ids = (
            [f.event_id for f in site.mirror.intake_failures(("failed",), limit=10_000)] if event == "all" else [event]
        )
        refused = 0
        for event_id in ids:
            try:
                outcome = retry_kept(
                    services.store, site.mirror, event_id, services.stamp(GUEST),
                    stale_before=services.now() - RETRY_STALE_AFTER, source=services.settings.lead_source or None,
                )  # fmt: skip
            except ServiceError as exc:
                raise _failed(exc) from None
            if outcome is None:
                err.print(f"{escape(event_id)}: no open failure to retry", highlight=False)
                refused += 1
            elif isinstance(outcome, Kept):
                out.print(f"{escape(event_id)}: still refused: {escape(outcome.message)}", highlight=False)
                refused += 1
            else:
                out.print(f"{escape(event_id)}: Lead {escape(outcome.lead)} {outcome.outcome}", highlight=False)
    raise typer.Exit(code=1 if refused else 0)


@site_app.command("dismiss", cls=PlainCommand)
def site_dismiss(event: Annotated[str, typer.Argument(metavar="EVENT_ID", help="The event to give up on.")]) -> None:
    """Give up on a kept event: its contact data is dropped."""
    with _site() as services:
        assert services.site is not None
        if not services.site.mirror.settle_intake_failure(event, "dismissed"):
            err.print(f"[red]error:[/red] no open failure {escape(event)}", highlight=False)
            raise typer.Exit(code=1)
    out.print(f"Dismissed {escape(event)}.", highlight=False)
