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
    from school_feeds.site_date import site_now

    tz = settings.get("TIMEZONE") or "UTC"
    folder = settings.get("ALERTS_PATH", DEFAULTS["ALERTS_PATH"])
    alerts_dir = Path(settings["PATH"], folder) if folder else None
    alerts, errors = load_alerts(settings.get("ALERTS", DEFAULTS["ALERTS"]), alerts_dir, tz)
    for message in errors:
        logger.error("Alert not shown: %s", message)
    live = active_alerts(alerts, site_now(tz))
    logger.info("site_alerts: %d of %d alert(s) active", len(live), len(alerts))
    return live


def add_alerts_to_context(generator) -> None:
    # Every generator shares one context; work it out once per build.
    if "active_alerts" not in generator.context:
        generator.context["active_alerts"] = _current_alerts(generator.settings)


def register():
    signals.generator_init.connect(add_alerts_to_context)
