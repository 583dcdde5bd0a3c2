"""Site-wide alert banner: active alerts from the ALERTS setting and content/alerts/*.md.

Templates read `active_alerts` (a list of site_alerts.alerts.Alert) from the context; the
lunch, athletics and events plugins read `alert_closings` (day -> the closing Alert) to mark
that day's lunch, games and events as cancelled. The build log lists every alert that starts
later (with its start) and every alert without a text in one of the site's languages.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pelican import signals

from .alerts import active_alerts, closed_days, future_alerts, load_alerts
from .settings import AlertSettings

logger = logging.getLogger(__name__)


def _current_alerts(settings: dict) -> tuple[list, dict]:
    from school_feeds.site_date import SiteDateError, site_now
    from school_feeds.stop import stop_build

    config = AlertSettings.from_mapping(settings)
    tz = config.timezone
    alerts_dir = Path(settings["PATH"], config.path) if config.path else None
    alerts, errors = load_alerts(config.alerts, alerts_dir, tz)
    if errors:
        # A closing or delay that silently fails to show is worse than no build.
        stop_build(logger, [f"Alert cannot be read: {message}" for message in errors])
    try:
        now = site_now(tz)
    except SiteDateError as exc:
        stop_build(logger, [str(exc)])
    live = active_alerts(alerts, now)
    logger.info("site_alerts: %d of %d alert(s) active", len(live), len(alerts))
    for alert in future_alerts(alerts, now):
        logger.warning(
            "site_alerts: %s (%s) is not shown yet: it starts %s; rebuild the site then "
            "(the scheduled build does)",
            alert.source,
            alert.heading,
            alert.starts.strftime("%Y-%m-%d %H:%M %Z"),
        )
    languages = list(settings.get("I18N_LANGUAGES") or {})
    for alert in live:
        missing = alert.missing_languages(languages)
        if missing:
            logger.warning(
                "site_alerts: %s has no %s text: its pages in %s show the English, marked as "
                "such. Add %s to the alert.",
                alert.source,
                "/".join(missing),
                "/".join(missing),
                " and ".join(f"Title-{lang}: and Text-{lang}:" for lang in missing),
            )
    return live, closed_days(alerts, tz)


def add_alerts_to_context(generator) -> None:
    # Every generator shares one context; work it out once per build.
    if "active_alerts" not in generator.context:
        live, closings = _current_alerts(generator.settings)
        generator.context["active_alerts"] = live
        generator.context["alert_closings"] = closings


def register():
    signals.generator_init.connect(add_alerts_to_context)
