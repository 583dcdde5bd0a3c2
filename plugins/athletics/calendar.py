"""Subscription calendars: everything merged, and one per team.

Source events keep their UID, SEQUENCE and recurrence rule, so a calendar app that
subscribed updates events in place; CSV rows get the stable UIDs from schedule.csv_uids.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from school_feeds.ics_out import new_calendar

from .model import Game
from .parsers import STATUS_MARKERS
from .schedule import LoadResult, csv_uids, game_from_component, game_from_csv

COPIED = (
    "UID", "SEQUENCE", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE",
    "RECURRENCE-ID", "SUMMARY", "LOCATION", "DESCRIPTION", "STATUS", "LAST-MODIFIED",
    "CREATED", "TRANSP",
)  # fmt: skip


STATUS_PREFIX = {"cancelled": "CANCELLED: ", "postponed": "POSTPONED: "}


def _label(event: icalendar.Event, game: Game) -> icalendar.Event:
    """The same marks on every subscribed event, whatever its source: sport and level in
    CATEGORIES and in the title (when the source's title does not name the team), and a
    cancelled or postponed game as "CANCELLED: ..." / "POSTPONED: ..." (plus
    STATUS:CANCELLED for a cancellation, which calendar apps strike through)."""
    categories = [part for part in (game.sport, game.level, game.gender) if part]
    if categories:
        event.add("categories", categories)
    if game.opponent or game.kind == "practice":
        # The page's title ("Varsity Soccer vs. Lakeview"), not the feed's raw text.
        summary = f"{game.team_name} {game.title}"
    else:
        summary = STATUS_MARKERS.sub(" ", str(event.get("SUMMARY") or "")).strip(" -–—:")
        summary = " ".join(summary.split())
        if any(word and word.lower() not in summary.lower() for word in (game.level, game.sport)):
            summary = f"{game.team_name}: {summary}" if summary else game.team_name
    event["SUMMARY"] = icalendar.vText(STATUS_PREFIX.get(game.status, "") + summary)
    if game.cancelled:
        event["STATUS"] = icalendar.vText("CANCELLED")
    if game.location and game.home_away == "home":
        event["LOCATION"] = icalendar.vText(game.location)
    return event


def _copy(component: icalendar.Event, stamp: datetime) -> icalendar.Event:
    event = icalendar.Event()
    for name in COPIED:
        if name in component:
            event[name] = component[name]
    event["DTSTAMP"] = component.get("DTSTAMP") or icalendar.vDDDTypes(stamp)
    return event


def _csv_event(game: Game, stamp: datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", game.uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", game.start)
    if isinstance(game.start, datetime):
        event.add("dtend", game.start + timedelta(hours=2))
    else:
        event.add("dtend", game.start + timedelta(days=1))
    event.add("summary", f"{game.team_name} {game.title}")
    if game.location:
        event.add("location", game.location)
    lines = [game.home_away_label]
    if game.bus:
        lines.append(f"Bus departs: {game.bus}")
    if game.result:
        lines.append(f"Result: {game.result}")
    event.add("description", "\n".join(lines))
    return event


def athletics_calendars(
    result: LoadResult,
    school_names: list[str],
    tz: str,
    uid_domain: str,
    site_name: str,
    stamp: datetime,
    teams: set[str] | None = None,
    adjust=None,
    revisions=None,
    revised_at: datetime | None = None,
) -> dict[str, icalendar.Calendar]:
    """{"": the merged calendar, team slug: that team's calendar} (only for `teams`, the
    teams with a page, when given). `adjust(games)` applies what the page applies too (a
    closing alert's cancellations, the home field); `revisions` (revisions.Revisions) sets
    SEQUENCE and DTSTAMP from what was published before."""
    zone = ZoneInfo(tz)
    pairs: list[tuple[Game, icalendar.Event]] = []
    for source in result.events:
        game = game_from_component(
            source.component, source.labels, source.source, school_names, zone, False
        )
        pairs.append((game, _copy(source.component, stamp)))
    for (row, source), uid in zip(
        result.csv_games, csv_uids(result.csv_games, uid_domain), strict=True
    ):
        game = game_from_csv(row, uid, source, zone)
        pairs.append((game, None))
    if adjust is not None:
        adjust([game for game, _ in pairs])
    entries = [
        (game, _label(event if event is not None else _csv_event(game, stamp), game))
        for game, event in pairs
    ]
    if revisions is not None:
        for _, event in entries:
            revisions.apply(event, revised_at or stamp)

    calendars = {"": new_calendar(f"{site_name} athletics", f"All teams at {site_name}", tz)}
    for game, event in entries:
        calendars[""].add_component(event)
        if teams is not None and game.team_slug not in teams:
            continue
        team = calendars.get(game.team_slug)
        if team is None:
            team = new_calendar(
                f"{site_name} {game.team_name}", f"{game.team_name} schedule at {site_name}", tz
            )
            calendars[game.team_slug] = team
        team.add_component(event)
    for timezone in result.timezones:
        for calendar in calendars.values():
            calendar.add_component(timezone)
    return calendars
