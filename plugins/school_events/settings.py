"""Events calendar settings: every EVENTS_* default lives here, read through one loader."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The categories families filter by, in the order the filter lists them: (slug, label).
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("school-wide", "School-wide"),
    ("pta", "PTA"),
    ("arts", "Arts"),
    ("athletics", "Athletics"),
    ("closings", "Closings"),
)

DEFAULTS: dict[str, object] = {
    "EVENTS_PATH": "data/events",  # inside PATH: calendar files and feeds.toml
    "EVENTS_CONTENT_PATH": "events",  # inside PATH: one Markdown file per event
    "EVENTS_CACHE_PATH": "",  # empty: .cache/feeds next to the content folder
    "EVENTS_FEED_TIMEOUT": 10,  # seconds
    "EVENTS_CATEGORIES": CATEGORIES,
    "EVENTS_DEFAULT_CATEGORY": "school-wide",  # events and feeds that name none
    # The school year so far and ahead: month pages exist for every month in this window.
    "EVENTS_PAST_DAYS": 100,
    "EVENTS_FUTURE_DAYS": 240,
    # The "Coming up" list on the calendar page. On the sample calendar three weeks from
    # November 26 are 25 entries, already 8,600 px on a 375 px phone (45 days: 29 entries,
    # 9,700 px; from October 5, 9 against 27); the month pages hold the rest.
    "EVENTS_UPCOMING_DAYS": 21,
    "EVENTS_HOME_LIMIT": 4,  # events in the home page panel
    "EVENTS_INCLUDE_ATHLETICS": True,  # games from the athletics plugin, category athletics
    "EVENTS_INCLUDE_LUNCH_CLOSINGS": True,  # "No School" days in the menus, category closings
    "EVENTS_URL": "calendar/",
    "EVENTS_MONTH_URL": "calendar/{year}-{month:02d}/",
    "EVENTS_MONTH_SAVE_AS": "calendar/{year}-{month:02d}/index.html",
    "EVENTS_CATEGORY_URL": "calendar/{slug}/",
    "EVENTS_CATEGORY_SAVE_AS": "calendar/{slug}/index.html",
    "EVENTS_CALENDAR_SAVE_AS": "calendars/events.ics",
    "EVENTS_CATEGORY_CALENDAR_SAVE_AS": "calendars/events-{slug}.ics",
    "EVENTS_EVENT_CALENDAR_SAVE_AS": "calendars/events/{slug}.ics",  # "add to calendar"
    "EVENTS_UID_DOMAIN": "",  # empty: derived from SITENAME
}


class SettingsError(ValueError):
    """An EVENTS_* setting that cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class EventsSettings:
    path: str
    content_path: str
    cache_path: str
    feed_timeout: float
    categories: tuple[tuple[str, str], ...]
    default_category: str
    past_days: int
    future_days: int
    upcoming_days: int
    home_limit: int
    include_athletics: bool
    include_lunch_closings: bool
    url: str
    month_url: str
    month_save_as: str
    category_url: str
    category_save_as: str
    calendar_save_as: str
    category_calendar_save_as: str
    event_calendar_save_as: str
    uid_domain: str
    timezone: str
    site_name: str

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object]) -> EventsSettings:
        def get(key: str):
            return settings.get(key, DEFAULTS[key])

        categories = tuple((str(slug), str(label)) for slug, label in get("EVENTS_CATEGORIES"))
        default = str(get("EVENTS_DEFAULT_CATEGORY"))
        slugs = [slug for slug, _ in categories]
        if default not in slugs:
            raise SettingsError(
                f"EVENTS_DEFAULT_CATEGORY = {default!r} is not one of the EVENTS_CATEGORIES "
                f"({', '.join(slugs)}); set it to one of them in pelicanconf.py"
            )
        return cls(
            path=str(get("EVENTS_PATH")),
            content_path=str(get("EVENTS_CONTENT_PATH")),
            cache_path=str(get("EVENTS_CACHE_PATH") or ""),
            feed_timeout=float(get("EVENTS_FEED_TIMEOUT")),
            categories=categories,
            default_category=default,
            past_days=int(get("EVENTS_PAST_DAYS")),
            future_days=int(get("EVENTS_FUTURE_DAYS")),
            upcoming_days=int(get("EVENTS_UPCOMING_DAYS")),
            home_limit=int(get("EVENTS_HOME_LIMIT")),
            include_athletics=bool(get("EVENTS_INCLUDE_ATHLETICS")),
            include_lunch_closings=bool(get("EVENTS_INCLUDE_LUNCH_CLOSINGS")),
            url=str(get("EVENTS_URL")),
            month_url=str(get("EVENTS_MONTH_URL")),
            month_save_as=str(get("EVENTS_MONTH_SAVE_AS")),
            category_url=str(get("EVENTS_CATEGORY_URL")),
            category_save_as=str(get("EVENTS_CATEGORY_SAVE_AS")),
            calendar_save_as=str(get("EVENTS_CALENDAR_SAVE_AS") or ""),
            category_calendar_save_as=str(get("EVENTS_CATEGORY_CALENDAR_SAVE_AS") or ""),
            event_calendar_save_as=str(get("EVENTS_EVENT_CALENDAR_SAVE_AS") or ""),
            uid_domain=str(get("EVENTS_UID_DOMAIN") or ""),
            timezone=str(settings.get("TIMEZONE") or "UTC"),
            site_name=str(settings.get("SITENAME") or "School"),
        )

    def category_label(self, slug: str) -> str:
        return dict(self.categories).get(slug, slug)


def publish_defaults(settings: dict) -> None:
    """Make the defaults visible in Pelican's settings (templates read them)."""
    for key, value in DEFAULTS.items():
        settings.setdefault(key, value)
