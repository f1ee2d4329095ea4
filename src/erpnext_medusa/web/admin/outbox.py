"""``/admin/outbox``: the changes sent to Medusa (the newest first, by state), each with its attempts and
Medusa's last answer; failed and dead events can be retried, delivered ones replayed (docs/medusa-sync.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from erpnext_medusa.domain import outbound as o
from erpnext_medusa.domain.errors import ServiceError
from erpnext_medusa.web.admin.pages import (
    PREFIX,
    FormText,
    SignedIn,
    Visitor,
    check_form_token,
    redirect,
    render,
    services_of,
    set_flash,
)

router = APIRouter(prefix=f"{PREFIX}/outbox", include_in_schema=False)
#: Events one page lists.
PAGE = 200


@router.get("")
def outbox_page(request: Request, who: SignedIn, state: str = "") -> Response:
    services = services_of(request)
    box = services.outbox
    assert box is not None
    shown = state if state in o.STATES else ""
    rows = box.events(states=(shown,) if shown else (), limit=PAGE)
    return render(
        request,
        "outbox.html",
        who,
        rows=rows,
        counts=box.counts(),
        state=shown,
        sending=services.medusa is not None,
        retryable=o.RETRYABLE,
        replayable=o.REPLAYABLE,
    )


@router.post("/{event_id:int}/retry")
async def outbox_retry(request: Request, who: SignedIn, event_id: int, csrf_token: FormText = "") -> Response:
    return await _again(request, who, event_id, csrf_token, o.RETRYABLE)


@router.post("/{event_id:int}/replay")
async def outbox_replay(request: Request, who: SignedIn, event_id: int, csrf_token: FormText = "") -> Response:
    return await _again(request, who, event_id, csrf_token, o.REPLAYABLE)


async def _again(request: Request, who: Visitor, event_id: int, csrf_token: str, states: tuple[str, ...]) -> Response:
    box = services_of(request).outbox
    assert box is not None
    back = redirect(f"{PREFIX}/outbox")
    try:
        check_form_token(who, csrf_token)
        done = await run_in_threadpool(box.send_again, [event_id], states=states)
    except ServiceError as exc:
        return set_flash(back, "error", exc.message, request)
    if not done:
        return set_flash(back, "error", f"Event {event_id} is not in a state to send again.", request)
    return set_flash(back, "success", f"Event {event_id} will be sent to Medusa now.", request)
