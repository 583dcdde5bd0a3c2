"""Calendar intake shared by the athletics and events plugins: reading an iCalendar file from
an untrusted feed, the VEVENTs as read (``SourceEvent``), one event per (UID,
RECURRENCE-ID) across feeds, and each series expanded into its occurrences in a window.

Parsing is icalendar's and recurrence is recurring-ical-events'; nothing here imports
Pelican.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from .fetch import FeedError
from .ics_check import describe_event, event_problem
from .text import clean_text

logger = logging.getLogger(__name__)

About = TypeVar("About")
Made = TypeVar("Made")


def read_ics(raw: bytes) -> tuple[icalendar.Calendar, list[str]]:
    """A calendar without the events that cannot be shown, and one problem per event left
    out (naming its UID). Raises FeedError when the whole file is unusable."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedError(f"not a UTF-8 text file: {exc.reason} at byte {exc.start}") from None
    if "BEGIN:VCALENDAR" not in text[:2000].upper():
        raise FeedError("not an iCalendar file: it does not start with BEGIN:VCALENDAR")
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError as exc:
        raise FeedError(f"not a valid iCalendar file: {exc}") from None
    problems = []
    for event in list(calendar.walk("VEVENT")):
        problem = event_problem(event)
        if problem:
            problems.append(f"the event {describe_event(event)} {problem}; it was skipped")
            calendar.subcomponents.remove(event)
    return calendar, problems


def calendar_name(data: object) -> str:
    """The name a calendar gives itself (X-WR-CALNAME), as subscribers see it."""
    if isinstance(data, icalendar.Calendar):
        return clean_text(data.get("X-WR-CALNAME") or data.get("NAME"))
    return ""


def local_time(value: datetime | date, zone: ZoneInfo) -> datetime | date:
    """A start or end in the school's zone; floating times are school time."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
    return value


@dataclass
class SourceEvent(Generic[About]):
    """A VEVENT as read, with what its source says about it (`about`: athletics labels, an
    events category) and the order it was read in."""

    component: icalendar.Event
    source: str
    about: About
    order: int

    @property
    def uid(self) -> str:
        return str(self.component.get("UID"))

    @property
    def recurrence_key(self) -> str:
        rid = self.component.get("RECURRENCE-ID")
        return rid.dt.isoformat() if rid is not None else ""

    @property
    def sequence(self) -> int:
        try:
            return int(self.component.get("SEQUENCE", 0))
        except (TypeError, ValueError):
            return 0

    @property
    def stamp(self) -> str:
        """LAST-MODIFIED (else DTSTAMP) in UTC, as ISO text; "" when there is neither."""
        value = self.component.get("LAST-MODIFIED") or self.component.get("DTSTAMP")
        if value is None:
            return ""
        moment = value.dt
        if isinstance(moment, datetime) and moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        return moment.isoformat()


class Intake(Generic[About]):
    """The events and time zones of several calendars, in the order they are added, each
    event made with `event_type` (a plugin's subclass of SourceEvent names its `about`)."""

    def __init__(self, event_type: type[SourceEvent[About]] = SourceEvent) -> None:
        self.event_type = event_type
        self.events: list[SourceEvent[About]] = []
        self.timezones: list[icalendar.Timezone] = []
        self._tzids: set[str] = set()

    def add_event(self, component: icalendar.Event, source: str, about: About) -> None:
        self.events.append(self.event_type(component, source, about, len(self.events)))

    def add_calendar(
        self,
        calendar: icalendar.Calendar,
        source: str,
        about: About | Callable[[icalendar.Event], About],
    ) -> None:
        """Every VEVENT of `calendar`; `about` is the same for all, or made per event."""
        for timezone in calendar.walk("VTIMEZONE"):
            if str(timezone.get("TZID")) not in self._tzids:
                self._tzids.add(str(timezone.get("TZID")))
                self.timezones.append(timezone)
        for component in calendar.walk("VEVENT"):
            found = about(component) if callable(about) else about
            self.add_event(component, source, found)


def merge_events(
    events: Iterable[SourceEvent[About]], *, by_stamp: bool = True
) -> list[SourceEvent[About]]:
    """One event per (UID, RECURRENCE-ID): the highest SEQUENCE wins across all feeds, then
    (with `by_stamp`) the latest LAST-MODIFIED/DTSTAMP, then the source read last. An
    override older than the series it belongs to was replaced by the new series: left out."""

    def rank(event: SourceEvent) -> tuple:
        return (event.sequence, event.stamp if by_stamp else "", event.order)

    best: dict[tuple[str, str], SourceEvent[About]] = {}
    for event in events:
        key = (event.uid, event.recurrence_key)
        current = best.get(key)
        if current is None or rank(event) >= rank(current):
            best[key] = event
    masters = {uid: event.sequence for (uid, rid), event in best.items() if not rid}
    return [
        event
        for (uid, rid), event in best.items()
        if not rid or event.sequence >= masters.get(uid, 0)
    ]


def expand_series(
    events: Iterable[SourceEvent[About]],
    timezones: Iterable[icalendar.Timezone],
    window_start: date,
    window_end: date,
    make: Callable[[icalendar.Event, SourceEvent[About], bool], Made],
    what: str,
) -> list[Made]:
    """`make(occurrence, master, recurring)` for every occurrence of every series (the
    events of one UID) between the two dates. A series that cannot be expanded is logged as
    a warning naming `what` (e.g. "Events calendar"), its source and UID, and skipped."""
    series: dict[str, list[SourceEvent[About]]] = {}
    for event in events:
        series.setdefault(event.uid, []).append(event)
    timezones = list(timezones)
    made: list[Made] = []
    for uid, members in series.items():
        # One small calendar per series, so one broken event is named alone and does not
        # take the rest of its feed with it.
        calendar = icalendar.Calendar()
        for timezone in timezones:
            calendar.add_component(timezone)
        for member in members:
            calendar.add_component(member.component)
        master = next((m for m in members if not m.recurrence_key), members[0])
        recurring = any(master.component.get(n) is not None for n in ("RRULE", "RDATE"))
        try:
            occurrences = recurring_ical_events.of(calendar).between(window_start, window_end)
            made.extend(make(occurrence, master, recurring) for occurrence in occurrences)
        except Exception as exc:  # untrusted calendar data: skip this series, keep the rest
            logger.warning(
                "%s: %s: the event %r (UID %s) was skipped: %s",
                what,
                master.source,
                clean_text(master.component.get("SUMMARY")),
                uid,
                exc,
            )
    return made
