"""Small text helpers shared by the feed plugins: slugs and human date/time labels."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime


def slugify(text: str) -> str:
    """ "Girls Varsity Track & Field" -> "girls-varsity-track-field"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def date_label(day: date, with_year: bool = False) -> str:
    """ "Monday, November 23" (or with the year)."""
    label = f"{day:%A, %B} {day.day}"
    return f"{label}, {day.year}" if with_year else label


def short_date_label(day: date) -> str:
    """ "Mon, Nov 23"."""
    return f"{day:%a, %b} {day.day}"


def time_label(moment: datetime) -> str:
    """ "7:00 p.m." / "noon"; the caller converts to the school's time zone first."""
    if moment.hour == 12 and moment.minute == 0:
        return "noon"
    hour = moment.hour % 12 or 12
    suffix = "a.m." if moment.hour < 12 else "p.m."
    return f"{hour}:{moment.minute:02d} {suffix}"


def datetime_label(moment: datetime) -> str:
    """ "November 20, 2026 at 3:05 p.m."."""
    return f"{moment:%B} {moment.day}, {moment.year} at {time_label(moment)}"


def clean_text(value: object) -> str:
    """Feed text as one tidy line: no control characters, single spaces."""
    text = "" if value is None else str(value)
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y")
DATE_FORMATS_HELP = "YYYY-MM-DD (2026-11-30), MM/DD/YYYY (11/30/2026) or MM/DD/YY (11/30/26)"


def parse_day(value: str) -> date:
    """A date as data files write it (DATE_FORMATS); ValueError names the accepted forms."""
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a date: write {DATE_FORMATS_HELP}")
