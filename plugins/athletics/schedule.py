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
from school_feeds import ics_in
from school_feeds.config import read_folder
from school_feeds.fetch import FeedError, fetch_with_cache
from school_feeds.ics_in import expand_series, local_time, merge_events, read_ics
from school_feeds.ics_out import stable_uid
from school_feeds.status import SourcesSummary, SourceStatus
from school_feeds.subscribe import Subscription
from school_feeds.text import clean_text, slugify

from .model import Game, Team
from .parsers import CsvGame, describe, parse_csv

logger = logging.getLogger(__name__)

SUFFIX_FORMATS = {".ics": "ics", ".csv": "csv"}


class SourceEvent(ics_in.SourceEvent[dict[str, str]]):
    """A VEVENT as read, with what its source's labels and text say about it."""

    @property
    def labels(self) -> dict[str, str]:
        return self.about


@dataclass
class LoadResult:
    events: list[SourceEvent] = field(default_factory=list)  # merged: one per UID/instance
    csv_games: list[tuple[CsvGame, str]] = field(default_factory=list)
    timezones: list[icalendar.Timezone] = field(default_factory=list)
    sources: list[SourceStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, FeedError | OSError) else f"unreadable ({exc!r})"


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
    intake: ics_in.Intake[dict[str, str]] = ics_in.Intake(SourceEvent)

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
        title = labels.get("title") or ics_in.calendar_name(outcome.data) or feed.name
        result.sources.append(SourceStatus(feed.name, "feed", updated, outcome.error, title))
        if outcome.data is None:
            continue
        if feed.format == "ics":
            intake.add_calendar(outcome.data, feed.name, labels)
        else:
            result.csv_games.extend((game, feed.name) for game in outcome.data)

    for path in config.files:
        labels = {**defaults, **config.labels_for(path)}
        try:
            raw = path.read_bytes()
            if path.suffix.lower() == ".ics":
                calendar, problems = read_ics(raw)
                intake.add_calendar(calendar, path.name, labels)
            else:
                games, problems = parse_csv(raw)
                result.csv_games.extend((game, path.name) for game in games)
            result.problems.extend(f"{path}: {problem}" for problem in problems)
        except Exception as exc:  # untrusted input: report it, keep building
            result.problems.append(f"{path}: {_reason(exc)}; the file was skipped")
            continue
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).astimezone(zone)
        result.sources.append(SourceStatus(path.name, "file", modified))

    result.events = merge_events(intake.events)
    result.timezones = intake.timezones
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
    start = local_time(component.get("DTSTART").dt, zone)
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

    def make(occurrence: icalendar.Event, master: SourceEvent, recurring: bool) -> Game:
        return game_from_component(
            occurrence, master.labels, master.source, school_names, zone, recurring
        )

    games = expand_series(
        result.events, result.timezones, window_start, window_end, make, "Athletics schedule"
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
