"""Athletics settings: every ATHLETICS_* setting is a field of ``AthleticsSettings`` (key,
default and doc line), read through the one loader (``site_common.settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from site_common import settings as loader
from site_common.settings import setting


@dataclass(frozen=True)
class AthleticsSettings:
    path: str = setting(
        "ATHLETICS_PATH", "data/athletics", "Schedule files and feeds.toml, inside PATH."
    )
    cache_path: str = setting(
        "ATHLETICS_CACHE_PATH",
        "",
        "Fetched feeds; empty: .cache/feeds next to the content folder.",
    )
    feed_timeout: float = setting(
        "ATHLETICS_FEED_TIMEOUT", 10, "Seconds to wait for a schedule feed."
    )
    # "Cedar Hollow at Northfield" is an away game.
    school_names: tuple[str, ...] = setting(
        "ATHLETICS_SCHOOL_NAMES",
        [],
        "How our school appears in feed titles; empty: SITENAME, and it without 'School'.",
    )
    past_days: int = setting(
        "ATHLETICS_PAST_DAYS", 120, "Days of results shown: the season so far."
    )
    future_days: int = setting("ATHLETICS_FUTURE_DAYS", 150, "Days of games ahead shown.")
    upcoming_limit: int = setting("ATHLETICS_UPCOMING_LIMIT", 40, "Games in the upcoming list.")
    home_limit: int = setting("ATHLETICS_HOME_LIMIT", 5, "Games in the home page panel.")
    url: str = setting("ATHLETICS_URL", "athletics/", "URL of the athletics page.")
    team_url: str = setting("ATHLETICS_TEAM_URL", "athletics/{slug}/", "URL of a team's page.")
    team_save_as: str = setting(
        "ATHLETICS_TEAM_SAVE_AS", "athletics/{slug}/index.html", "Where a team's page is written."
    )
    site_url: str = setting(
        "ATHLETICS_SITE_URL",
        "athletics/{which}-games/",
        "URL of the home and away games pages ({which}: home, away).",
    )
    site_save_as: str = setting(
        "ATHLETICS_SITE_SAVE_AS",
        "athletics/{which}-games/index.html",
        "Where the home and away games pages are written.",
    )
    calendar_save_as: str = setting(
        "ATHLETICS_CALENDAR_SAVE_AS", "calendars/athletics.ics", "Every game's calendar feed."
    )
    team_calendar_save_as: str = setting(
        "ATHLETICS_TEAM_CALENDAR_SAVE_AS",
        "calendars/athletics-{slug}.ics",
        "A team's calendar feed.",
    )
    uid_domain: str = setting(
        "ATHLETICS_UID_DOMAIN", "", "Domain of calendar event UIDs; empty: derived from SITENAME."
    )
    embed_hosts: tuple[str, ...] = setting(
        "ATHLETICS_EMBED_HOSTS",
        [
            "rschooltoday.com",
            "highschoolsports.net",
            "schedulestar.com",
            "gobound.com",
            "arbitersports.com",
            "arbiterlive.com",
        ],
        "Vendor schedule widgets [embed] may show (a host also allows its subdomains).",
    )
    timezone: str = "UTC"  # Pelican's TIMEZONE
    site_name: str = "School"  # Pelican's SITENAME
    # Shown on the page, with a map link, and written into the calendars.
    home_field: str = setting(
        "ATHLETICS_HOME_FIELD",
        "",
        "Name and address of a home game whose feed says only 'Home'; empty: SITENAME.",
        field_default="",
    )

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object]) -> AthleticsSettings:
        raw = loader.load(cls, settings)
        site = str(settings.get("SITENAME") or "")
        names = [str(name) for name in raw["ATHLETICS_SCHOOL_NAMES"] or ()]
        if not names:
            names = [site, site.removesuffix(" School").removesuffix(" High School")]
        return cls(
            path=str(raw["ATHLETICS_PATH"]),
            cache_path=str(raw["ATHLETICS_CACHE_PATH"] or ""),
            feed_timeout=float(raw["ATHLETICS_FEED_TIMEOUT"]),
            school_names=tuple(name for name in names if name),
            past_days=int(raw["ATHLETICS_PAST_DAYS"]),
            future_days=int(raw["ATHLETICS_FUTURE_DAYS"]),
            upcoming_limit=int(raw["ATHLETICS_UPCOMING_LIMIT"]),
            home_limit=int(raw["ATHLETICS_HOME_LIMIT"]),
            url=str(raw["ATHLETICS_URL"]),
            team_url=str(raw["ATHLETICS_TEAM_URL"]),
            team_save_as=str(raw["ATHLETICS_TEAM_SAVE_AS"]),
            site_url=str(raw["ATHLETICS_SITE_URL"]),
            site_save_as=str(raw["ATHLETICS_SITE_SAVE_AS"]),
            calendar_save_as=str(raw["ATHLETICS_CALENDAR_SAVE_AS"] or ""),
            team_calendar_save_as=str(raw["ATHLETICS_TEAM_CALENDAR_SAVE_AS"] or ""),
            uid_domain=str(raw["ATHLETICS_UID_DOMAIN"] or ""),
            embed_hosts=tuple(raw["ATHLETICS_EMBED_HOSTS"] or ()),
            timezone=str(settings.get("TIMEZONE") or "UTC"),
            site_name=site or "School",
            home_field=str(raw["ATHLETICS_HOME_FIELD"] or site or ""),
        )


# Every ATHLETICS_* default by key.
DEFAULTS: dict[str, object] = loader.defaults_of(AthleticsSettings)


def publish_defaults(settings: dict) -> None:
    """Make the defaults visible in Pelican's settings (templates and embeds read them)."""
    loader.publish_defaults(AthleticsSettings, settings)
