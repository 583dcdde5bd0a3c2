"""The build's "now": the clock, or SITE_DATE for previews and tests.

The one home of the SITE_DATE rule. It accepts a date (`2026-12-07`, shown as at noon that
day) or an ISO date-time (`2026-01-27T07:00`, school time unless it carries an offset), so an
alert that runs 05:30-12:00 can be previewed. Anything else is a SiteDateError whose message
says what was given and what to write instead.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from site_common.settings import Env, Setting, SettingsError

from .errors import FeedError

SITE_DATE = Setting(
    "SITE_DATE",
    "",
    "Build (and decide consent) as of this date or date-time, e.g. 2026-12-07 or "
    "2026-01-27T07:00; unset: now. Consent is never decided for an earlier day than today.",
    env=Env.ONLY,
)
ENV_VAR = SITE_DATE.key
PREVIEW_TIME = time(12, 0)  # a bare date previews the site as at noon
EXAMPLES = "YYYY-MM-DD (2026-12-07) or YYYY-MM-DDTHH:MM (2026-01-27T07:00)"


class SiteDateError(FeedError, SettingsError):
    """SITE_DATE is set to something that is not a date or a date-time."""


def parse_site_date(value: str, tz: str | None = None) -> datetime:
    """SITE_DATE's text as an aware datetime in `tz` (a bare date means noon that day)."""
    zone = ZoneInfo(tz) if tz else None
    text = value.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), PREVIEW_TIME)
        else:
            moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise SiteDateError(
            f"{ENV_VAR}={value!r} is not a date or a date-time: write {EXAMPLES}, "
            f"or unset {ENV_VAR} to build the site as of now"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone) if zone else moment
    return moment.astimezone(zone) if zone else moment


def preview_value() -> str:
    """SITE_DATE as set in the environment ("" when the build runs as of now)."""
    return (SITE_DATE.from_environment() or "").strip()


def site_now(tz: str) -> datetime:
    """Now, as an aware datetime in `tz`, or the moment SITE_DATE names."""
    value = preview_value()
    if value:
        return parse_site_date(value, tz)
    return datetime.now(ZoneInfo(tz))


def site_today(tz: str | None = None) -> date:
    """Today in the school's time zone, or the day SITE_DATE names."""
    value = preview_value()
    if value:
        return parse_site_date(value, tz).date()
    return datetime.now(ZoneInfo(tz) if tz else None).date()
