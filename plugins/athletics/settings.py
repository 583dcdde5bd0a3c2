"""Athletics settings: every ATHLETICS_* default lives here, read through one loader."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULTS: dict[str, object] = {
    "ATHLETICS_PATH": "data/athletics",  # inside PATH (content/)
    "ATHLETICS_CACHE_PATH": "",  # empty: .cache/feeds next to the content folder
    "ATHLETICS_FEED_TIMEOUT": 10,  # seconds
    # How our school appears in feed titles ("Cedar Hollow at Northfield" is an away game).
    "ATHLETICS_SCHOOL_NAMES": [],  # empty: SITENAME, and SITENAME without "School"
    "ATHLETICS_PAST_DAYS": 120,  # results shown: the season so far
    "ATHLETICS_FUTURE_DAYS": 150,
    "ATHLETICS_UPCOMING_LIMIT": 40,
    "ATHLETICS_HOME_LIMIT": 5,  # games in the home page panel
    # The place of a home game whose feed says only "Home" (page, map link and calendars):
    # the field's name and address; empty: the school's name (SITENAME).
    "ATHLETICS_HOME_FIELD": "",
    "ATHLETICS_URL": "athletics/",
    "ATHLETICS_TEAM_URL": "athletics/{slug}/",
    "ATHLETICS_TEAM_SAVE_AS": "athletics/{slug}/index.html",
    "ATHLETICS_SITE_URL": "athletics/{which}-games/",  # which: home, away
    "ATHLETICS_SITE_SAVE_AS": "athletics/{which}-games/index.html",
    "ATHLETICS_CALENDAR_SAVE_AS": "calendars/athletics.ics",
    "ATHLETICS_TEAM_CALENDAR_SAVE_AS": "calendars/athletics-{slug}.ics",
    "ATHLETICS_UID_DOMAIN": "",  # empty: derived from SITENAME
    # Vendor schedule widgets that [embed] may show (a host also allows its subdomains).
    "ATHLETICS_EMBED_HOSTS": [
        "rschooltoday.com",
        "highschoolsports.net",
        "schedulestar.com",
        "gobound.com",
        "arbitersports.com",
        "arbiterlive.com",
    ],
}


@dataclass(frozen=True)
class AthleticsSettings:
    path: str
    cache_path: str
    feed_timeout: float
    school_names: tuple[str, ...]
    past_days: int
    future_days: int
    upcoming_limit: int
    home_limit: int
    url: str
    team_url: str
    team_save_as: str
    site_url: str
    site_save_as: str
    calendar_save_as: str
    team_calendar_save_as: str
    uid_domain: str
    embed_hosts: tuple[str, ...]
    timezone: str
    site_name: str
    home_field: str = ""

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object]) -> AthleticsSettings:
        def get(key: str):
            return settings.get(key, DEFAULTS[key])

        site = str(settings.get("SITENAME") or "")
        names = [str(name) for name in get("ATHLETICS_SCHOOL_NAMES") or ()]
        if not names:
            names = [site, site.removesuffix(" School").removesuffix(" High School")]
        return cls(
            path=str(get("ATHLETICS_PATH")),
            cache_path=str(get("ATHLETICS_CACHE_PATH") or ""),
            feed_timeout=float(get("ATHLETICS_FEED_TIMEOUT")),
            school_names=tuple(name for name in names if name),
            past_days=int(get("ATHLETICS_PAST_DAYS")),
            future_days=int(get("ATHLETICS_FUTURE_DAYS")),
            upcoming_limit=int(get("ATHLETICS_UPCOMING_LIMIT")),
            home_limit=int(get("ATHLETICS_HOME_LIMIT")),
            url=str(get("ATHLETICS_URL")),
            team_url=str(get("ATHLETICS_TEAM_URL")),
            team_save_as=str(get("ATHLETICS_TEAM_SAVE_AS")),
            site_url=str(get("ATHLETICS_SITE_URL")),
            site_save_as=str(get("ATHLETICS_SITE_SAVE_AS")),
            calendar_save_as=str(get("ATHLETICS_CALENDAR_SAVE_AS") or ""),
            team_calendar_save_as=str(get("ATHLETICS_TEAM_CALENDAR_SAVE_AS") or ""),
            uid_domain=str(get("ATHLETICS_UID_DOMAIN") or ""),
            embed_hosts=tuple(get("ATHLETICS_EMBED_HOSTS") or ()),
            timezone=str(settings.get("TIMEZONE") or "UTC"),
            site_name=site or "School",
            home_field=str(get("ATHLETICS_HOME_FIELD") or site or ""),
        )


def publish_defaults(settings: dict) -> None:
    """Make the defaults visible in Pelican's settings (templates and embeds read them)."""
    for key, value in DEFAULTS.items():
        settings.setdefault(key, value)
