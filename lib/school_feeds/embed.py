"""Vendor embeds (menu or schedule widgets): keep one https iframe from an allowed host.

The webmaster pastes either a URL or the vendor's snippet. The snippet goes through nh3
first, which keeps only <iframe src title width height> and <a href> with https URLs;
everything else (scripts, event handlers, styles, other tags) is dropped. The template then
builds a fresh iframe from the cleaned attributes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3

from .text import clean_text

ALLOWED_TAGS = {"iframe", "a"}
ALLOWED_ATTRIBUTES = {"iframe": {"src", "title", "width", "height"}, "a": {"href"}}


@dataclass(frozen=True)
class Embed:
    src: str
    title: str
    host: str
    allowed: bool  # False: show the link only
    width: int | None = None
    height: int | None = None
    kind: str = ""  # which allowlist matched ("lunch", "athletics")


class _FirstFrame(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.frame: dict[str, str] | None = None
        self.link: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "iframe" and self.frame is None and values.get("src"):
            self.frame = values
        elif tag == "a" and self.link is None and values.get("href"):
            self.link = values["href"]


def sanitise_snippet(snippet: str) -> str:
    return nh3.clean(
        snippet,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https"},
        link_rel=None,
        strip_comments=True,
    )


def host_matches(host: str, allowlist: Iterable[str]) -> bool:
    """Exact host or a subdomain of a listed host ("nutrislice.com" allows "x.nutrislice.com")."""
    host = host.lower().rstrip(".")
    for entry in allowlist:
        entry = entry.lower().strip().lstrip(".")
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


def _https_url(url: str) -> str | None:
    url = url.strip()
    if any(ch.isspace() or ch in "\"'<>`" for ch in url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None
    return url


def _dimension(value: str | None) -> int | None:
    if value and value.strip().isdigit() and 0 < int(value) <= 4000:
        return int(value)
    return None


def build_embed(
    source: str, title: str | None, allowlists: dict[str, Iterable[str]]
) -> tuple[Embed | None, str | None]:
    """Turn a URL or a vendor snippet into an Embed; the second value explains any problem."""
    source = source.strip()
    frame: dict[str, str] = {}
    if "<" in source:
        parser = _FirstFrame()
        parser.feed(sanitise_snippet(source))
        if parser.frame:
            frame = parser.frame
            url = frame["src"]
        elif parser.link:
            url = parser.link
        else:
            return None, "the snippet has no https <iframe src> or link; nothing was embedded"
    else:
        url = source
    safe_url = _https_url(url)
    if safe_url is None:
        return None, f"{url[:80]!r} is not an https:// address; nothing was embedded"
    host = (urlsplit(safe_url).hostname or "").lower()
    label = clean_text(title or frame.get("title") or "") or f"Embedded content from {host}"
    kind = next((name for name, hosts in allowlists.items() if host_matches(host, hosts)), "")
    embed = Embed(
        src=safe_url,
        title=label,
        host=host,
        allowed=bool(kind),
        width=_dimension(frame.get("width")),
        height=_dimension(frame.get("height")),
        kind=kind,
    )
    if not kind:
        names = " or ".join(f"{name.upper()}_EMBED_HOSTS" for name in allowlists)
        return embed, f"the host {host!r} is not in {names}; showing a link instead"
    return embed, None
