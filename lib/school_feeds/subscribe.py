"""Calendar subscription links: webcal:// (opens the phone's calendar app), the https
address as a fallback to paste, and a Google Calendar link for Android.

A subscription needs an absolute address even in a local build, so the base is SITEURL when
it is absolute, else FEED_DOMAIN (pelicanconf.py points it at the public site).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit


@dataclass(frozen=True)
class Subscription:
    name: str  # "Varsity Football games", shown in the link text
    https: str  # https://www.example.org/calendars/athletics.ics
    webcal: str  # webcal://www.example.org/calendars/athletics.ics
    # The name as a message of the theme's catalogues and its values ("%(team)s games",
    # team="Varsity Football"), so that a page in another language names it in that one.
    message: str = ""
    values: tuple[tuple[str, str], ...] = ()

    @property
    def google(self) -> str:
        """Google Calendar's "add by URL" page for this calendar (signed-in browser)."""
        return "https://calendar.google.com/calendar/render?cid=" + quote(self.webcal, safe="")


def public_base(settings: Mapping[str, object]) -> str:
    for key in ("SITEURL", "FEED_DOMAIN"):
        value = str(settings.get(key) or "").rstrip("/")
        if urlsplit(value).scheme in {"http", "https"} and urlsplit(value).hostname:
            return value
    return ""


def subscription(
    settings: Mapping[str, object], path: str, message: str, **values: str
) -> Subscription | None:
    """Links for the calendar saved at `path` (relative to the site), named `message` with
    its %(name)s placeholders filled from `values`, or None without an absolute base
    address to give calendar apps."""
    base = public_base(settings)
    if not base or not path:
        return None
    https = f"{base}/{path.lstrip('/')}"
    parts = urlsplit(https)
    webcal = "webcal://" + https.split("://", 1)[1] if parts.scheme else https
    return Subscription(message % values, https, webcal, message, tuple(values.items()))
