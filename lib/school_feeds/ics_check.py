"""Check calendar events as read from untrusted feeds: which ones can be used, and how to
name one in a message. Shared by the lunch and athletics parsers."""

from __future__ import annotations

import icalendar
from icalendar.prop import vBroken

from .text import clean_text


def event_problem(
    event: icalendar.Event, required: tuple[str, ...] = ("UID", "DTSTART")
) -> str | None:
    """Why one VEVENT cannot be shown, or None. A broken date is kept by icalendar as a
    vBroken property (the raw text) that fails only when read, so read each one here."""
    for name in required:
        if not event.get(name):
            return f"has no {name}"
    dates = ("DTSTART", "DTEND", "RECURRENCE-ID", "DURATION", "EXDATE", "RDATE")
    for name, value in event.property_items(recursive=False, sorted=False):
        if isinstance(value, vBroken):  # RRULE:FREQ=SOMETIMES, a date with month 13, ...
            what = "is not a valid date or time" if name in dates else "cannot be read"
            return f"{name} {str(value)[:40]!r} {what}"
    for name in dates:
        values = event.get(name)
        for value in values if isinstance(values, list) else [values]:
            if value is None:
                continue
            try:
                _ = value.dts if name in {"EXDATE", "RDATE"} else value.dt
            except Exception:  # icalendar's BrokenCalendarProperty and friends
                return f"{name} {str(value)[:40]!r} is not a valid date or time"
    return None


def describe_event(event: icalendar.Event) -> str:
    """ "'Varsity Football vs. Central' (UID evt-1@x)" for messages."""
    summary = clean_text(event.get("SUMMARY")) or "an event"
    uid = clean_text(event.get("UID"))
    return f"{summary!r} (UID {uid})" if uid else repr(summary)
