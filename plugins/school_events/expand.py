"""Turn what was read into Events: recurring series expanded in the school's time zone
(recurring-ical-events applies EXDATE, moved and cancelled instances), athletics games, and
closings from the days the lunch menus say there is no school.

The athletics games and menu days come in as the other plugins' objects; only their
attributes are read, so this module needs neither plugin nor Pelican.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import nh3
from school_feeds.ics_in import expand_series, local_time
from school_feeds.ics_out import stable_uid
from school_feeds.text import clean_text

from .model import Event
from .sources import LoadResult, SourceEvent

logger = logging.getLogger(__name__)

# Google Calendar writes the descriptions typed in its editor as HTML (<br>, <b>, <a>).
HTML_TAG = re.compile(r"<\s*/?\s*[a-z][^>]*>", re.I)
LINE_BREAK = re.compile(r"<\s*br\s*/?\s*>|<\s*/\s*(?:div|li)\s*>", re.I)
PARAGRAPH = re.compile(r"<\s*/?\s*p\b[^>]*>", re.I)


def plain_description(value: object) -> str:
    """A description as plain text: a calendar's HTML loses its tags (line breaks and
    paragraphs kept), and the templates escape what is left."""
    text = str(value or "").replace("\r\n", "\n")
    if HTML_TAG.search(text):
        text = PARAGRAPH.sub("\n\n", text)
        text = LINE_BREAK.sub("\n", text)
        # nh3 with no allowed tags drops the tags and escapes the text; unescape once.
        text = html.unescape(nh3.clean(text, tags=set()))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def event_from_component(
    component: icalendar.Event, source: SourceEvent, zone: ZoneInfo, label: str, recurring: bool
) -> Event:
    start = local_time(component.get("DTSTART").dt, zone)
    end_prop = component.get("DTEND")
    end = local_time(end_prop.dt, zone) if end_prop is not None else None
    if end is None and component.get("DURATION") is not None:
        end = start + component.get("DURATION").dt
    status = str(component.get("STATUS") or "").upper()
    return Event(
        uid=str(component.get("UID")),
        title=clean_text(component.get("SUMMARY")) or "Event",
        start=start,
        end=end,
        category=source.category,
        category_label=label,
        location=clean_text(component.get("LOCATION")),
        description=plain_description(component.get("DESCRIPTION")),
        status="cancelled" if status == "CANCELLED" else "scheduled",
        source=source.source,
        recurring=recurring,
    )


def expand(
    result: LoadResult,
    tz: str,
    window_start: date,
    window_end: date,
    category_labels: dict[str, str],
) -> list[Event]:
    """Every occurrence that touches [window_start, window_end), one Event each."""
    zone = ZoneInfo(tz)

    def make(occurrence: icalendar.Event, master: SourceEvent, recurring: bool) -> Event:
        label = category_labels.get(master.category, master.category)
        return event_from_component(occurrence, master, zone, label, recurring)

    return expand_series(
        result.events, result.timezones, window_start, window_end, make, "Events calendar"
    )


def events_from_games(
    games: Iterable, team_url: Callable[[object], str], label: str = "Athletics"
) -> list[Event]:
    """Athletics games (athletics.model.Game) as events; practices are left to the team pages."""
    events = []
    for game in games:
        if getattr(game, "kind", "game") != "game":
            continue
        start = game.start
        end = start + timedelta(hours=2) if isinstance(start, datetime) else None
        where = {"home": "Home game", "away": "Away game"}.get(game.home_away, "")
        events.append(
            Event(
                uid=game.uid,
                title=f"{game.team_name} {game.title}".strip(),
                start=start,
                end=end,
                category="athletics",
                category_label=label,
                location=game.location,
                description=where,
                status=game.status,
                source=game.source,
                recurring=getattr(game, "recurring", False),
                link=team_url(game),
            )
        )
    return events


def closings_from_menus(
    menus: Iterable, uid_domain: str, covered: set[date], label: str = "Closings"
) -> list[Event]:
    """Days every menu marks "No School", as all-day closings. Days in a row with the same
    note (a weekend between them allowed) become one multi-day event; days already in
    `covered` (a closing from the calendar itself) are left out."""
    by_day: dict[date, list] = {}
    for menu in menus:
        by_day.setdefault(menu.day, []).append(menu)
    closed: list[tuple[date, str]] = []
    for day in sorted(by_day):
        cells = by_day[day]
        if day in covered or not all(c.no_school and not c.has_items for c in cells):
            continue
        note = next((c.note for c in cells if c.note), "") or "No school"
        closed.append((day, note))
    runs: list[list[tuple[date, str]]] = []
    for day, note in closed:
        if runs:
            last_day, last_note = runs[-1][-1]
            gap = (day - last_day).days
            weekend_only = all((last_day + timedelta(days=n)).weekday() >= 5 for n in range(1, gap))
            if note == last_note and weekend_only:
                runs[-1].append((day, note))
                continue
        runs.append([(day, note)])
    events = []
    for run in runs:
        first, note = run[0]
        last = run[-1][0]
        events.append(
            Event(
                uid=stable_uid(uid_domain, "closing", first.isoformat(), last.isoformat()),
                title=note,
                start=first,
                end=last + timedelta(days=1),
                category="closings",
                category_label=label,
                description="From the school lunch menus: no meals are served.",
                source="lunch menus",
            )
        )
    return events
