"""Put the calendar together: the events read from files and feeds, expanded over the
window, plus the athletics games and the menus' days without school; then the view the
templates read, with the URLs and subscriptions from the settings. No Pelican here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

from school_feeds.subscribe import Subscription

from .calendars import event_slug
from .expand import closings_from_menus, events_from_games, expand
from .model import Event, closed_by
from .settings import EventsSettings
from .sources import LoadResult
from .view import Category, EventsView, build_view

# (path, name, **values) -> links or None; the name is a message with %(value)s placeholders.
Subscribe = Callable[..., Subscription | None]


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def assemble(
    config: EventsSettings,
    now: datetime,
    result: LoadResult,
    uid_domain: str,
    subscribe: Subscribe,
    athletics: object | None = None,
    lunch: object | None = None,
    closings: dict | None = None,
) -> tuple[EventsView, list[Event]]:
    """The calendar view and the events made from the other plugins' data (written to the
    calendar files as single events). `athletics` and `lunch` are those plugins' views."""
    today = now.date()
    labels = dict(config.categories)
    window = (today - timedelta(days=config.past_days), today + timedelta(days=config.future_days))
    events = expand(result, config.timezone, window[0], window[1], labels)
    # A closing alert's days (site_alerts): that day's events are cancelled, on the page
    # and in the calendars (a multi-day event, a closing itself, is left as it is).
    for event in events:
        if closed_by(event, closings):
            event.status = "cancelled"
    derived: list[Event] = []
    if config.include_athletics and athletics is not None and "athletics" in labels:
        derived += events_from_games(athletics.games, athletics.team_url, labels["athletics"])
    if config.include_lunch_closings and lunch is not None and "closings" in labels:
        covered = {
            day
            for event in events
            if event.category == "closings"
            for day in _days(event.first_day, event.last_day)
        }
        derived += closings_from_menus(lunch.menus, uid_domain, covered, labels["closings"])
    derived = [e for e in derived if e.last_day >= window[0] and e.first_day < window[1]]
    events += derived
    if config.event_calendar_save_as:
        for event in events:
            event.ics_url = config.event_calendar_save_as.format(slug=event_slug(event.uid))

    categories = []
    for slug, label in config.categories:
        category = Category(slug, label, config.category_url.format(slug=slug))
        athletics_feed = getattr(athletics, "subscription", None)
        if slug == "athletics" and athletics_feed:
            # The athletics director's own subscription: every team, kept in step.
            category.subscription = athletics_feed
        elif config.category_calendar_save_as:
            category.calendar_path = config.category_calendar_save_as.format(slug=slug)
            category.subscription = subscribe(
                category.calendar_path, "the %(category)s calendar", category=label
            )
        categories.append(category)

    view = build_view(events, today, now, window, categories, result.sources)
    view.url = config.url
    view.upcoming_days = config.upcoming_days
    view.home_limit = config.home_limit
    view.subscription = subscribe(config.calendar_save_as, "all school events")
    for month in view.months:
        month.url = config.month_url.format(year=month.first.year, month=month.first.month)
    return view, derived
