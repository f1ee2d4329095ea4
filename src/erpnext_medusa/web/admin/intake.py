"""``/admin/intake``, on a live site only: the Medusa customers whose Lead the site refused (its own mandatory
fields, say), each with the site's reason, to retry once the site or the data is fixed, or to dismiss."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from erpnext_medusa.domain.accounts import GUEST
from erpnext_medusa.domain.errors import ServiceError
from erpnext_medusa.domain.intake import Kept, retry_kept
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

router = APIRouter(prefix=f"{PREFIX}/intake", include_in_schema=False)
#: Kept events one page lists (the most recently attempted first).
PAGE = 200
#: A retry that began this long ago and never ended (its process stopped) may be taken again.
STALE_RETRY = timedelta(minutes=10)


@router.get("")
def intake_page(request: Request, who: SignedIn) -> Response:
    site = services_of(request).site
    rows = [] if site is None else site.mirror.intake_failures(("failed", "retrying"), limit=PAGE)
    return render(request, "intake.html", who, rows=rows, live=site is not None)


@router.post("/{event_id:path}/retry")
async def intake_retry(request: Request, who: SignedIn, event_id: str, csrf_token: FormText = "") -> Response:
    return await _act(request, who, event_id, csrf_token, retry=True)


@router.post("/{event_id:path}/dismiss")
async def intake_dismiss(request: Request, who: SignedIn, event_id: str, csrf_token: FormText = "") -> Response:
    return await _act(request, who, event_id, csrf_token, retry=False)


async def _act(request: Request, who: Visitor, event_id: str, csrf_token: str, *, retry: bool) -> Response:
    services = services_of(request)
    back = redirect(f"{PREFIX}/intake")
    try:
        check_form_token(who, csrf_token)
        if services.site is None:
            return set_flash(back, "error", "Kept intake events exist only on a live ERPNext site.", request)
        if not retry:
            done = services.site.mirror.settle_intake_failure(event_id, "dismissed")
            message = f"Dismissed {event_id}." if done else f"{event_id} is not waiting any more."
            return set_flash(back, "success" if done else "error", message, request)
        outcome = await run_in_threadpool(
            retry_kept,
            services.store,
            services.site.mirror,
            event_id,
            services.stamp(GUEST),
            stale_before=services.now() - STALE_RETRY,
            source=services.settings.lead_source or None,
        )
    except ServiceError as exc:
        return set_flash(back, "error", exc.message, request)
    if outcome is None:
        return set_flash(back, "error", f"{event_id} is not waiting for a retry.", request)
    if isinstance(outcome, Kept):
        return set_flash(back, "error", f"The site refused it again: {outcome.message}", request)
    return set_flash(back, "success", f"Lead {outcome.lead} {outcome.outcome} for {event_id}.", request)
