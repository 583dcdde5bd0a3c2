"""Read events: Markdown files in content/events/, calendar files and feeds (feeds.toml) in
content/data/events/, as Google Calendar and Outlook publish them.

Every source becomes icalendar VEVENTs, so one expansion (recurring-ical-events, in
expand.py) handles recurrence, exceptions, moved and cancelled instances and time zones the
same way for a Markdown file as for the district's calendar. A file or event that cannot be
used is left out with one problem naming the file and line, or the event's UID.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
from school_feeds import ics_in
from school_feeds.config import SKIPPED_NAMES, read_folder
from school_feeds.fetch import FeedError, fetch_with_cache
from school_feeds.ics_in import calendar_name, read_ics
from school_feeds.ics_out import stable_uid
from school_feeds.status import SourceStatus
from school_feeds.text import clean_text, parse_day, slugify
from site_common.errors import SiteError

SUFFIX_FORMATS = {".ics": "ics"}
HEADER = re.compile(r"^(?P<key>[A-Za-z][A-Za-z _-]*):\s*(?P<value>.*)$")
TIME_FORMATS = ("%H:%M", "%I:%M %p", "%I:%M%p", "%I %p", "%I%p")
FREQUENCIES = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "yearly": "YEARLY"}
UNITS = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}
EVERY = re.compile(r"^every\s+(?P<n>\d+)\s+(?P<unit>day|week|month|year)s?$", re.I)
# A district calendar marks closings in the title; such an event is a closing whatever
# category its feed has ("Thanksgiving Recess - No School", "Schools closed").
HEADER_KEYS = (
    "Title", "Date", "End", "Category", "Location", "Repeat", "Until", "Except", "Status", "UID",
)  # fmt: skip
CLOSING_TITLE = re.compile(r"\bno school\b|\bschools? (?:are |is )?closed\b", re.I)


class SourceEvent(ics_in.SourceEvent[str]):
    """A VEVENT as read, with the category its file or feed gives it."""

    @property
    def category(self) -> str:
        return self.about


@dataclass
class LoadResult:
    events: list[SourceEvent] = field(default_factory=list)  # one per (UID, RECURRENCE-ID)
    timezones: list[icalendar.Timezone] = field(default_factory=list)
    sources: list[SourceStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class EventFileError(SiteError, ValueError):
    """A Markdown event file that cannot be used; the message names the line and the fix."""


def _parse_time(value: str) -> time | None:
    text = value.strip().lower().replace(".", "")
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    return None


def _parse_moment(value: str, line: int, key: str) -> date | datetime:
    """ "2026-12-10", "2026-12-10 18:30" or "12/10/2026 6:30 PM" (naive: school time)."""
    day_text, _, time_text = value.strip().partition(" ")
    try:
        day = parse_day(day_text)
    except ValueError as exc:
        raise EventFileError(f"line {line}: {key}: {exc}") from None
    if not time_text.strip():
        return day
    moment = _parse_time(time_text)
    if moment is None:
        raise EventFileError(
            f"line {line}: {key}: {time_text.strip()!r} is not a time; write 18:30 or 6:30 PM"
        )
    return datetime.combine(day, moment)


def _rrule(repeat: str, until: date | None, line: int) -> dict:
    text = repeat.strip()
    if text.upper().startswith("FREQ="):
        try:
            rule = dict(icalendar.vRecur.from_ical(text))
        except ValueError:
            raise EventFileError(f"line {line}: Repeat: {text!r} is not a valid RRULE") from None
    elif text.lower() in FREQUENCIES:
        rule = {"FREQ": FREQUENCIES[text.lower()]}
    elif match := EVERY.match(text):
        rule = {"FREQ": UNITS[match["unit"].lower()], "INTERVAL": int(match["n"])}
    else:
        raise EventFileError(
            f"line {line}: Repeat: {text!r} is not understood; write daily, weekly, monthly, "
            "yearly, 'every 2 weeks', or an iCalendar rule such as FREQ=WEEKLY;BYDAY=TU"
        )
    if until is not None:
        rule["UNTIL"] = until
    return rule


def read_event_file(
    path: Path, zone: ZoneInfo, uid_domain: str, categories: dict[str, str], default: str
) -> tuple[icalendar.Event, str, list[str]]:
    """One Markdown event file as a VEVENT, its category slug, and notes on lines that were
    ignored (a misspelt key).

    Header lines `Key: value` until the first empty line (Title and Date required), then
    the description as plain text. Raises EventFileError naming the line.
    """
    try:
        text = path.read_text("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EventFileError(f"not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    lines = text.splitlines()
    header: dict[str, tuple[str, int]] = {}
    body_start = len(lines)
    for number, raw_line in enumerate(lines, start=1):
        if not raw_line.strip():
            body_start = number
            break
        match = HEADER.match(raw_line.strip())
        if not match:
            raise EventFileError(
                f"line {number}: {raw_line.strip()!r} is not a `Key: value` header line "
                "(a colon is missing, or an empty line is missing before the description)"
            )
        header[match["key"].strip().lower()] = (match["value"].strip(), number)
    notes = []
    known = {key.lower(): key for key in HEADER_KEYS}
    for key, (_, number) in header.items():
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {known[close[0]]}:?)" if close else ""
            notes.append(
                f"line {number}: {key.title()}: is not a line the calendar reads{hint}; it was "
                f"ignored (the lines are {', '.join(HEADER_KEYS)})"
            )
    for required in ("title", "date"):
        if not header.get(required, ("", 0))[0]:
            raise EventFileError(f"the header has no {required.title()}: line; add one")

    def value(key: str) -> str:
        return header.get(key, ("", 0))[0]

    def line(key: str) -> int:
        return header.get(key, ("", 0))[1]

    start = _parse_moment(value("date"), line("date"), "Date")
    end: date | datetime | None = None
    if value("end"):
        end_text = value("end")
        moment = _parse_time(end_text) if isinstance(start, datetime) else None
        if moment is not None and isinstance(start, datetime):  # a time alone: the same day
            end = datetime.combine(start.date(), moment)
        else:
            end = _parse_moment(end_text, line("end"), "End")
        if isinstance(start, datetime) != isinstance(end, datetime):
            raise EventFileError(
                f"line {line('end')}: End: give a time when Date has one, and a date "
                "without a time when Date has none (an all-day or multi-day event)"
            )
        if not isinstance(end, datetime):
            end = end + timedelta(
                days=1
            )  # the webmaster writes the last day; iCalendar the day after
        if end <= start:
            raise EventFileError(
                f"line {line('end')}: End: {value('end')!r} is not after Date: "
                f"{value('date')!r}; write when (or the last day) the event ends"
            )
    category_text = value("category")
    category = _category(category_text, categories, default)
    if category_text and category is None:
        names = ", ".join(categories.values())
        raise EventFileError(
            f"line {line('category')}: Category: {category_text!r} is not one of {names}"
        )
    event = icalendar.Event()
    uid = value("uid") or stable_uid(uid_domain, "event", path.stem)
    event.add("uid", uid)
    event.add("dtstamp", datetime.fromtimestamp(path.stat().st_mtime, UTC))
    event.add("summary", value("title"))
    event.add("dtstart", start.replace(tzinfo=zone) if isinstance(start, datetime) else start)
    if end is not None:
        event.add("dtend", end.replace(tzinfo=zone) if isinstance(end, datetime) else end)
    elif not isinstance(start, datetime):
        event.add("dtend", start + timedelta(days=1))
    if value("location"):
        event.add("location", value("location"))
    description = "\n".join(lines[body_start:]).strip()
    if description:
        event.add("description", description)
    status = value("status").lower()
    if status in {"cancelled", "canceled"}:
        event.add("status", "CANCELLED")
    elif status:
        raise EventFileError(f"line {line('status')}: Status: write cancelled, or leave it out")
    if value("repeat"):
        until = None
        if value("until"):
            try:
                until = parse_day(value("until"))
            except ValueError as exc:
                raise EventFileError(f"line {line('until')}: Until: {exc}") from None
        rule = _rrule(value("repeat"), until, line("repeat"))
        if isinstance(start, datetime) and isinstance(rule.get("UNTIL"), date):
            # RFC 5545: with a zoned start, UNTIL is a UTC date-time (the end of that day).
            last = datetime.combine(rule["UNTIL"], time(23, 59), tzinfo=zone)
            rule["UNTIL"] = last.astimezone(UTC)
        event.add("rrule", rule)
        for part in filter(None, (p.strip() for p in value("except").split(","))):
            try:
                skipped = parse_day(part)
            except ValueError as exc:
                raise EventFileError(f"line {line('except')}: Except: {exc}") from None
            if isinstance(start, datetime):
                event.add("exdate", datetime.combine(skipped, start.time(), tzinfo=zone))
            else:
                event.add("exdate", skipped)
    elif value("except") or value("until"):
        raise EventFileError(
            f"line {line('until') or line('except')}: Until: and Except: apply to a repeating "
            "event only; add a Repeat: line or remove them"
        )
    return event, category or default, notes


def _category(text: str, categories: dict[str, str], default: str) -> str | None:
    """The slug for a category as written ("PTA", "pta", "Closings"); None if unknown."""
    if not text:
        return default
    wanted = slugify(text)
    for slug, label in categories.items():
        if wanted in {slug, slugify(label)}:
            return slug
    return None


def event_category(component: icalendar.Event, fallback: str, categories: dict[str, str]) -> str:
    """A closing by its title, else the event's own CATEGORIES when one is ours, else the
    category of its file or feed."""
    if CLOSING_TITLE.search(clean_text(component.get("SUMMARY"))) and "closings" in categories:
        return "closings"
    values = component.get("CATEGORIES")
    for item in values if isinstance(values, list) else [values]:
        for name in getattr(item, "cats", []) or []:
            found = _category(str(name), categories, "")
            if found:
                return found
    return fallback


def merge_events(events: list[SourceEvent]) -> list[SourceEvent]:
    """One event per (UID, RECURRENCE-ID) (``ics_in.merge_events``): the highest SEQUENCE
    wins, then the source read last (a file dropped in later replaces the same event from
    a feed, whatever their DTSTAMPs say)."""
    return ics_in.merge_events(events, by_stamp=False)


def load_events(
    content_dir: Path,
    data_dir: Path,
    cache_dir: Path,
    tz: str,
    categories: dict[str, str],
    default_category: str,
    uid_domain: str,
    timeout: float = 10.0,
    fetch: Callable = fetch_with_cache,
) -> LoadResult:
    zone = ZoneInfo(tz)
    result = LoadResult()
    intake: ics_in.Intake[str] = ics_in.Intake(SourceEvent)

    def add_calendar(calendar: icalendar.Calendar, source: str, category: str) -> None:
        intake.add_calendar(
            calendar, source, lambda component: event_category(component, category, categories)
        )

    def labelled_category(labels: dict[str, str], where: str) -> str:
        found = _category(labels.get("category", ""), categories, default_category)
        if found is None:
            names = ", ".join(categories.values())
            result.problems.append(
                f"{where}: category {labels['category']!r} is not one of {names}; "
                f"its events are shown as {categories[default_category]}"
            )
            return default_category
        return found

    if content_dir.is_dir():
        for path in sorted(content_dir.glob("*.md")):
            if path.name in SKIPPED_NAMES or path.name.startswith((".", "_")):
                continue  # a README for the webmaster, or a file set aside
            try:
                component, category, notes = read_event_file(
                    path, zone, uid_domain, categories, default_category
                )
            except (EventFileError, OSError) as exc:
                result.problems.append(f"{path}: {exc}; the event was skipped")
                continue
            result.problems.extend(f"{path}: {note}" for note in notes)
            intake.add_event(component, path.name, category)

    config = read_folder(data_dir, SUFFIX_FORMATS, timeout)
    result.problems.extend(config.problems)
    for feed in config.feeds:
        category = labelled_category(feed.labels, f"feeds.toml feed {feed.name!r}")
        problems: list[str] = []

        def parse_feed(raw: bytes, problems=problems):
            calendar, item_problems = read_ics(raw)
            problems[:] = item_problems
            return calendar

        outcome = fetch(feed.name, feed.url, parse_feed, cache_dir, timeout=feed.timeout)
        result.problems.extend(f"feed {feed.name!r} ({feed.url}): {p}" for p in problems)
        updated = outcome.updated.astimezone(zone) if outcome.updated else None
        title = feed.labels.get("title") or calendar_name(outcome.data) or feed.name
        result.sources.append(SourceStatus(feed.name, "feed", updated, outcome.error, title))
        if outcome.data is not None:
            add_calendar(outcome.data, feed.name, category)

    for path in config.files:
        category = labelled_category(config.labels_for(path), str(path))
        try:
            calendar, problems = read_ics(path.read_bytes())
        except (FeedError, OSError) as exc:
            result.problems.append(f"{path}: {exc}; the file was skipped")
            continue
        result.problems.extend(f"{path}: {problem}" for problem in problems)
        add_calendar(calendar, path.name, category)
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).astimezone(zone)
        result.sources.append(
            SourceStatus(path.name, "file", modified, None, calendar_name(calendar))
        )

    result.events = merge_events(intake.events)
    result.timezones = intake.timezones
    return result
