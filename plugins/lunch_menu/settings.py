"""Lunch menu settings: every LUNCH_* setting is a field of ``LunchSettings`` (key, default
and doc line), read through the one loader (``site_common.settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from site_common import settings as loader
from site_common.settings import setting


@dataclass(frozen=True)
class LunchSettings:
    path: str = setting("LUNCH_PATH", "data/lunch", "Menu files and feeds.toml, inside PATH.")
    cache_path: str = setting(
        "LUNCH_CACHE_PATH", "", "Fetched feeds; empty: .cache/feeds next to the content folder."
    )
    feed_timeout: float = setting("LUNCH_FEED_TIMEOUT", 10, "Seconds to wait for a menu feed.")
    default_school: str = setting(
        "LUNCH_DEFAULT_SCHOOL", "", "The school of a menu that names none; empty: SITENAME."
    )
    default_meal: str = setting(
        "LUNCH_DEFAULT_MEAL", "Lunch", "The meal of a menu that names none."
    )
    # A typo in a school's name would make a table of its own.
    schools: tuple[str, ...] = setting(
        "LUNCH_SCHOOLS",
        [],
        "The schools menus may name; another name is warned about. Empty: any name.",
    )
    weeks: int = setting("LUNCH_WEEKS", 2, "Weeks of menus on the lunch page.")
    calendar_save_as: str = setting(
        "LUNCH_CALENDAR_SAVE_AS", "calendars/lunch.ics", "The menus' calendar feed."
    )
    month_url: str = setting(
        "LUNCH_MONTH_URL", "lunch/{year}-{month:02d}/", "URL of a month's menus."
    )
    month_save_as: str = setting(
        "LUNCH_MONTH_SAVE_AS",
        "lunch/{year}-{month:02d}/index.html",
        "Where a month's menus are written.",
    )
    uid_domain: str = setting(
        "LUNCH_UID_DOMAIN", "", "Domain of calendar event UIDs; empty: derived from SITENAME."
    )
    embed_hosts: tuple[str, ...] = setting(
        "LUNCH_EMBED_HOSTS",
        ["nutrislice.com", "schoolcafe.com", "linqconnect.com", "myschoolmenus.com"],
        "Vendor menu widgets [embed] may show (a host also allows its subdomains).",
    )
    timezone: str = "UTC"  # Pelican's TIMEZONE
    site_name: str = "School"  # Pelican's SITENAME

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object]) -> LunchSettings:
        raw = loader.load(cls, settings)
        site_name = str(settings.get("SITENAME") or "School")
        return cls(
            path=str(raw["LUNCH_PATH"]),
            cache_path=str(raw["LUNCH_CACHE_PATH"] or ""),
            feed_timeout=float(raw["LUNCH_FEED_TIMEOUT"]),
            default_school=str(raw["LUNCH_DEFAULT_SCHOOL"] or site_name),
            default_meal=str(raw["LUNCH_DEFAULT_MEAL"]),
            schools=tuple(str(name) for name in raw["LUNCH_SCHOOLS"] or ()),
            weeks=max(1, int(raw["LUNCH_WEEKS"])),
            calendar_save_as=str(raw["LUNCH_CALENDAR_SAVE_AS"] or ""),
            month_url=str(raw["LUNCH_MONTH_URL"] or ""),
            month_save_as=str(raw["LUNCH_MONTH_SAVE_AS"] or ""),
            uid_domain=str(raw["LUNCH_UID_DOMAIN"] or ""),
            embed_hosts=tuple(raw["LUNCH_EMBED_HOSTS"] or ()),
            timezone=str(settings.get("TIMEZONE") or "UTC"),
            site_name=site_name,
        )


# Every LUNCH_* default by key.
DEFAULTS: dict[str, object] = loader.defaults_of(LunchSettings)


def publish_defaults(settings: dict) -> None:
    """Make the defaults visible in Pelican's settings (templates and embeds read them)."""
    loader.publish_defaults(LunchSettings, settings)
