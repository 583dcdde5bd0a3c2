"""Lunch menus: files dropped into content/data/lunch/ and feeds named in its feeds.toml.

Templates read `lunch` (a menus.LunchView) from the context. Pages and articles can use
`[lunch-week]`, `[lunch-week next]`, `[lunch-week 2026-11-30 school="..." meal="..."]`,
`[lunch-today]` and `[embed ...]`. The build writes calendars/lunch.ics.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pelican import signals
from pelican.generators import Generator

from .settings import LunchSettings, publish_defaults

logger = logging.getLogger(__name__)

SHORTCODES = ["lunch-week", "lunch-today"]
_state: dict = {}


def set_defaults(pelican) -> None:
    publish_defaults(pelican.settings)


def _close_days(menus, closings: dict) -> None:
    """A closing alert's days: every menu of those days is "no school", with the alert's
    heading as the note (the page, the home page and lunch.ics all say so)."""
    for menu in menus:
        alert = closings.get(menu.day)
        if alert is not None:
            menu.no_school = True
            menu.note = alert.heading
            menu.sections = []


def _load(settings: dict, closings: dict | None = None):
    from school_feeds.paths import cache_dir, data_dir
    from school_feeds.site_date import SiteDateError, site_today
    from school_feeds.stop import stop_build
    from school_feeds.subscribe import subscription

    from .menus import build_view, load_menus, week_start

    config = LunchSettings.from_mapping(settings)
    tz = config.timezone
    try:
        today = site_today(tz)
    except SiteDateError as exc:
        stop_build(logger, [str(exc)])
    weeks = config.weeks
    first = week_start(today + timedelta(days=2 if today.weekday() >= 5 else 0))
    mondays = [first + timedelta(days=7 * n) for n in range(weeks)]
    defaults = {"school": config.default_school, "meal": config.default_meal}
    result = load_menus(
        data_dir(settings, "LUNCH_PATH"),
        cache_dir(settings, "LUNCH_CACHE_PATH"),
        defaults,
        tz,
        mondays,
        timeout=config.feed_timeout,
        schools=config.schools,
    )
    for problem in result.problems:
        logger.warning("Lunch menu: %s", problem)
    _close_days(result.menus, closings or {})
    view = build_view(result, today, weeks)
    view.calendar_url = config.calendar_save_as
    view.subscription = subscription(settings, config.calendar_save_as, "the lunch menus")
    for month in view.months:
        month.url = config.month_url.format(year=month.first.year, month=month.first.month)
    logger.info(
        "lunch_menu: %d menu(s) from %d source(s), today is %s",
        len(result.menus),
        len(result.sources),
        today.isoformat(),
    )
    return view


def add_menus_to_context(generator) -> None:
    # Every generator shares one context: load once per build.
    if "lunch" not in generator.context:
        generator.context["lunch"] = _load(
            generator.settings, generator.context.get("alert_closings")
        )
        _state["env"] = generator.env


def _render_shortcode(instance, name: str, positional: list[str], named: dict[str, str]) -> str:
    view = instance._context["lunch"]
    source = getattr(instance, "relative_source_path", "") or "a page"
    level = named.get("level", "2")
    level = int(level) if level in {"2", "3", "4"} else 2
    if name == "lunch-today":
        template = _state["env"].get_template("partials/lunch_today.html")
        return template.render(lunch=view, heading_level=level, in_content=True)
    when = positional[0] if positional else "this"
    if when in {"this", "today", "current"}:
        day = view.today
    elif when == "next":
        day = view.today + timedelta(days=7)
    else:
        try:
            day = date.fromisoformat(when)
        except ValueError:
            logger.warning(
                "Lunch shortcode in %s: %r is not a date; write [lunch-week 2026-11-30], "
                "[lunch-week] or [lunch-week next]. Showing this week instead.",
                source,
                when,
            )
            day = view.today
    week = view.week_of(day, named.get("school", ""), named.get("meal", ""), named.get("title", ""))
    template = _state["env"].get_template("partials/lunch_week.html")
    return template.render(week=week, lunch=view, heading_level=level)


def expand_shortcodes(instance) -> None:
    from school_feeds.embed_hook import allowlists, apply_embeds
    from school_feeds.shortcodes import replace_shortcodes

    context = getattr(instance, "_context", None) or {}
    content = getattr(instance, "_content", None)
    if "lunch" not in context or "env" not in _state or not isinstance(content, str):
        return
    if "[lunch-" in content:
        instance._content = replace_shortcodes(
            content, SHORTCODES, lambda *args: _render_shortcode(instance, *args)
        )
    apply_embeds(instance, _state["env"], allowlists(instance.settings))


class LunchCalendarGenerator(Generator):
    """Writes the month pages (lunch/2026-11/) and the subscription calendar
    (calendars/lunch.ics)."""

    def generate_context(self) -> None:
        from school_feeds.pages import PluginPage, declare

        view = self.context.get("lunch")
        save_as = LunchSettings.from_mapping(self.settings).month_save_as
        months = view.months if view is not None and save_as else []
        self.pages = declare(
            self,
            (
                PluginPage(
                    save_as.format(year=m.first.year, month=m.first.month),
                    "lunch_month",
                    {"month": m},
                )
                for m in months
            ),
        )

    def generate_output(self, writer) -> None:
        from school_feeds.pages import write

        write(self, writer, self.pages)
        self._write_calendar()

    def _write_calendar(self) -> None:
        from school_feeds.ics_out import write_calendar
        from school_feeds.paths import uid_domain

        from .calendar import lunch_calendar

        view = self.context.get("lunch")
        config = LunchSettings.from_mapping(self.settings)
        save_as = config.calendar_save_as
        if view is None or not save_as:
            return
        calendar = lunch_calendar(
            view.menus,
            config.site_name,
            config.timezone,
            uid_domain(self.settings, "LUNCH_UID_DOMAIN"),
            datetime.combine(view.today, datetime.min.time(), tzinfo=UTC),
        )
        write_calendar(calendar, Path(self.output_path) / save_as)


def get_generators(pelican):
    return LunchCalendarGenerator


def register():
    signals.initialized.connect(set_defaults)
    signals.generator_init.connect(add_menus_to_context)
    signals.content_object_init.connect(expand_shortcodes)
    signals.get_generators.connect(get_generators)
