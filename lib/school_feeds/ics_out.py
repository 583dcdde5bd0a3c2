"""Write subscription calendars with icalendar: stable UIDs, the school's VTIMEZONE."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import icalendar
from site_common.files import write_atomic

PRODID = "-//Cedar Hollow School site//school_feeds//EN"


def new_calendar(name: str, description: str, tz: str) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("name", name)
    calendar.add("x-wr-caldesc", description)
    calendar.add("x-wr-timezone", tz)
    calendar.add("refresh-interval", timedelta(hours=6), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT6H")
    return calendar


def stable_uid(namespace: str, *parts: object) -> str:
    """The same inputs give the same UID in every build, so calendar apps update in place."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode("utf-8"))
    return f"{digest.hexdigest()[:24]}@{namespace}"


def write_calendar(calendar: icalendar.Calendar, path: Path) -> None:
    calendar.add_missing_timezones()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, calendar.to_ical(), mode=0o644)
