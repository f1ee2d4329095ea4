"""domain/moments.py: the points in time of ``--since`` and ``--expires``: a duration back or ahead of now, or an
ISO date or date-time in the site's zone (one with an offset converted to it), and site time as UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from erpnext_medusa.domain.errors import ValidationFailedError
from erpnext_medusa.domain.moments import parse_duration, parse_moment, utc

DUBAI = ZoneInfo("Asia/Dubai")
NOW = datetime(2026, 3, 4, 12, 0, 0)  # naive, in the site's zone


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("90m", timedelta(minutes=90)),
        ("12h", timedelta(hours=12)),
        ("30d", timedelta(days=30)),
        ("2w", timedelta(weeks=2)),
        (" 30 D ", timedelta(days=30)),  # spaces around and between, and either case
        ("0d", timedelta(0)),
        ("999999m", timedelta(minutes=999_999)),
    ],
)
def test_durations(text, duration):
    assert parse_duration(text) == duration


@pytest.mark.parametrize("text", ["", "30", "d", "1y", "30s", "1d2h", "-5d", "1.5h", "1000000m", "2026-01-01"])
def test_what_is_not_a_duration(text):
    assert parse_duration(text) is None


def test_a_duration_counts_back_for_since_and_ahead_for_expires():
    assert parse_moment("1h", NOW, DUBAI, ago=True) == datetime(2026, 3, 4, 11, 0, 0)
    assert parse_moment("30d", NOW, DUBAI, ago=False) == datetime(2026, 4, 3, 12, 0, 0)


def test_a_date_or_date_time_without_an_offset_is_site_time():
    assert parse_moment("2026-01-02", NOW, DUBAI, ago=True) == datetime(2026, 1, 2)
    assert parse_moment(" 2026-01-02T03:04:05 ", NOW, DUBAI, ago=False) == datetime(2026, 1, 2, 3, 4, 5)


def test_a_date_time_with_an_offset_is_converted_to_the_sites_zone():
    assert parse_moment("2026-01-02T00:00:00+00:00", NOW, DUBAI, ago=True) == datetime(2026, 1, 2, 4, 0, 0)
    assert parse_moment("2026-01-02T10:00:00+04:00", NOW, DUBAI, ago=True) == datetime(2026, 1, 2, 10, 0, 0)


@pytest.mark.parametrize("text", ["last tuesday", "2026-13-01", "", "1y"])
def test_anything_else_is_refused_saying_what_is_accepted(text):
    with pytest.raises(ValidationFailedError) as err:
        parse_moment(text, NOW, DUBAI, ago=True)
    assert err.value.message == f"{text!r} is neither a duration (90m, 12h, 30d, 2w) nor an ISO date or date-time"


def test_site_time_as_utc():
    assert utc(datetime(2026, 1, 2, 4, 0, 0), DUBAI) == datetime(2026, 1, 2, 0, 0, 0, tzinfo=UTC)
    assert utc(datetime(2026, 1, 2, 4, 0, 0), ZoneInfo("UTC")) == datetime(2026, 1, 2, 4, 0, 0, tzinfo=UTC)
