"""Calendar files: everything, one per category (webcal:// subscriptions) and one per event
("add to calendar").

Events read from a calendar keep their UID, SEQUENCE, recurrence rule, exceptions and moved
or cancelled instances, so a subscribed app updates them in place; athletics games and
closings from the menus are written as single events with their own stable UIDs.

On a closing alert's day a one-off event is written as cancelled, and a series gets a
cancelled instance for that day's occurrence (RECURRENCE-ID, STATUS:CANCELLED), so a
subscribed app shows that one meeting cancelled and keeps the series' other days.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from school_feeds.ics_in import expand_series
from school_feeds.ics_out import new_calendar

from .expand import event_from_component
from .model import Event, closed_by
from .sources import LoadResult, SourceEvent

COPIED = (
    "UID", "SEQUENCE", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE",
    "RECURRENCE-ID", "SUMMARY", "LOCATION", "DESCRIPTION", "STATUS", "LAST-MODIFIED",
    "CREATED", "TRANSP", "URL",
)  # fmt: skip


def event_slug(uid: str) -> str:
    """The file name of an event's "add to calendar" file: the same for every build."""
    return hashlib.sha256(uid.encode("utf-8")).hexdigest()[:16]


def _closed(source: SourceEvent, closed: dict, tz: str) -> bool:
    """A one-off event (not a recurring series: see `_cancelled_occurrences`), or a moved
    instance, that a closing alert's day cancels (``model.closed_by``)."""
    component = source.component
    if not closed or "RRULE" in component or "RDATE" in component:
        return False
    if "DTSTART" not in component:
        return False
    event = event_from_component(component, source, ZoneInfo(tz), "", False)
    return closed_by(event, closed)


def _cancelled_occurrences(
    result: LoadResult, closed: dict, tz: str, labels: dict[str, str], stamp: datetime
) -> list[tuple[str, str, icalendar.Event]]:
    """(uid, category, instance) cancelling each occurrence of a recurring series on a
    closing alert's day; an instance the calendar itself moved or cancelled is `_closed`'s."""
    if not closed:
        return []
    zone = ZoneInfo(tz)
    own: set[tuple[str, object]] = {
        (s.uid, s.component.decoded("RECURRENCE-ID"))
        for s in result.events
        if "RECURRENCE-ID" in s.component
    }

    def make(occurrence: icalendar.Event, master: SourceEvent, recurring: bool):
        return occurrence, master, recurring

    found = []
    window = (min(closed), max(closed) + timedelta(days=1))
    for occurrence, master, recurring in expand_series(
        result.events, result.timezones, *window, make, "Events calendar"
    ):
        if not recurring or "RECURRENCE-ID" not in occurrence:
            continue
        recurrence_id = occurrence.decoded("RECURRENCE-ID")
        if (master.uid, recurrence_id) in own:
            continue
        if not closed_by(event_from_component(occurrence, master, zone, "", True), closed):
            continue
        instance = icalendar.Event()
        instance.add("uid", master.uid)
        instance.add("recurrence-id", recurrence_id)
        if "SEQUENCE" in master.component:
            instance["SEQUENCE"] = master.component["SEQUENCE"]
        instance.add("dtstamp", stamp)
        instance.add("dtstart", occurrence.decoded("DTSTART"))
        for name in ("DTEND", "DURATION"):
            if name in occurrence:
                instance.add(name, occurrence.decoded(name))
                break
        for name in ("SUMMARY", "LOCATION", "DESCRIPTION"):
            if name in master.component:
                instance[name] = master.component[name]
        instance["STATUS"] = icalendar.vText("CANCELLED")
        instance["SUMMARY"] = icalendar.vText(f"CANCELLED: {instance.get('SUMMARY') or ''}")
        instance.add("categories", [labels.get(master.category, master.category)])
        found.append((master.uid, master.category, instance))
    return found


def _copy(
    source: SourceEvent, label: str, stamp: datetime, closed: dict | None = None, tz: str = "UTC"
) -> icalendar.Event:
    event = icalendar.Event()
    for name in COPIED:
        if name in source.component:
            event[name] = source.component[name]
    event["DTSTAMP"] = source.component.get("DTSTAMP") or icalendar.vDDDTypes(stamp)
    event.add("categories", [label])
    if _closed(source, closed or {}, tz):
        event["STATUS"] = icalendar.vText("CANCELLED")
    if str(event.get("STATUS") or "").upper() == "CANCELLED":
        summary = str(event.get("SUMMARY") or "")
        if not summary.upper().startswith("CANCELLED"):
            event["SUMMARY"] = icalendar.vText(f"CANCELLED: {summary}")
    return event


def _single(event: Event, stamp: datetime) -> icalendar.Event:
    out = icalendar.Event()
    out.add("uid", event.uid)
    out.add("dtstamp", stamp)
    out.add("dtstart", event.start)
    end = event.end
    if end is None:
        end = event.start + (
            timedelta(hours=1) if isinstance(event.start, datetime) else timedelta(days=1)
        )
    out.add("dtend", end)
    prefix = {"cancelled": "CANCELLED: ", "postponed": "POSTPONED: "}.get(event.status, "")
    out.add("summary", prefix + event.title)
    if event.location:
        out.add("location", event.location)
    if event.description:
        out.add("description", event.description)
    if event.cancelled:
        out.add("status", "CANCELLED")
    out.add("categories", [event.category_label or event.category])
    return out


def build_calendars(
    result: LoadResult,
    derived: list[Event],
    labels: dict[str, str],
    tz: str,
    site_name: str,
    stamp: datetime,
    categories: set[str],
    closed: dict | None = None,
) -> tuple[icalendar.Calendar, dict[str, icalendar.Calendar], dict[str, icalendar.Calendar]]:
    """(all events, {category slug: calendar} for `categories`, {event slug: calendar}).
    `closed`: a closing alert's days, whose one-off events are written as cancelled."""
    everything = new_calendar(f"{site_name} events", f"Events at {site_name}", tz)
    per_category = {
        slug: new_calendar(
            f"{site_name}: {labels[slug]}", f"{labels[slug]} events at {site_name}", tz
        )
        for slug in categories
    }
    per_event: dict[str, icalendar.Calendar] = {}
    entries: list[tuple[str, str, icalendar.Event]] = [
        (s.uid, s.category, _copy(s, labels.get(s.category, s.category), stamp, closed, tz))
        for s in result.events
    ]
    entries += _cancelled_occurrences(result, closed or {}, tz, labels, stamp)
    entries += [(e.uid, e.category, _single(e, stamp)) for e in derived]
    for uid, category, component in entries:
        everything.add_component(component)
        if category in per_category:
            per_category[category].add_component(component)
        slug = event_slug(uid)
        if slug not in per_event:
            title = str(component.get("SUMMARY") or "Event")
            per_event[slug] = new_calendar(title, f"{title}, {site_name}", tz)
        per_event[slug].add_component(component)
    for timezone in result.timezones:
        for calendar in [everything, *per_category.values(), *per_event.values()]:
            if _uses(calendar, str(timezone.get("TZID"))):
                calendar.add_component(timezone)
    return everything, per_category, per_event


def _uses(calendar: icalendar.Calendar, tzid: str) -> bool:
    for event in calendar.walk("VEVENT"):
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            value = event.get(name)
            if value is not None and value.params.get("TZID") == tzid:
                return True
    return False
