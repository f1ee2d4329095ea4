"""``erpnext-medusa outbox list|retry|replay``: the changes sent to Medusa (docs/medusa-sync.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from erpnext_medusa.cli.help import PlainCommand, PlainGroup
from erpnext_medusa.domain import outbound as o
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.outbox import Outbox

outbox_app = typer.Typer(
    cls=PlainGroup, help="The outbox of changes sent to Medusa: list, retry, replay.", no_args_is_help=True
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
#: Set by cli/commands.py, which registers these commands.
open_services: Callable[[], AbstractContextManager[Services]] | None = None


@contextmanager
def _outbox() -> Iterator[Outbox]:
    assert open_services is not None
    with open_services() as services:
        assert services.outbox is not None
        yield services.outbox


@outbox_app.command("list", cls=PlainCommand)
def list_events(
    state: Annotated[
        list[str], typer.Option(metavar="STATE", help=f"Only events in this state ({', '.join(o.STATES)}).")
    ] = [],  # noqa: B006
    customer: Annotated[str, typer.Option(metavar="CUSTOMER", help="Only this Customer's events.")] = "",
    limit: Annotated[int, typer.Option(metavar="N", min=1, max=10_000, help="Events shown, at most.")] = 50,
) -> None:
    """The newest events first: id, state, attempts, Customer, Medusa customer, changed fields, Medusa's last
    answer; then the count in each state."""
    unknown = [s for s in state if s not in o.STATES]
    if unknown:
        err.print(f"[red]error:[/red] unknown state {escape(', '.join(unknown))}; the states are {', '.join(o.STATES)}")
        raise typer.Exit(code=2)
    with _outbox() as box:
        for e in box.events(states=state, customer=customer or None, limit=limit):
            answer = "" if e.last_status is None and not e.last_error else f" [{e.last_status}] {e.last_error or ''}"
            out.print(
                f"{e.id}\t{e.state}\t{e.attempts}\t{e.customer}\t{e.medusa_id}\t{','.join(e.changed)}"
                f"\t{e.created_at:%Y-%m-%d %H:%M:%S}{escape(answer[:200])}",
                highlight=False,
            )
        counts = box.counts()
    out.print(" ".join(f"{s}={n}" for s, n in counts.items()), highlight=False)


def _send_again(ids: list[int], every: bool, states: tuple[str, ...], every_states: tuple[str, ...]) -> None:
    if not ids and not every:
        err.print("[red]error:[/red] name event ids, or --all")
        raise typer.Exit(code=2)
    with _outbox() as box:
        wanted = box.ids_in(every_states) if every else ids
        done = box.send_again(wanted, states=states)
    skipped = sorted(set(wanted) - set(done))
    out.print(f"{len(done)} event(s) due now" + (f"; not in a state to send: {skipped}" if skipped else ""))
    if skipped and not every:
        raise typer.Exit(code=1)


@outbox_app.command(cls=PlainCommand)
def retry(
    ids: Annotated[list[int], typer.Argument(metavar="ID...", help="Event ids.")] = [],  # noqa: B006
    every: Annotated[bool, typer.Option("--all", help="Every failed and dead event.")] = False,
) -> None:
    """Send failed or dead events now, their attempts counted afresh."""
    _send_again(ids, every, o.RETRYABLE, o.RETRYABLE)


@outbox_app.command(cls=PlainCommand)
def replay(
    ids: Annotated[list[int], typer.Argument(metavar="ID...", help="Event ids.")] = [],  # noqa: B006
    every: Annotated[bool, typer.Option("--all", help="Every dead event.")] = False,
) -> None:
    """Send events again, delivered ones included (Medusa restored from a backup, say). An event older than one
    already delivered for its Customer is superseded instead: the newer values stay."""
    _send_again(ids, every, o.REPLAYABLE, (o.DEAD,))
