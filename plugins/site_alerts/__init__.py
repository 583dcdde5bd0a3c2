"""Site-wide alert banner: active alerts from the ALERTS setting and content/alerts/*.md.

Templates read `active_alerts` (a list of site_alerts.alerts.Alert) from the context.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pelican import signals

from .alerts import active_alerts, load_alerts

logger = logging.getLogger(__name__)

DEFAULTS = {"ALERTS": [], "ALERTS_PATH": "alerts"}


def _current_alerts(settings: dict) -> list:
    from school_feeds.site_date import SiteDateError, site_now
    from school_feeds.stop import stop_build

    tz = settings.get("TIMEZONE") or "UTC"
    folder = settings.get("ALERTS_PATH", DEFAULTS["ALERTS_PATH"])
    alerts_dir = Path(settings["PATH"], folder) if folder else None
    alerts, errors = load_alerts(settings.get("ALERTS", DEFAULTS["ALERTS"]), alerts_dir, tz)
    if errors:
        # A closing or delay that silently fails to show is worse than no build.
        stop_build(logger, [f"Alert cannot be read: {message}" for message in errors])
    try:
        now = site_now(tz)
    except SiteDateError as exc:
        stop_build(logger, [str(exc)])
    live = active_alerts(alerts, now)
    logger.info("site_alerts: %d of %d alert(s) active", len(live), len(alerts))
    return live


def add_alerts_to_context(generator) -> None:
    # Every generator shares one context; work it out once per build.
    if "active_alerts" not in generator.context:
        generator.context["active_alerts"] = _current_alerts(generator.settings)


def register():
    signals.generator_init.connect(add_alerts_to_context)
