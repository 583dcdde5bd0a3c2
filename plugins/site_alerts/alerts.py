"""Site-wide alerts: parse them from settings or markdown files and keep the active ones.

Every alert can carry its text in the site's other languages (`Title-es:` and `Text-es:` in
an alert file, `title_es` / `message_es` in the ALERTS setting); without one, a page in that
language shows the English, marked as such. `Closes: school` marks the alert's days as a
closing: the lunch, games and events of those days are shown as cancelled.

No Pelican imports here; the plugin glue in __init__.py feeds this module and puts the
result into the template context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

import markdown
from site_common.errors import SiteError

LEVELS = ("info", "warning", "urgent")
# Urgent first, then the alert that started most recently.
_LEVEL_ORDER = {"urgent": 0, "warning": 1, "info": 2}
_DEFAULT_HEADINGS = {"info": "Notice", "warning": "Important notice", "urgent": "Urgent"}
# What a closing alert may close (`Closes: school`).
CLOSES = ("school",)


class AlertError(SiteError, ValueError):
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
    # (lang, title, message_html) for the site's other languages.
    translations: tuple[tuple[str, str, str], ...] = ()
    closes: str = ""  # "school": the alert's days are closings

    def in_lang(self, lang: str, default_lang: str = "en") -> tuple[str, str, bool]:
        """(title, message_html, translated) for a page in `lang`; the English title
        and message, with translated False, when the alert has no text in that language.
        An empty title means the level's default heading (translated by the template)."""
        if lang == default_lang:
            return self.title, self.message_html, True
        for code, title, message_html in self.translations:
            if code == lang:
                return title or self.title, message_html, True
        return self.title, self.message_html, False

    def missing_languages(self, languages) -> list[str]:
        have = {code for code, _, _ in self.translations}
        return [lang for lang in languages if lang not in have]

    def closed_days(self, tz: str) -> list[date]:
        """The school days a closing alert covers: from its start's day to its expiry's
        (the day it starts on when it has no expiry); [] for other alerts."""
        if not self.closes or self.starts is None:
            return []
        zone = ZoneInfo(tz)
        first = self.starts.astimezone(zone).date()
        last = first
        if self.expires is not None:
            end = self.expires.astimezone(zone)
            last = (end - timedelta(microseconds=1)).date() if end.time() == time(0) else end.date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

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


_KEYS = {"message", "level", "link", "link_text", "title", "starts", "expires", "closes"}
# Per-language keys: title_es, message_es (setting) or Title-es, Text-es (alert file).
_LANG_KEY = re.compile(r"^(title|message|text)_([a-z]{2,3})$")


def _translations(item: dict, source: str, render) -> tuple[tuple[str, str, str], ...]:
    found: dict[str, dict[str, str]] = {}
    for key, value in item.items():
        match = _LANG_KEY.match(key)
        if match and str(value or "").strip():
            part = "title" if match.group(1) == "title" else "message"
            found.setdefault(match.group(2), {})[part] = str(value).strip()
    out = []
    for lang, parts in sorted(found.items()):
        if "message" not in parts:
            raise AlertError(
                f"{source}: Title-{lang} is given but not Text-{lang}; add the {lang} text of "
                "the message (or remove the title)"
            )
        out.append((lang, parts.get("title", ""), render(parts["message"])))
    return tuple(out)


def _build(item: dict, message_html: str, tz: str, source: str, render=escape) -> Alert:
    starts = parse_when(item.get("starts"), tz, end_of_day=False, source=source, key="starts")
    expires = parse_when(item.get("expires"), tz, end_of_day=True, source=source, key="expires")
    if starts and expires and expires <= starts:
        raise AlertError(f"{source}: 'expires' ({expires}) is not after 'starts' ({starts})")
    closes = str(item.get("closes") or "").strip().lower()
    if closes and closes not in CLOSES:
        raise AlertError(f"{source}: Closes {closes!r} is unknown; write `Closes: school`")
    if closes and starts is None:
        raise AlertError(
            f"{source}: a closing alert needs Starts (the day school is closed), e.g. "
            "Starts: 2026-01-27T05:00"
        )
    return Alert(
        message_html=message_html,
        level=_check_level(str(item.get("level") or "info"), source),
        title=str(item.get("title") or "").strip(),
        link=str(item.get("link") or "").strip(),
        link_text=str(item.get("link_text") or "").strip() or "Read more",
        starts=starts,
        expires=expires,
        source=source,
        translations=_translations(item, source, render),
        closes=closes,
    )


def alert_from_mapping(item: dict, tz: str, source: str = "ALERTS setting") -> Alert:
    """One entry of the ALERTS setting (keys: message, level, link, link_text, title,
    starts, expires). The message is plain text."""
    if not isinstance(item, dict):
        raise AlertError(f"{source}: each alert must be a dict with at least a 'message'")
    unknown = sorted(key for key in set(item) - _KEYS if not _LANG_KEY.match(str(key)))
    if unknown:
        raise AlertError(
            f"{source}: unknown key(s) {', '.join(unknown)}; "
            f"an alert may have {', '.join(sorted(_KEYS))}, title_es and message_es"
        )
    message = str(item.get("message") or "").strip()
    if not message:
        raise AlertError(f"{source}: the alert has no 'message'; add the text to show")
    return _build(item, escape(message), tz, source)


def _inline_markdown(text: str) -> str:
    html = markdown.markdown(text, output_format="html5").strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return html


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
    unknown = sorted(key for key in set(meta) - _KEYS if not _LANG_KEY.match(key))
    if unknown:
        raise AlertError(
            f"{source}: unknown metadata {', '.join(unknown)}; use Title, Level, Starts, "
            "Expires, Link, Link_text, Closes, Title-es and Text-es"
        )
    return _build(meta, body_html, tz, source, render=_inline_markdown)


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


def future_alerts(alerts: list[Alert], now: datetime) -> list[Alert]:
    """The alerts not shown yet because they start later, soonest first."""
    later = [a for a in alerts if a.starts is not None and now < a.starts]
    return sorted(later, key=lambda a: a.starts)


def closed_days(alerts: list[Alert], tz: str) -> dict[date, Alert]:
    """Every day a closing alert covers, with its alert (active or not: a closing
    announced ahead shows on that day's lunch, games and events already)."""
    days: dict[date, Alert] = {}
    for alert in alerts:
        for day in alert.closed_days(tz):
            days.setdefault(day, alert)
    return days


def active_alerts(alerts: list[Alert], now: datetime) -> list[Alert]:
    """The alerts to show at `now`, most urgent first."""
    live = [alert for alert in alerts if alert.is_active(now)]
    live.sort(key=lambda a: a.starts or datetime.min.replace(tzinfo=now.tzinfo), reverse=True)
    live.sort(key=lambda a: _LEVEL_ORDER[a.level])
    return live
