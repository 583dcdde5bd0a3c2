"""What the calendar templates read: month grids (weeks of days, Sunday first, as US school
calendars print them), day-by-day lists, categories and the home page's next events."""

from __future__ import annotations

import calendar as pycalendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from school_feeds.status import SourcesSummary, SourceStatus
from school_feeds.subscribe import Subscription
from school_feeds.text import date_label

from .model import Event

WEEKDAYS = [(name, name[:3]) for name in pycalendar.day_name]
WEEKDAYS = WEEKDAYS[-1:] + WEEKDAYS[:-1]  # Sunday first


@dataclass
class DayCell:
    day: date
    in_month: bool
    today: bool
    events: list[Event]

    target: str = ""  # where the day's link leads in the month's list

    @property
    def label(self) -> str:
        return date_label(self.day)


@dataclass
class DayGroup:
    """One day of a list view: its heading and the events that day (a multi-day event is
    listed on its first day in the list)."""

    day: date
    events: list[Event]

    @property
    def anchor(self) -> str:
        return f"day-{self.day.isoformat()}"

    @property
    def label(self) -> str:
        return date_label(self.day)


@dataclass
class MonthGrid:
    first: date
    weeks: list[list[DayCell]]
    days: list[DayGroup]  # the month's list view
    url: str = ""
    previous: MonthGrid | None = None
    next: MonthGrid | None = None

    @property
    def label(self) -> str:
        return f"{self.first:%B %Y}"

    @property
    def slug(self) -> str:
        return f"{self.first:%Y-%m}"

    @property
    def count(self) -> int:
        return sum(len(group.events) for group in self.days)


@dataclass
class Category:
    slug: str
    label: str
    url: str = ""
    subscription: Subscription | None = None
    calendar_path: str = ""  # the category's own calendar file ("" when another is offered)
    days: list[DayGroup] = field(default_factory=list)  # upcoming events, by day


def group_by_day(events: list[Event], first: date, last: date) -> list[DayGroup]:
    """Events touching [first, last], each under the first of its days inside the range."""
    groups: dict[date, list[Event]] = {}
    for event in sorted(events, key=lambda e: e.sort_key):
        if event.last_day < first or event.first_day > last:
            continue
        groups.setdefault(max(event.first_day, first), []).append(event)
    return [DayGroup(day, groups[day]) for day in sorted(groups)]


def month_grid(first: date, events: list[Event], today: date) -> MonthGrid:
    last = first.replace(day=pycalendar.monthrange(first.year, first.month)[1])
    start = first - timedelta(days=(first.weekday() + 1) % 7)  # back to Sunday
    in_month = [e for e in events if e.first_day <= last and e.last_day >= first]
    weeks: list[list[DayCell]] = []
    day = start
    while day <= last:
        week = []
        for _ in range(7):
            shown = [e for e in in_month if e.touches(day)] if first <= day <= last else []
            week.append(DayCell(day, first <= day <= last, day == today, shown))
            day += timedelta(days=1)
        weeks.append(week)
    days = group_by_day(in_month, first, last)
    listed = {group.day for group in days}
    for cell in (cell for week in weeks for cell in week if cell.events):
        # A day with only the later days of a multi-day event has no heading in the list:
        # its link leads to that event's entry instead.
        cell.target = f"day-{cell.day.isoformat()}" if cell.day in listed else cell.events[0].anchor
    return MonthGrid(first, weeks, days)


def months_between(start: date, end: date) -> list[date]:
    months, current = [], start.replace(day=1)
    while current <= end:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return months


@dataclass
class EventsView(SourcesSummary):
    """Context variable `events`."""

    today: date
    now: datetime
    events: list[Event]
    months: list[MonthGrid]
    categories: list[Category]
    sources: list[SourceStatus]
    url: str = "calendar/"
    upcoming_days: int = 21
    home_limit: int = 4
    subscription: Subscription | None = None
    weekdays: list[tuple[str, str]] = field(default_factory=lambda: list(WEEKDAYS))

    def _not_over(self, event: Event) -> bool:
        if isinstance(event.end, datetime):
            return event.end > self.now
        return event.last_day >= self.today

    @property
    def upcoming(self) -> list[Event]:
        last = self.today + timedelta(days=self.upcoming_days)
        return [e for e in self.events if self._not_over(e) and e.first_day <= last]

    def upcoming_all(self) -> list[Event]:
        """Every event not over yet, to the end of the window (the category pages)."""
        return [e for e in self.events if self._not_over(e)]

    @property
    def upcoming_days_list(self) -> list[DayGroup]:
        return group_by_day(self.upcoming, self.today, self.today + timedelta(self.upcoming_days))

    @property
    def home_events(self) -> list[Event]:
        """The next events for the home page: not athletics, which has its own panel there,
        and a repeating event once (twice-weekly library sessions would fill the panel)."""
        shown, seen = [], set()
        for event in self.upcoming:
            if event.category == "athletics" or event.cancelled or event.uid in seen:
                continue
            seen.add(event.uid)
            shown.append(event)
        return shown[: self.home_limit]

    @property
    def current_month(self) -> MonthGrid | None:
        wanted = self.today.replace(day=1)
        return next((m for m in self.months if m.first == wanted), None)

    def category(self, slug: str) -> Category | None:
        return next((c for c in self.categories if c.slug == slug), None)


def build_view(
    events: list[Event],
    today: date,
    now: datetime,
    window: tuple[date, date],
    categories: list[Category],
    sources: list[SourceStatus],
) -> EventsView:
    events = sorted(events, key=lambda e: e.sort_key)
    months = [month_grid(first, events, today) for first in months_between(*window)]
    for before, after in zip(months, months[1:], strict=False):
        before.next, after.previous = after, before
    view = EventsView(today, now, events, months, categories, sources)
    for category in categories:
        upcoming = [e for e in view.upcoming_all() if e.category == category.slug]
        category.days = group_by_day(upcoming, today, window[1])
    return view
