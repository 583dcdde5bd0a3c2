"""Events calendar settings: every EVENTS_* setting is a field of ``EventsSettings`` (key,
default and doc line), read through the one loader (``site_common.settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from site_common import settings as loader
from site_common.settings import SettingsError, setting

__all__ = ["CATEGORIES", "DEFAULTS", "EventsSettings", "SettingsError", "publish_defaults"]

# The categories families filter by, in the order the filter lists them: (slug, label).
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("school-wide", "School-wide"),
    ("pta", "PTA"),
    ("arts", "Arts"),
    ("athletics", "Athletics"),
    ("closings", "Closings"),
)


@dataclass(frozen=True)
class EventsSettings:
    path: str = setting("EVENTS_PATH", "data/events", "Calendar files and feeds.toml, inside PATH.")
    content_path: str = setting(
        "EVENTS_CONTENT_PATH", "events", "One Markdown file per event, inside PATH."
    )
    cache_path: str = setting(
        "EVENTS_CACHE_PATH", "", "Fetched feeds; empty: .cache/feeds next to the content folder."
    )
    feed_timeout: float = setting("EVENTS_FEED_TIMEOUT", 10, "Seconds to wait for a calendar feed.")
    categories: tuple[tuple[str, str], ...] = setting(
        "EVENTS_CATEGORIES",
        CATEGORIES,
        "(slug, label) of each category families filter by, in the filter's order.",
    )
    default_category: str = setting(
        "EVENTS_DEFAULT_CATEGORY",
        "school-wide",
        "The category of events and feeds that name none (one of EVENTS_CATEGORIES).",
    )
    # The school year so far and ahead: month pages exist for every month in this window.
    past_days: int = setting("EVENTS_PAST_DAYS", 100, "Days back that month pages cover.")
    future_days: int = setting("EVENTS_FUTURE_DAYS", 240, "Days ahead that month pages cover.")
    # On the sample calendar three weeks from November 26 are 25 entries, already 8,600 px
    # on a 375 px phone (45 days: 29 entries, 9,700 px; from October 5, 9 against 27); the
    # month pages hold the rest.
    upcoming_days: int = setting(
        "EVENTS_UPCOMING_DAYS", 21, "Days ahead in the calendar page's 'Coming up' list."
    )
    home_limit: int = setting("EVENTS_HOME_LIMIT", 4, "Events in the home page panel.")
    include_athletics: bool = setting(
        "EVENTS_INCLUDE_ATHLETICS", True, "Show the athletics games, category athletics."
    )
    include_lunch_closings: bool = setting(
        "EVENTS_INCLUDE_LUNCH_CLOSINGS",
        True,
        "Show the menus' 'No School' days, category closings.",
    )
    url: str = setting("EVENTS_URL", "calendar/", "URL of the calendar page.")
    month_url: str = setting(
        "EVENTS_MONTH_URL", "calendar/{year}-{month:02d}/", "URL of a month's page."
    )
    month_save_as: str = setting(
        "EVENTS_MONTH_SAVE_AS",
        "calendar/{year}-{month:02d}/index.html",
        "Where a month's page is written.",
    )
    category_url: str = setting(
        "EVENTS_CATEGORY_URL", "calendar/{slug}/", "URL of a category's page."
    )
    category_save_as: str = setting(
        "EVENTS_CATEGORY_SAVE_AS",
        "calendar/{slug}/index.html",
        "Where a category's page is written.",
    )
    calendar_save_as: str = setting(
        "EVENTS_CALENDAR_SAVE_AS", "calendars/events.ics", "Every event's calendar feed."
    )
    category_calendar_save_as: str = setting(
        "EVENTS_CATEGORY_CALENDAR_SAVE_AS",
        "calendars/events-{slug}.ics",
        "A category's calendar feed.",
    )
    event_calendar_save_as: str = setting(
        "EVENTS_EVENT_CALENDAR_SAVE_AS",
        "calendars/events/{slug}.ics",
        "One event's file, for 'add to calendar'.",
    )
    uid_domain: str = setting(
        "EVENTS_UID_DOMAIN", "", "Domain of calendar event UIDs; empty: derived from SITENAME."
    )
    timezone: str = "UTC"  # Pelican's TIMEZONE
    site_name: str = "School"  # Pelican's SITENAME

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object]) -> EventsSettings:
        raw = loader.load(cls, settings)
        categories = tuple((str(slug), str(label)) for slug, label in raw["EVENTS_CATEGORIES"])
        default = str(raw["EVENTS_DEFAULT_CATEGORY"])
        slugs = [slug for slug, _ in categories]
        if default not in slugs:
            raise SettingsError(
                f"EVENTS_DEFAULT_CATEGORY = {default!r} is not one of the EVENTS_CATEGORIES "
                f"({', '.join(slugs)}); set it to one of them in pelicanconf.py"
            )
        return cls(
            path=str(raw["EVENTS_PATH"]),
            content_path=str(raw["EVENTS_CONTENT_PATH"]),
            cache_path=str(raw["EVENTS_CACHE_PATH"] or ""),
            feed_timeout=float(raw["EVENTS_FEED_TIMEOUT"]),
            categories=categories,
            default_category=default,
            past_days=int(raw["EVENTS_PAST_DAYS"]),
            future_days=int(raw["EVENTS_FUTURE_DAYS"]),
            upcoming_days=int(raw["EVENTS_UPCOMING_DAYS"]),
            home_limit=int(raw["EVENTS_HOME_LIMIT"]),
            include_athletics=bool(raw["EVENTS_INCLUDE_ATHLETICS"]),
            include_lunch_closings=bool(raw["EVENTS_INCLUDE_LUNCH_CLOSINGS"]),
            url=str(raw["EVENTS_URL"]),
            month_url=str(raw["EVENTS_MONTH_URL"]),
            month_save_as=str(raw["EVENTS_MONTH_SAVE_AS"]),
            category_url=str(raw["EVENTS_CATEGORY_URL"]),
            category_save_as=str(raw["EVENTS_CATEGORY_SAVE_AS"]),
            calendar_save_as=str(raw["EVENTS_CALENDAR_SAVE_AS"] or ""),
            category_calendar_save_as=str(raw["EVENTS_CATEGORY_CALENDAR_SAVE_AS"] or ""),
            event_calendar_save_as=str(raw["EVENTS_EVENT_CALENDAR_SAVE_AS"] or ""),
            uid_domain=str(raw["EVENTS_UID_DOMAIN"] or ""),
            timezone=str(settings.get("TIMEZONE") or "UTC"),
            site_name=str(settings.get("SITENAME") or "School"),
        )

    def category_label(self, slug: str) -> str:
        return dict(self.categories).get(slug, slug)


# Every EVENTS_* default by key.
DEFAULTS: dict[str, object] = loader.defaults_of(EventsSettings)


def publish_defaults(settings: dict) -> None:
    """Make the defaults visible in Pelican's settings (templates read them)."""
    loader.publish_defaults(EventsSettings, settings)
