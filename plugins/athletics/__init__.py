"""Athletics schedules: files dropped into content/data/athletics/ and feeds in its feeds.toml.

Templates read `athletics` (a schedule.AthleticsView) from the context. The build writes one
page per team (athletics/<team>/), home and away game lists, and subscription calendars
(calendars/athletics.ics, calendars/athletics-<team>.ics). Pages and articles can use
`[team-schedule varsity-football]`, `[upcoming-games]` and `[embed ...]`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pelican import signals
from pelican.generators import Generator

logger = logging.getLogger(__name__)

DEFAULTS = {
    "ATHLETICS_PATH": "data/athletics",  # inside PATH (content/)
    "ATHLETICS_CACHE_PATH": "",  # empty: .cache/feeds next to the content folder
    "ATHLETICS_FEED_TIMEOUT": 10,
    # How our school appears in feed titles ("Cedar Hollow at Northfield" is an away game).
    "ATHLETICS_SCHOOL_NAMES": [],  # empty: SITENAME, and SITENAME without "School"
    "ATHLETICS_PAST_DAYS": 120,  # results shown: the season so far
    "ATHLETICS_FUTURE_DAYS": 150,
    "ATHLETICS_UPCOMING_LIMIT": 40,
    "ATHLETICS_HOME_LIMIT": 5,  # games in the home page panel
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

SHORTCODES = ["team-schedule", "upcoming-games"]
_state: dict = {}


def set_defaults(pelican) -> None:
    for name, value in DEFAULTS.items():
        pelican.settings.setdefault(name, value)


def school_names(settings: dict) -> list[str]:
    names = list(settings["ATHLETICS_SCHOOL_NAMES"])
    if not names:
        site = settings.get("SITENAME", "")
        names = [site, site.removesuffix(" School").removesuffix(" High School")]
    return [name for name in names if name]


def _load(settings: dict):
    from school_feeds.paths import cache_dir, data_dir, uid_domain
    from school_feeds.site_date import site_now

    from .schedule import AthleticsView, expand, group_teams, load_schedule

    tz = settings.get("TIMEZONE") or "UTC"
    now = site_now(tz)
    today = now.date()
    result = load_schedule(
        data_dir(settings, "ATHLETICS_PATH"),
        cache_dir(settings, "ATHLETICS_CACHE_PATH"),
        {},
        tz,
        timeout=float(settings["ATHLETICS_FEED_TIMEOUT"]),
    )
    for problem in result.problems:
        logger.warning("Athletics schedule: %s", problem)
    games = expand(
        result,
        school_names(settings),
        tz,
        today - timedelta(days=int(settings["ATHLETICS_PAST_DAYS"])),
        today + timedelta(days=int(settings["ATHLETICS_FUTURE_DAYS"])),
        uid_domain(settings, "ATHLETICS_UID_DOMAIN"),
    )
    teams = group_teams(games)
    for team in teams:
        team.url = settings["ATHLETICS_TEAM_URL"].format(slug=team.slug)
        if settings["ATHLETICS_TEAM_CALENDAR_SAVE_AS"]:
            team.calendar_url = settings["ATHLETICS_TEAM_CALENDAR_SAVE_AS"].format(slug=team.slug)
    view = AthleticsView(
        today,
        now,
        games,
        teams,
        result.sources,
        calendar_url=settings["ATHLETICS_CALENDAR_SAVE_AS"],
        upcoming_limit=int(settings["ATHLETICS_UPCOMING_LIMIT"]),
    )
    view.home_limit = int(settings["ATHLETICS_HOME_LIMIT"])
    view.site_urls = {
        which: settings["ATHLETICS_SITE_URL"].format(which=which) for which in ("home", "away")
    }
    view.url = settings["ATHLETICS_URL"]
    logger.info(
        "athletics: %d event(s) for %d team(s) from %d source(s), today is %s",
        len(games),
        len(teams),
        len(result.sources),
        today.isoformat(),
    )
    return view, result


def add_schedule_to_context(generator) -> None:
    # Every generator shares one context: load once per build.
    if "athletics" not in generator.context:
        view, result = _load(generator.settings)
        generator.context["athletics"] = view
        _state["env"] = generator.env
        _state["result"] = result


def _render_shortcode(instance, name: str, positional: list[str], named: dict[str, str]) -> str:
    view = instance._context["athletics"]
    source = getattr(instance, "relative_source_path", "") or "a page"
    level = named.get("level", "2")
    level = int(level) if level in {"2", "3", "4"} else 2
    env = _state["env"]
    if name == "upcoming-games":
        games = view.upcoming
        sport = named.get("sport", "").lower()
        if sport:
            games = [game for game in games if game.sport.lower() == sport]
        limit = named.get("limit", "")
        games = games[: int(limit)] if limit.isdigit() else games[: view.home_limit]
        title = named.get("title") or "Upcoming games"
        return env.get_template("partials/athletics_games.html").render(
            games=games, title=title, heading_level=level, show_team=True, in_content=True
        )
    slug = positional[0] if positional else ""
    team = view.team(slug)
    if team is None:
        known = ", ".join(team.slug for team in view.teams) or "none"
        logger.warning(
            "Team schedule in %s: no team %r in the athletics data (teams: %s).",
            source,
            slug,
            known,
        )
        return env.get_template("partials/athletics_games.html").render(
            games=[], title=named.get("title") or "Schedule", heading_level=level, in_content=True
        )
    show = named.get("show", "all")
    games = team.games
    if show == "upcoming":
        games = view.upcoming_for(team.games)
    elif show == "results":
        games = view.results_for(team.games)
    return env.get_template("partials/athletics_games.html").render(
        games=games,
        title=named.get("title") or f"{team.name} schedule",
        heading_level=level,
        show_result=True,
        in_content=True,
    )


def expand_shortcodes(instance) -> None:
    from school_feeds.embed_hook import allowlists, apply_embeds
    from school_feeds.shortcodes import replace_shortcodes

    context = getattr(instance, "_context", None) or {}
    content = getattr(instance, "_content", None)
    if "athletics" not in context or "env" not in _state or not isinstance(content, str):
        return
    if "[team-schedule" in content or "[upcoming-games" in content:
        instance._content = replace_shortcodes(
            content, SHORTCODES, lambda *args: _render_shortcode(instance, *args)
        )
    apply_embeds(instance, _state["env"], allowlists(instance.settings))


class AthleticsGenerator(Generator):
    """Writes the team pages, the home/away lists and the subscription calendars."""

    def generate_output(self, writer) -> None:
        view = self.context.get("athletics")
        if view is None:
            return
        settings = self.settings
        relative = settings.get("RELATIVE_URLS", False)
        team_template = self.get_template("athletics_team")
        for team in view.teams:
            writer.write_file(
                settings["ATHLETICS_TEAM_SAVE_AS"].format(slug=team.slug),
                team_template,
                self.context,
                relative_urls=relative,
                url=team.url,
                team=team,
            )
        list_template = self.get_template("athletics_list")
        for which, url in view.site_urls.items():
            writer.write_file(
                settings["ATHLETICS_SITE_SAVE_AS"].format(which=which),
                list_template,
                self.context,
                relative_urls=relative,
                url=url,
                which=which,
            )
        self._write_calendars(view)

    def _write_calendars(self, view) -> None:
        from school_feeds.ics_out import write_calendar
        from school_feeds.paths import uid_domain

        from .calendar import athletics_calendars

        if not self.settings["ATHLETICS_CALENDAR_SAVE_AS"]:
            return
        calendars = athletics_calendars(
            _state["result"],
            school_names(self.settings),
            self.settings.get("TIMEZONE") or "UTC",
            uid_domain(self.settings, "ATHLETICS_UID_DOMAIN"),
            self.settings.get("SITENAME", "School"),
            datetime.combine(view.today, datetime.min.time(), tzinfo=UTC),
        )
        output = Path(self.output_path)
        for slug, calendar in calendars.items():
            if slug:
                save_as = self.settings["ATHLETICS_TEAM_CALENDAR_SAVE_AS"].format(slug=slug)
            else:
                save_as = self.settings["ATHLETICS_CALENDAR_SAVE_AS"]
            if save_as:
                write_calendar(calendar, output / save_as)


def get_generators(pelican):
    return AthleticsGenerator


def register():
    signals.initialized.connect(set_defaults)
    signals.generator_init.connect(add_schedule_to_context)
    signals.content_object_init.connect(expand_shortcodes)
    signals.get_generators.connect(get_generators)
