"""Load athletics schedules, merge feeds by UID/SEQUENCE, expand recurrences, group by team.

No Pelican here: the plugin's register() hands the result to the theme.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from school_feeds.config import read_folder
from school_feeds.fetch import FeedError, fetch_with_cache
from school_feeds.ics_out import stable_uid
from school_feeds.status import SourcesSummary, SourceStatus
from school_feeds.subscribe import Subscription
from school_feeds.text import clean_text, slugify

from .model import Game, Team
from .parsers import CsvGame, describe, local_start, parse_csv, read_ics

logger = logging.getLogger(__name__)

SUFFIX_FORMATS = {".ics": "ics", ".csv": "csv"}


@dataclass
class SourceEvent:
    """A VEVENT as read, with what its source's labels and text say about it."""

    component: icalendar.Event
    source: str
    labels: dict[str, str]
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
        value = self.component.get("LAST-MODIFIED") or self.component.get("DTSTAMP")
        if value is None:
            return ""
        moment = value.dt
        if isinstance(moment, datetime) and moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        return moment.isoformat()


@dataclass
class LoadResult:
    events: list[SourceEvent] = field(default_factory=list)  # merged: one per UID/instance
    csv_games: list[tuple[CsvGame, str]] = field(default_factory=list)
    timezones: list[icalendar.Timezone] = field(default_factory=list)
    sources: list[SourceStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, FeedError | OSError) else f"unreadable ({exc!r})"


def _calendar_name(data: object) -> str:
    """The name a calendar gives itself (X-WR-CALNAME), as subscribers see it."""
    if isinstance(data, icalendar.Calendar):
        return clean_text(data.get("X-WR-CALNAME") or data.get("NAME"))
    return ""


def merge_events(events: list[SourceEvent]) -> list[SourceEvent]:
    """One event per (UID, RECURRENCE-ID): the highest SEQUENCE wins across all feeds,
    then the latest LAST-MODIFIED/DTSTAMP, then the source read last."""
    best: dict[tuple[str, str], SourceEvent] = {}
    for event in events:
        key = (event.uid, event.recurrence_key)
        current = best.get(key)
        rank = (event.sequence, event.stamp, event.order)
        if current is None or rank >= (current.sequence, current.stamp, current.order):
            best[key] = event
    masters = {uid: event.sequence for (uid, rid), event in best.items() if not rid}
    # An override older than the series it belongs to was replaced by the new series.
    return [
        event
        for (uid, rid), event in best.items()
        if not rid or event.sequence >= masters.get(uid, 0)
    ]


def load_schedule(
    folder: Path,
    cache_dir: Path,
    defaults: dict[str, str],
    tz: str,
    timeout: float = 10.0,
    fetch: Callable = fetch_with_cache,
) -> LoadResult:
    zone = ZoneInfo(tz)
    result = LoadResult()
    config = read_folder(folder, SUFFIX_FORMATS, timeout)
    result.problems.extend(config.problems)
    collected: list[SourceEvent] = []
    tzids: set[str] = set()

    def add_calendar(calendar: icalendar.Calendar, source: str, labels: dict) -> None:
        for timezone in calendar.walk("VTIMEZONE"):
            if str(timezone.get("TZID")) not in tzids:
                tzids.add(str(timezone.get("TZID")))
                result.timezones.append(timezone)
        for component in calendar.walk("VEVENT"):
            collected.append(SourceEvent(component, source, labels, len(collected)))

    for feed in config.feeds:
        labels = {**defaults, **feed.labels}
        problems: list[str] = []

        def parse_feed(raw: bytes, fmt=feed.format, problems=problems):
            data, item_problems = read_ics(raw) if fmt == "ics" else parse_csv(raw)
            problems[:] = item_problems
            return data

        outcome = fetch(feed.name, feed.url, parse_feed, cache_dir, timeout=feed.timeout)
        result.problems.extend(f"feed {feed.name!r} ({feed.url}): {p}" for p in problems)
        updated = outcome.updated.astimezone(zone) if outcome.updated else None
        title = labels.get("title") or _calendar_name(outcome.data) or feed.name
        result.sources.append(SourceStatus(feed.name, "feed", updated, outcome.error, title))
        if outcome.data is None:
            continue
        if feed.format == "ics":
            add_calendar(outcome.data, feed.name, labels)
        else:
            result.csv_games.extend((game, feed.name) for game in outcome.data)

    for path in config.files:
        labels = {**defaults, **config.labels_for(path)}
        try:
            raw = path.read_bytes()
            if path.suffix.lower() == ".ics":
                calendar, problems = read_ics(raw)
                add_calendar(calendar, path.name, labels)
            else:
                games, problems = parse_csv(raw)
                result.csv_games.extend((game, path.name) for game in games)
            result.problems.extend(f"{path}: {problem}" for problem in problems)
        except Exception as exc:  # untrusted input: report it, keep building
            result.problems.append(f"{path}: {_reason(exc)}; the file was skipped")
            continue
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).astimezone(zone)
        result.sources.append(SourceStatus(path.name, "file", modified))

    result.events = merge_events(collected)
    return result


def game_from_component(
    component: icalendar.Event,
    labels: dict[str, str],
    source: str,
    school_names: list[str],
    zone: ZoneInfo,
    recurring: bool,
) -> Game:
    summary = clean_text(component.get("SUMMARY"))
    location = clean_text(component.get("LOCATION"))
    description = str(component.get("DESCRIPTION") or "")
    status = str(component.get("STATUS") or "")
    info = describe(summary, location, description, status, school_names, labels)
    start = local_start(component.get("DTSTART").dt, zone)
    return Game(
        uid=str(component.get("UID")),
        start=start,
        sport=info.sport or "Other events",
        level=info.level,
        gender=info.gender,
        opponent=info.opponent,
        home_away=info.home_away,
        location=location,
        kind=info.kind,
        status=info.status,
        result=info.result,
        bus=info.bus,
        summary=summary,
        source=source,
        recurring=recurring,
    )


def csv_uids(games: list[tuple[CsvGame, str]], uid_domain: str) -> list[str]:
    """Stable UIDs for CSV rows: the row's own id column, else derived from what identifies
    the game (date, team, opponent, site), so an edited time updates the same event."""
    uids, seen = [], {}
    for game, _ in games:
        if game.uid:
            uids.append(game.uid if "@" in game.uid else f"{game.uid}@{uid_domain}")
            continue
        team = slugify(" ".join(p for p in (game.gender, game.level, game.sport) if p))
        key = (game.day.isoformat(), team, slugify(game.opponent), game.home_away)
        seen[key] = seen.get(key, 0) + 1
        uids.append(stable_uid(uid_domain, "athletics", *key, seen[key]))
    return uids


def game_from_csv(game: CsvGame, uid: str, source: str, zone: ZoneInfo) -> Game:
    start: datetime | date = game.day
    if game.start is not None:
        start = datetime.combine(game.day, game.start, tzinfo=zone)
    return Game(
        uid=uid,
        start=start,
        sport=game.sport,
        level=game.level,
        gender=game.gender,
        opponent=game.opponent,
        home_away=game.home_away,
        location=game.location,
        status=game.status,
        result=game.result,
        bus=game.bus,
        summary=f"{game.sport} {game.opponent}",
        source=source,
    )


def expand(
    result: LoadResult,
    school_names: list[str],
    tz: str,
    window_start: date,
    window_end: date,
    uid_domain: str,
) -> list[Game]:
    """Every occurrence between the two dates, in the school's time zone, sorted."""
    zone = ZoneInfo(tz)
    series: dict[str, list[SourceEvent]] = {}
    for event in result.events:
        series.setdefault(event.uid, []).append(event)
    games: list[Game] = []
    for uid, events in series.items():
        # One small calendar per series, so one broken event names its file and
        # does not take the others with it.
        calendar = icalendar.Calendar()
        for timezone in result.timezones:
            calendar.add_component(timezone)
        for event in events:
            calendar.add_component(event.component)
        master = next((e for e in events if not e.recurrence_key), events[0])
        recurring = any(master.component.get(name) is not None for name in ("RRULE", "RDATE"))
        try:
            occurrences = recurring_ical_events.of(calendar).between(window_start, window_end)
            games.extend(
                game_from_component(
                    occurrence, master.labels, master.source, school_names, zone, recurring
                )
                for occurrence in occurrences
            )
        except Exception as exc:  # untrusted feed data: skip this event, keep the rest
            logger.warning(
                "Athletics schedule: %s: the event %r (UID %s) was skipped: %s",
                master.source,
                clean_text(master.component.get("SUMMARY")),
                uid,
                exc,
            )
    for (game, source), uid in zip(
        result.csv_games, csv_uids(result.csv_games, uid_domain), strict=True
    ):
        if window_start <= game.day < window_end:
            games.append(game_from_csv(game, uid, source, zone))
    games.sort(key=_sort_key)
    return games


def _sort_key(game: Game) -> tuple:
    start = game.start
    moment = start if isinstance(start, datetime) else datetime.combine(start, datetime.min.time())
    return (moment.replace(tzinfo=None), game.team_name, game.uid)


@dataclass
class AthleticsView(SourcesSummary):
    """What the athletics templates read (context variable `athletics`)."""

    today: date
    now: datetime
    games: list[Game]
    teams: list[Team]
    sources: list[SourceStatus]
    calendar_url: str = ""
    upcoming_limit: int = 40
    home_limit: int = 5
    url: str = "athletics/"
    site_urls: dict[str, str] = field(default_factory=dict)  # "home"/"away" game lists
    subscription: Subscription | None = None  # webcal/https links for calendar_url

    def _is_past(self, game: Game) -> bool:
        if isinstance(game.start, datetime):
            return game.start < self.now - timedelta(hours=3)
        return game.start < self.today

    @property
    def upcoming(self) -> list[Game]:
        games = [g for g in self.games if g.kind == "game" and not self._is_past(g)]
        return games[: self.upcoming_limit]

    @property
    def results(self) -> list[Game]:
        """Past games of the season, most recent first."""
        return [g for g in reversed(self.games) if g.kind == "game" and self._is_past(g)]

    def upcoming_for(self, games: list[Game]) -> list[Game]:
        return [g for g in games if not self._is_past(g)]

    def results_for(self, games: list[Game]) -> list[Game]:
        return [g for g in reversed(games) if g.kind == "game" and self._is_past(g)]

    def home_away(self, which: str) -> list[Game]:
        return [g for g in self.upcoming if g.home_away == which]

    @property
    def sports(self) -> list[tuple[str, list[Team]]]:
        grouped: dict[str, list[Team]] = {}
        for team in self.teams:
            grouped.setdefault(team.sport, []).append(team)
        return sorted(grouped.items(), key=lambda item: item[0].lower())

    def team(self, slug: str) -> Team | None:
        return next((team for team in self.teams if team.slug == slug), None)

    def team_url(self, game: Game) -> str:
        team = self.team(game.team_slug)
        return team.url if team else ""


def group_teams(games: list[Game]) -> list[Team]:
    teams: dict[str, Team] = {}
    for game in games:
        team = teams.get(game.team_slug)
        if team is None:
            team = Team(game.team_slug, game.team_name, game.sport, game.level, game.gender)
            teams[game.team_slug] = team
        team.games.append(game)
    return sorted(teams.values(), key=lambda team: team.sort_key)
