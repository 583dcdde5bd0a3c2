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

from .model import PLACEHOLDER_LOCATIONS
from .settings import AthleticsSettings, publish_defaults

logger = logging.getLogger(__name__)

SHORTCODES = ["team-schedule", "upcoming-games"]
_state: dict = {}


def set_defaults(pelican) -> None:
    publish_defaults(pelican.settings)


def _adjust(games, closings: dict, home_field: str) -> None:
    """What the page and the calendars both show: games on a closing alert's days are
    cancelled; a home game whose place is only "Home" is at the school's field."""
    for game in games:
        if game.day in closings and game.status != "cancelled" and not game.result:
            game.status = "cancelled"
        if (
            game.home_away == "home"
            and home_field
            and game.location.strip().lower() in PLACEHOLDER_LOCATIONS
        ):
            game.location = home_field


def _load(settings: dict, closings: dict | None = None):
    from school_feeds.paths import cache_dir, data_dir, uid_domain
    from school_feeds.site_date import SiteDateError, site_now
    from school_feeds.stop import stop_build
    from school_feeds.subscribe import subscription

    from .schedule import AthleticsView, expand, group_teams, load_schedule

    config = AthleticsSettings.from_mapping(settings)
    tz = config.timezone
    try:
        now = site_now(tz)
    except SiteDateError as exc:
        stop_build(logger, [str(exc)])
    today = now.date()
    result = load_schedule(
        data_dir(settings, "ATHLETICS_PATH"),
        cache_dir(settings, "ATHLETICS_CACHE_PATH"),
        {},
        tz,
        timeout=config.feed_timeout,
    )
    games = expand(
        result,
        list(config.school_names),
        tz,
        today - timedelta(days=config.past_days),
        today + timedelta(days=config.future_days),
        uid_domain(settings, "ATHLETICS_UID_DOMAIN"),
    )
    for problem in result.problems:
        logger.warning("Athletics schedule: %s", problem)
    _adjust(games, closings or {}, config.home_field)
    teams = group_teams(games)
    for team in teams:
        team.url = config.team_url.format(slug=team.slug)
        if config.team_calendar_save_as:
            team.calendar_url = config.team_calendar_save_as.format(slug=team.slug)
            team.subscription = subscription(
                settings, team.calendar_url, "%(team)s games", team=team.name
            )
    view = AthleticsView(
        today,
        now,
        games,
        teams,
        result.sources,
        calendar_url=config.calendar_save_as,
        upcoming_limit=config.upcoming_limit,
    )
    view.home_limit = config.home_limit
    view.site_urls = {which: config.site_url.format(which=which) for which in ("home", "away")}
    view.url = config.url
    view.subscription = subscription(settings, config.calendar_save_as, "all games")
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
        _state["closings"] = generator.context.get("alert_closings") or {}
        view, result = _load(generator.settings, _state["closings"])
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

    def generate_context(self) -> None:
        from school_feeds.pages import PluginPage, declare

        view = self.context.get("athletics")
        config = AthleticsSettings.from_mapping(self.settings)
        teams = view.teams if view is not None else []
        sites = view.site_urls if view is not None else {}
        self.pages = declare(
            self,
            [
                PluginPage(config.team_save_as.format(slug=t.slug), "athletics_team", {"team": t})
                for t in teams
            ]
            + [
                PluginPage(config.site_save_as.format(which=w), "athletics_list", {"which": w})
                for w in sites
            ],
        )

    def generate_output(self, writer) -> None:
        from school_feeds.pages import write

        view = self.context.get("athletics")
        if view is None:
            return
        config = AthleticsSettings.from_mapping(self.settings)
        write(self, writer, self.pages)
        written = self._write_calendars(view, config)
        self._remove_stale(view, config, written)

    def _write_calendars(self, view, config: AthleticsSettings) -> set[Path]:
        from school_feeds.ics_out import write_calendar
        from school_feeds.paths import cache_dir, uid_domain

        from .calendar import athletics_calendars
        from .revisions import FILE_NAME as REVISIONS_FILE
        from .revisions import Revisions

        if not config.calendar_save_as:
            return set()
        revisions = Revisions(cache_dir(self.settings, "ATHLETICS_CACHE_PATH") / REVISIONS_FILE)
        calendars = athletics_calendars(
            _state["result"],
            list(config.school_names),
            config.timezone,
            uid_domain(self.settings, "ATHLETICS_UID_DOMAIN"),
            config.site_name,
            datetime.combine(view.today, datetime.min.time(), tzinfo=UTC),
            {team.slug for team in view.teams},
            adjust=lambda games: _adjust(games, _state.get("closings") or {}, config.home_field),
            revisions=revisions,
            revised_at=view.now,
        )
        revisions.save()
        output = Path(self.output_path)
        written = set()
        for slug, calendar in calendars.items():
            save_as = (
                config.team_calendar_save_as.format(slug=slug) if slug else config.calendar_save_as
            )
            if save_as:
                write_calendar(calendar, output / save_as)
                written.add(output / save_as)
        return written

    def _remove_stale(self, view, config: AthleticsSettings, calendars: set[Path]) -> None:
        """Team pages and calendars left in the output by an earlier build, for teams that
        are no longer in the schedule: a parent must not find last season's page."""
        from .stale import stale_team_files

        output = Path(self.output_path)
        current = {output / config.team_save_as.format(slug=team.slug) for team in view.teams}
        current |= {output / config.site_save_as.format(which=w) for w in view.site_urls}
        for path in stale_team_files(output, config, current, calendars):
            logger.info("athletics: removed %s (the team is no longer in the schedule)", path)
            path.unlink()
            if path.parent != output and not any(path.parent.iterdir()):
                path.parent.rmdir()


def get_generators(pelican):
    return AthleticsGenerator


def register():
    signals.initialized.connect(set_defaults)
    signals.generator_init.connect(add_schedule_to_context)
    signals.content_object_init.connect(expand_shortcodes)
    signals.get_generators.connect(get_generators)
