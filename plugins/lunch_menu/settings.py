"""Lunch menu settings: every LUNCH_* default lives here, read through one loader."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULTS: dict[str, object] = {
    "LUNCH_PATH": "data/lunch",  # inside PATH (content/)
    "LUNCH_CACHE_PATH": "",  # empty: .cache/feeds next to the content folder
    "LUNCH_FEED_TIMEOUT": 10,  # seconds
    "LUNCH_DEFAULT_SCHOOL": "",  # empty: SITENAME
    "LUNCH_DEFAULT_MEAL": "Lunch",
    # The schools menus may name; another name is warned about (a typo makes a new table).
    # Empty: any name is accepted.
    "LUNCH_SCHOOLS": [],
    "LUNCH_WEEKS": 2,
    "LUNCH_CALENDAR_SAVE_AS": "calendars/lunch.ics",
    "LUNCH_MONTH_URL": "lunch/{year}-{month:02d}/",
    "LUNCH_MONTH_SAVE_AS": "lunch/{year}-{month:02d}/index.html",
    "LUNCH_UID_DOMAIN": "",  # empty: derived from SITENAME
    # Vendor menu widgets that [embed] may show (a host also allows its subdomains).
    "LUNCH_EMBED_HOSTS": [
        "nutrislice.com",
        "schoolcafe.com",
        "linqconnect.com",
        "myschoolmenus.com",
    ],
}


@dataclass(frozen=True)
class LunchSettings:
    path: str
    cache_path: str
    feed_timeout: float
    default_school: str
    default_meal: str
    schools: tuple[str, ...]
    weeks: int
    calendar_save_as: str
    month_url: str
    month_save_as: str
    uid_domain: str
    embed_hosts: tuple[str, ...]
    timezone: str
    site_name: str

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object]) -> LunchSettings:
        def get(key: str):
            return settings.get(key, DEFAULTS[key])

        site_name = str(settings.get("SITENAME") or "School")
        return cls(
            path=str(get("LUNCH_PATH")),
            cache_path=str(get("LUNCH_CACHE_PATH") or ""),
            feed_timeout=float(get("LUNCH_FEED_TIMEOUT")),
            default_school=str(get("LUNCH_DEFAULT_SCHOOL") or site_name),
            default_meal=str(get("LUNCH_DEFAULT_MEAL")),
            schools=tuple(str(name) for name in get("LUNCH_SCHOOLS") or ()),
            weeks=max(1, int(get("LUNCH_WEEKS"))),
            calendar_save_as=str(get("LUNCH_CALENDAR_SAVE_AS") or ""),
            month_url=str(get("LUNCH_MONTH_URL") or ""),
            month_save_as=str(get("LUNCH_MONTH_SAVE_AS") or ""),
            uid_domain=str(get("LUNCH_UID_DOMAIN") or ""),
            embed_hosts=tuple(get("LUNCH_EMBED_HOSTS") or ()),
            timezone=str(settings.get("TIMEZONE") or "UTC"),
            site_name=site_name,
        )


def publish_defaults(settings: dict) -> None:
    """Make the defaults visible in Pelican's settings (templates and embeds read them)."""
    for key, value in DEFAULTS.items():
        settings.setdefault(key, value)
