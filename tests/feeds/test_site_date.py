"""SITE_DATE: a date (previewed at noon) or an ISO date-time (school time unless it has an
offset); anything else is one clear message. The one home of the rule is
school_feeds/site_date.py."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from school_feeds.site_date import SiteDateError, parse_site_date, site_now, site_today

TZ = "America/New_York"
SCHOOL = ZoneInfo(TZ)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-27", datetime(2026, 1, 27, 12, 0, tzinfo=SCHOOL)),
        ("2026-01-27T07:00", datetime(2026, 1, 27, 7, 0, tzinfo=SCHOOL)),
        ("2026-01-27 07:00", datetime(2026, 1, 27, 7, 0, tzinfo=SCHOOL)),
        ("2026-01-27T07:00:30", datetime(2026, 1, 27, 7, 0, 30, tzinfo=SCHOOL)),
        ("2026-01-27T12:00Z", datetime(2026, 1, 27, 7, 0, tzinfo=SCHOOL)),
        (" 2026-01-27T07:00 ", datetime(2026, 1, 27, 7, 0, tzinfo=SCHOOL)),
    ],
)
def test_dates_and_date_times(value, expected):
    parsed = parse_site_date(value, TZ)
    assert parsed == expected and parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("value", ["27/01/2026", "2026-13-01", "tomorrow", "2026-01-27T25:00"])
def test_bad_values_say_what_to_write(value):
    with pytest.raises(SiteDateError) as caught:
        parse_site_date(value, TZ)
    message = str(caught.value)
    assert message.startswith(f"SITE_DATE={value!r} is not a date or a date-time")
    assert "2026-12-07" in message and "2026-01-27T07:00" in message


def test_site_now_and_today_follow_the_environment(monkeypatch):
    monkeypatch.setenv("SITE_DATE", "2026-01-27T07:00")
    assert site_now(TZ) == datetime(2026, 1, 27, 7, 0, tzinfo=SCHOOL)
    assert site_today(TZ) == date(2026, 1, 27)
    monkeypatch.setenv("SITE_DATE", "2026-01-27T23:30-08:00")  # already the 28th at school
    assert site_today(TZ) == date(2026, 1, 28)
    monkeypatch.delenv("SITE_DATE")
    assert site_now(TZ).tzinfo == SCHOOL
