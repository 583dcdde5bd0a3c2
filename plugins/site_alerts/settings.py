"""Alert banner settings: ALERTS and ALERTS_PATH are fields of ``AlertSettings`` (key,
default and doc line), read through the one loader (``site_common.settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from site_common import settings as loader
from site_common.settings import setting


@dataclass(frozen=True)
class AlertSettings:
    alerts: tuple = setting(
        "ALERTS",
        [],
        "Alerts written in the settings, each a dict (message, level, link, link_text, "
        "title, starts, expires, closes, title_es, message_es).",
    )
    path: str = setting(
        "ALERTS_PATH", "alerts", "Alert files, one Markdown file each, inside PATH; empty: none."
    )
    timezone: str = "UTC"  # Pelican's TIMEZONE

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object]) -> AlertSettings:
        raw = loader.load(cls, settings)
        return cls(
            alerts=tuple(raw["ALERTS"] or ()),
            path=str(raw["ALERTS_PATH"] or ""),
            timezone=str(settings.get("TIMEZONE") or "UTC"),
        )


# The ALERTS* defaults by key.
DEFAULTS: dict[str, object] = loader.defaults_of(AlertSettings)
