"""Events calendar: Markdown files in content/events/, calendar files and feeds in
content/data/events/ (feeds.toml), athletics games and the menus' days without school.

Pelican glue only; the work is in sources, expand, assemble, view and calendars. Templates read
`events` (a view.EventsView). The build writes a page per month (calendar/2026-11/), a page
per category (calendar/pta/), and calendars: all events, one per category and one per event.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from pelican import signals
from pelican.generators import Generator

from .settings import EventsSettings, SettingsError, publish_defaults

logger = logging.getLogger(__name__)


def set_defaults(pelican) -> None:
    publish_defaults(pelican.settings)


def _config(settings: dict) -> EventsSettings:
    from school_feeds.stop import stop_build

    try:
        return EventsSettings.from_mapping(settings)
    except SettingsError as exc:
        stop_build(logger, [str(exc)])


class EventsGenerator(Generator):
    """Builds the `events` view, then writes the month and category pages and calendars."""

    def generate_context(self) -> None:
        from school_feeds.pages import PluginPage, declare
        from school_feeds.paths import cache_dir, data_dir, uid_domain
        from school_feeds.site_date import SiteDateError, site_now
        from school_feeds.stop import stop_build
        from school_feeds.subscribe import subscription

        from .assemble import assemble
        from .sources import load_events

        config = _config(self.settings)
        try:
            now = site_now(config.timezone)
        except SiteDateError as exc:
            stop_build(logger, [str(exc)])
        domain = uid_domain(self.settings, "EVENTS_UID_DOMAIN")
        result = load_events(
            Path(self.settings["PATH"]) / config.content_path,
            data_dir(self.settings, "EVENTS_PATH"),
            cache_dir(self.settings, "EVENTS_CACHE_PATH"),
            config.timezone,
            dict(config.categories),
            config.default_category,
            domain,
            timeout=config.feed_timeout,
        )
        for problem in result.problems:
            logger.warning("Events calendar: %s", problem)
        view, derived = assemble(
            config,
            now,
            result,
            domain,
            lambda path, name, **values: subscription(self.settings, path, name, **values),
            athletics=self.context.get("athletics"),
            lunch=self.context.get("lunch"),
            closings=self.context.get("alert_closings"),
        )
        self.context["events"] = view
        self._result, self._derived = result, derived
        self.pages = declare(
            self,
            [
                PluginPage(
                    config.month_save_as.format(year=m.first.year, month=m.first.month),
                    "events_month",
                    {"month": m},
                )
                for m in view.months
            ]
            + [
                PluginPage(
                    config.category_save_as.format(slug=c.slug), "events_category", {"category": c}
                )
                for c in view.categories
            ],
        )
        logger.info(
            "school_events: %d event(s) from %d source(s) and %d from athletics and menus, "
            "today is %s",
            len(view.events) - len(derived),
            len(result.sources),
            len(derived),
            view.today.isoformat(),
        )

    def generate_output(self, writer) -> None:
        from school_feeds.pages import write

        if self.context.get("events") is None:
            return
        write(self, writer, self.pages)
        self._write_calendars(_config(self.settings))

    def _write_calendars(self, config: EventsSettings) -> None:
        from school_feeds.ics_out import write_calendar

        from .calendars import build_calendars

        output = Path(self.output_path)
        view = self.context["events"]
        stamp = datetime.combine(view.today, datetime.min.time(), tzinfo=UTC)
        own_categories = {category.slug for category in view.categories if category.calendar_path}
        everything, per_category, per_event = build_calendars(
            self._result,
            self._derived,
            dict(config.categories),
            config.timezone,
            config.site_name,
            stamp,
            own_categories,
            closed=self.context.get("alert_closings"),
        )
        if config.calendar_save_as:
            write_calendar(everything, output / config.calendar_save_as)
        for category in view.categories:
            if category.slug in per_category:
                write_calendar(per_category[category.slug], output / category.calendar_path)
        if config.event_calendar_save_as:
            for slug, calendar in per_event.items():
                write_calendar(calendar, output / config.event_calendar_save_as.format(slug=slug))


def get_generators(pelican):
    return EventsGenerator


def register():
    signals.initialized.connect(set_defaults)
    signals.get_generators.connect(get_generators)
