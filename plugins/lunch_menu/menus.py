"""Load menus from the drop-in folder and remote feeds, and shape them into weeks.

No Pelican here: the plugin's register() hands the result to the theme.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from school_feeds.config import FeedSource, read_folder
from school_feeds.fetch import FeedError, fetch_with_cache
from school_feeds.status import SourcesSummary, SourceStatus
from school_feeds.subscribe import Subscription
from school_feeds.text import date_label, slugify

from .allergens import MAJOR_ALLERGENS, sort_labels
from .model import MenuDay, meal_sort_key
from .parsers import PARSERS, SUFFIX_FORMATS

logger = logging.getLogger(__name__)


@dataclass
class LoadResult:
    menus: list[MenuDay] = field(default_factory=list)
    sources: list[SourceStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _feed_urls(feed: FeedSource, mondays: list[date]) -> list[tuple[str, str]]:
    """(name, url) pairs; a URL with {year}/{month}/{day} is fetched once per week shown."""
    if not any(token in feed.url for token in ("{year}", "{month}", "{day}")):
        return [(feed.name, feed.url)]
    return [
        (
            f"{feed.name} {monday.isoformat()}",
            feed.url.format(year=monday.year, month=f"{monday:%m}", day=f"{monday:%d}"),
        )
        for monday in mondays
    ]


def load_menus(
    folder: Path,
    cache_dir: Path,
    defaults: dict[str, str],
    tz: str,
    mondays: list[date],
    timeout: float = 10.0,
    fetch: Callable = fetch_with_cache,
    schools: tuple[str, ...] = (),
) -> LoadResult:
    """Read every file in `folder` and every feed in its feeds.toml.

    Remote feeds are read first and files second, so a file dropped into the folder
    corrects a feed's entry for the same school, meal and day. When two files give the
    same school, meal and day, the newer file (modified last) wins, with a warning naming
    both. `schools` (LUNCH_SCHOOLS), when given, lists the school names menus may use.
    """
    zone = ZoneInfo(tz)
    result = LoadResult()
    config = read_folder(folder, SUFFIX_FORMATS, timeout)
    result.problems.extend(config.problems)
    by_key: dict[tuple, MenuDay] = {}

    for feed in config.feeds:
        labels = {**defaults, **feed.labels}
        parse = PARSERS[feed.format]
        for name, url in _feed_urls(feed, mondays):
            problems: list[str] = []

            def parse_feed(raw: bytes, parse=parse, labels=labels, name=name, problems=problems):
                days, row_problems = parse(raw, labels, name)
                problems[:] = row_problems
                return days

            outcome = fetch(name, url, parse_feed, cache_dir, timeout=feed.timeout)
            result.problems.extend(f"feed {name!r} ({url}): {p}" for p in problems)
            updated = outcome.updated.astimezone(zone) if outcome.updated else None
            title = labels.get("title") or f"{labels['school']} {labels['meal'].lower()}"
            result.sources.append(SourceStatus(name, "feed", updated, outcome.error, title))
            result.problems.extend(_label_problems(f"feed {name!r}", outcome.data or [], schools))
            for menu in outcome.data or []:
                by_key[menu.key] = menu

    from_files: dict[tuple, tuple[MenuDay, Path, float]] = {}
    for path in config.files:
        labels = {**defaults, **config.labels_for(path)}
        parse = PARSERS[SUFFIX_FORMATS[path.suffix.lower()]]
        try:
            days, problems = parse(path.read_bytes(), labels, path.name)
            mtime = path.stat().st_mtime
        except Exception as exc:  # untrusted input: report it, keep building
            reason = str(exc) if isinstance(exc, FeedError | OSError) else f"unreadable ({exc!r})"
            result.problems.append(f"{path}: {reason}; the file was skipped")
            continue
        result.problems.extend(f"{path}: {problem}" for problem in problems)
        result.problems.extend(_label_problems(path, days, schools))
        modified = datetime.fromtimestamp(mtime, UTC).astimezone(zone)
        result.sources.append(SourceStatus(path.name, "file", modified))
        for menu in days:
            earlier = from_files.get(menu.key)
            if earlier is None:
                from_files[menu.key] = (menu, path, mtime)
                continue
            _, other, other_mtime = earlier
            newer, older = (
                (path, other) if (mtime, path.name) >= (other_mtime, other.name) else (other, path)
            )
            result.problems.append(
                f"{newer} and {older} both give the {menu.meal} menu of {menu.school} on "
                f"{date_label(menu.day, with_year=True)}: using {newer.name}, the newer file. "
                f"Delete the outdated file, or remove that day from one of them."
            )
            if newer == path:
                from_files[menu.key] = (menu, path, mtime)
    by_key.update({key: menu for key, (menu, _, _) in from_files.items()})

    result.menus = sorted(by_key.values(), key=lambda m: (m.day, m.school, meal_sort_key(m.meal)))
    return result


def _label_problems(path: Path | str, days: list[MenuDay], schools: tuple[str, ...]) -> list[str]:
    """One warning per unknown school name and per unknown allergen or label in a file."""
    problems = []
    if schools:
        known = {name.lower() for name in schools}
        for school in sorted({menu.school for menu in days if menu.school.lower() not in known}):
            problems.append(
                f"the school {school!r} is not one of LUNCH_SCHOOLS ({', '.join(schools)}); "
                "check the spelling in the file or its labels in feeds.toml, or add the "
                "school to LUNCH_SCHOOLS in pelicanconf.py"
            )
    unknown: dict[str, int] = {}
    for menu in days:
        for section in menu.sections:
            for item in section.items:
                for label in sort_labels(item.labels).unknown:
                    unknown[label] = unknown.get(label, 0) + 1
    for label, count in unknown.items():
        problems.append(
            f"{label!r} ({count} item{'s' if count != 1 else ''}) is neither one of the nine "
            f"major allergens ({', '.join(MAJOR_ALLERGENS)}) nor a known diet label; it is "
            "shown as written with the allergens. Check its spelling"
        )
    return [f"{path}: {problem}" for problem in problems]


@dataclass
class WeekRow:
    day: date
    label: str
    is_today: bool
    cells: list[MenuDay | None]  # one per meal column
    closed_note: str | None  # every meal that day is "no school"

    @property
    def iso(self) -> str:
        return self.day.isoformat()


@dataclass
class SchoolTable:
    school: str
    meals: list[str]
    rows: list[WeekRow]

    @property
    def slug(self) -> str:
        return slugify(self.school)


@dataclass
class WeekView:
    start: date
    title: str  # "This week", "Next week" or "Week of ..."
    tables: list[SchoolTable]

    @property
    def label(self) -> str:
        return f"Week of {self.start:%B} {self.start.day}, {self.start.year}"

    @property
    def slug(self) -> str:
        return f"week-{self.start.isoformat()}"

    @property
    def empty(self) -> bool:
        return not self.tables


@dataclass
class MonthView:
    """A month of menus, as the weeks that touch it (lunch/2026-11/)."""

    first: date
    weeks: list[WeekView]
    url: str = ""

    @property
    def label(self) -> str:
        return f"{self.first:%B %Y}"

    @property
    def slug(self) -> str:
        return f"{self.first:%Y-%m}"


def build_months(menus: list[MenuDay], today: date) -> list[MonthView]:
    """One MonthView per month that has menus, oldest first."""
    months = []
    for year, month in sorted({(menu.day.year, menu.day.month) for menu in menus}):
        first = date(year, month, 1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        weeks, start = [], week_start(first)
        while start <= last:
            # A week that starts with Saturday or Sunday of this month belongs to the next.
            if (start + timedelta(days=4)) >= first:
                weeks.append(build_week(menus, start, today, ""))
            start += timedelta(days=7)
        months.append(MonthView(first, [week for week in weeks if not week.empty]))
    return months


@dataclass
class LunchView(SourcesSummary):
    """What the lunch templates read (context variable `lunch`)."""

    today: date
    menus: list[MenuDay]
    sources: list[SourceStatus]
    weeks: list[WeekView]
    schools: list[str]
    calendar_url: str = ""
    major_allergens: tuple[str, ...] = MAJOR_ALLERGENS  # for the key on the lunch page
    subscription: Subscription | None = None  # webcal/https links for calendar_url
    months: list[MonthView] = field(default_factory=list)  # month pages, oldest first

    def month_after(self, month: MonthView) -> MonthView | None:
        later = [m for m in self.months if m.first > month.first]
        return later[0] if later else None

    def month_before(self, month: MonthView) -> MonthView | None:
        earlier = [m for m in self.months if m.first < month.first]
        return earlier[-1] if earlier else None

    @property
    def today_label(self) -> str:
        return date_label(self.today, with_year=True)

    @property
    def today_menus(self) -> list[MenuDay]:
        return [menu for menu in self.menus if menu.day == self.today]

    @property
    def next_day(self) -> date | None:
        """The next day after today with a menu (for the home page on weekends)."""
        return next((m.day for m in self.menus if m.day > self.today and m.has_items), None)

    @property
    def next_day_label(self) -> str:
        return date_label(self.next_day) if self.next_day else ""

    @property
    def next_menus(self) -> list[MenuDay]:
        return [menu for menu in self.menus if menu.day == self.next_day]

    @property
    def today_lunch(self) -> list[MenuDay]:
        """Today's menus with dishes (lunch first); empty on a day off."""
        return _lunch_first([menu for menu in self.today_menus if menu.has_items])

    @property
    def today_closed_note(self) -> str:
        """Why there is no lunch today ("Thanksgiving Recess - No School"), if a menu says."""
        return next((m.note for m in self.today_menus if m.no_school and m.note), "")

    @property
    def next_lunch(self) -> list[MenuDay]:
        return _lunch_first(self.next_menus)

    def week_of(self, day: date, school: str = "", meal: str = "", title: str = "") -> WeekView:
        """The week containing `day`, optionally for one school and/or one meal."""
        menus = [
            menu
            for menu in self.menus
            if (not school or menu.school.lower() == school.lower())
            and (not meal or menu.meal.lower() == meal.lower())
        ]
        return build_week(menus, week_start(day), self.today, title)


def _lunch_first(menus: list[MenuDay]) -> list[MenuDay]:
    """Lunch menus only when there are any (the home page is short); otherwise all."""
    lunches = [menu for menu in menus if menu.meal.lower() == "lunch"]
    return lunches or menus


def build_week(menus: list[MenuDay], start: date, today: date, title: str) -> WeekView:
    end = start + timedelta(days=7)
    in_week = [menu for menu in menus if start <= menu.day < end]
    schools = sorted({menu.school for menu in in_week})
    tables = []
    for school in schools:
        school_menus = [menu for menu in in_week if menu.school == school]
        meals = sorted({menu.meal for menu in school_menus}, key=meal_sort_key)
        by_key = {(menu.day, menu.meal): menu for menu in school_menus}
        days = [start + timedelta(days=offset) for offset in range(5)]
        days += sorted({menu.day for menu in school_menus if menu.day.weekday() >= 5})
        rows = []
        for day in days:
            cells = [by_key.get((day, meal)) for meal in meals]
            present = [cell for cell in cells if cell]
            closed = None
            if present and all(cell.no_school and not cell.has_items for cell in present):
                closed = next((cell.note for cell in present if cell.note), "No school")
            rows.append(WeekRow(day, date_label(day), day == today, cells, closed))
        tables.append(SchoolTable(school, meals, rows))
    return WeekView(start, title or f"Week of {start:%B} {start.day}, {start.year}", tables)


def build_view(result: LoadResult, today: date, weeks: int = 2) -> LunchView:
    start = week_start(today)
    titles = ["This week", "Next week"]
    if today.weekday() >= 5:  # on a weekend, start with the coming school week
        start += timedelta(days=7)
        titles = ["Coming week", "The week after"]
    week_views = [
        build_week(
            result.menus,
            start + timedelta(days=7 * index),
            today,
            titles[index] if index < len(titles) else "",
        )
        for index in range(weeks)
    ]
    schools = sorted({menu.school for menu in result.menus})
    view = LunchView(today, result.menus, result.sources, week_views, schools)
    view.months = build_months(result.menus, today)
    return view
