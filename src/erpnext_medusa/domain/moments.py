"""Points in time given on the command line: an ISO date or date-time, or a duration such as ``30d``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from erpnext_medusa.domain.errors import ValidationFailedError

_DURATION = re.compile(r"([0-9]{1,6})\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta | None:
    """``90m``, ``12h``, ``30d`` or ``2w`` as a timedelta; None when ``text`` is not a duration."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        return None
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_moment(text: str, now: datetime, zone: ZoneInfo, *, ago: bool) -> datetime:
    """A naive timestamp in the site's zone (as ``now``): ``now`` minus (``ago``) or plus a duration, or an ISO
    date / date-time (one with an offset is converted to the site's zone; one without is taken as site time)."""
    duration = parse_duration(text)
    if duration is not None:
        return now - duration if ago else now + duration
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailedError(
            f"{text!r} is neither a duration (90m, 12h, 30d, 2w) nor an ISO date or date-time"
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment


def utc(moment: datetime, zone: ZoneInfo) -> datetime:
    """A naive timestamp in the site's zone as an aware UTC one."""
    return moment.replace(tzinfo=zone).astimezone(UTC)
