"""Site-wide alerts: parse them from settings or markdown files and keep the active ones.

No Pelican imports here; the plugin glue in __init__.py feeds this module and puts the
result into the template context.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

import markdown

LEVELS = ("info", "warning", "urgent")
# Urgent first, then the alert that started most recently.
_LEVEL_ORDER = {"urgent": 0, "warning": 1, "info": 2}
_DEFAULT_HEADINGS = {"info": "Notice", "warning": "Important notice", "urgent": "Urgent"}


class AlertError(ValueError):
    """An alert that cannot be shown as written; the message says where and how to fix it."""


@dataclass(frozen=True)
class Alert:
    message_html: str
    level: str = "info"
    title: str = ""
    link: str = ""
    link_text: str = "Read more"
    starts: datetime | None = None
    expires: datetime | None = None
    source: str = "ALERTS setting"

    @property
    def is_urgent(self) -> bool:
        return self.level == "urgent"

    @property
    def heading(self) -> str:
        return self.title or _DEFAULT_HEADINGS[self.level]

    def is_active(self, now: datetime) -> bool:
        if self.starts is not None and now < self.starts:
            return False
        return not (self.expires is not None and now >= self.expires)


def parse_when(value, tz: str, *, end_of_day: bool, source: str, key: str) -> datetime | None:
    """An ISO date or datetime as an aware datetime; naive values are school time.

    A bare date means the start of that day, or for `expires` the end of it.
    """
    if value in (None, ""):
        return None
    zone = ZoneInfo(tz)
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time(0, 0))
        if end_of_day:
            parsed += timedelta(days=1)
    else:
        text = str(value).strip()
        try:
            if len(text) == 10:
                parsed = datetime.combine(date.fromisoformat(text), time(0, 0))
                if end_of_day:
                    parsed += timedelta(days=1)
            else:
                parsed = datetime.fromisoformat(text)
        except ValueError:
            raise AlertError(
                f"{source}: {key} {text!r} is not a date or time; "
                "write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM, e.g. 2026-01-12T05:30"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def _check_level(level: str, source: str) -> str:
    level = (level or "info").strip().lower()
    if level not in LEVELS:
        raise AlertError(f"{source}: level {level!r} is unknown; use one of {', '.join(LEVELS)}")
    return level


_KEYS = {"message", "level", "link", "link_text", "title", "starts", "expires"}


def _build(item: dict, message_html: str, tz: str, source: str) -> Alert:
    starts = parse_when(item.get("starts"), tz, end_of_day=False, source=source, key="starts")
    expires = parse_when(item.get("expires"), tz, end_of_day=True, source=source, key="expires")
    if starts and expires and expires <= starts:
        raise AlertError(f"{source}: 'expires' ({expires}) is not after 'starts' ({starts})")
    return Alert(
        message_html=message_html,
        level=_check_level(str(item.get("level") or "info"), source),
        title=str(item.get("title") or "").strip(),
        link=str(item.get("link") or "").strip(),
        link_text=str(item.get("link_text") or "").strip() or "Read more",
        starts=starts,
        expires=expires,
        source=source,
    )


def alert_from_mapping(item: dict, tz: str, source: str = "ALERTS setting") -> Alert:
    """One entry of the ALERTS setting (keys: message, level, link, link_text, title,
    starts, expires). The message is plain text."""
    if not isinstance(item, dict):
        raise AlertError(f"{source}: each alert must be a dict with at least a 'message'")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise AlertError(
            f"{source}: unknown key(s) {', '.join(unknown)}; "
            f"an alert may have {', '.join(sorted(_KEYS))}"
        )
    message = str(item.get("message") or "").strip()
    if not message:
        raise AlertError(f"{source}: the alert has no 'message'; add the text to show")
    return _build(item, escape(message), tz, source)


def alert_from_markdown(path: Path, tz: str) -> Alert:
    """An alert file: metadata (Title, Level, Starts, Expires, Link, Link_text) and a
    markdown body holding the message."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AlertError(f"{source}: cannot read the alert file ({exc})") from None
    md = markdown.Markdown(extensions=["meta"], output_format="html5")
    body_html = md.convert(text).strip()
    meta = {key.lower().replace("-", "_"): " ".join(v).strip() for key, v in md.Meta.items()}
    if not body_html:
        raise AlertError(f"{source}: the alert has no message; write it below the metadata")
    # A one-paragraph message sits inline in the banner.
    if body_html.startswith("<p>") and body_html.endswith("</p>") and body_html.count("<p>") == 1:
        body_html = body_html[3:-4]
    unknown = sorted(set(meta) - _KEYS)
    if unknown:
        raise AlertError(
            f"{source}: unknown metadata {', '.join(unknown)}; use Title, Level, Starts, "
            "Expires, Link and Link_text"
        )
    return _build(meta, body_html, tz, source)


def load_alerts(
    settings_alerts: list | tuple, alerts_dir: Path | None, tz: str
) -> tuple[list[Alert], list[str]]:
    """All alerts from the setting and the folder, plus one error message per bad alert.

    A bad alert never stops the others (or the rest of the build) from going out.
    """
    alerts: list[Alert] = []
    errors: list[str] = []
    for index, item in enumerate(settings_alerts or ()):
        try:
            alerts.append(alert_from_mapping(item, tz, source=f"ALERTS[{index}]"))
        except AlertError as exc:
            errors.append(str(exc))
    if alerts_dir is not None and alerts_dir.is_dir():
        for path in sorted(alerts_dir.glob("*.md")):
            try:
                alerts.append(alert_from_markdown(path, tz))
            except AlertError as exc:
                errors.append(str(exc))
    return alerts, errors


def active_alerts(alerts: list[Alert], now: datetime) -> list[Alert]:
    """The alerts to show at `now`, most urgent first."""
    live = [alert for alert in alerts if alert.is_active(now)]
    live.sort(key=lambda a: a.starts or datetime.min.replace(tzinfo=now.tzinfo), reverse=True)
    live.sort(key=lambda a: _LEVEL_ORDER[a.level])
    return live
