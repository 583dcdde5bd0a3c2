"""The build date: today, or SITE_DATE=YYYY-MM-DD for previews and tests."""

from __future__ import annotations

import os
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

ENV_VAR = "SITE_DATE"


def site_today(tz: str | None = None) -> date:
    """Today in the school's time zone, or the date given in SITE_DATE."""
    value = os.environ.get(ENV_VAR, "").strip()
    if value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{ENV_VAR}={value!r} is not a date: use the form YYYY-MM-DD, e.g. 2026-09-14"
            ) from None
    return datetime.now(ZoneInfo(tz) if tz else None).date()


def site_now(tz: str) -> datetime:
    """Now, as an aware datetime in `tz`; with SITE_DATE set, noon of that day."""
    zone = ZoneInfo(tz)
    if os.environ.get(ENV_VAR, "").strip():
        return datetime.combine(site_today(tz), time(12, 0), tzinfo=zone)
    return datetime.now(zone)
