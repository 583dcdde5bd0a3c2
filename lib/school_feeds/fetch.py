"""Fetch a feed over HTTP(S) with a timeout and keep the last good copy on disk.

A response only replaces the cached copy after the caller's parser accepted it, so a
failed fetch or a garbage response (an HTML error page, truncated JSON) falls back to
the last good copy, and the page can say how old that copy is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, TypeVar

from site_common.files import write_atomic

from .errors import FeedError
from .text import slugify

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_FEED_BYTES = 10 * 1024 * 1024
USER_AGENT = "school-site-feeds/1.0 (+https://getpelican.com)"


@dataclass
class FetchOutcome(Generic[T]):
    """What a fetch produced: parsed data (possibly from the cache) and how fresh it is."""

    name: str
    url: str
    data: T | None
    updated: datetime | None  # when the copy in use was fetched (UTC)
    from_cache: bool
    error: str | None  # why the live fetch was not used, if it was not

    @property
    def stale(self) -> bool:
        return self.error is not None


def cache_paths(cache_dir: Path, name: str, url: str) -> tuple[Path, Path]:
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    stem = f"{slugify(name) or 'feed'}-{digest}"
    return cache_dir / f"{stem}.body", cache_dir / f"{stem}.json"


def _download(url: str, timeout: float) -> bytes:
    if not url.lower().startswith(("https://", "http://")):
        raise FeedError(f"only http(s) URLs can be fetched, not {url!r}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        body = response.read(MAX_FEED_BYTES + 1)
    if len(body) > MAX_FEED_BYTES:
        raise FeedError(f"the response is larger than {MAX_FEED_BYTES // 1024 // 1024} MB")
    return body


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"the server answered HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"the server could not be reached ({exc.reason})"
    if isinstance(exc, TimeoutError):
        return "the server did not answer in time"
    return str(exc) or exc.__class__.__name__


def fetch_with_cache(
    name: str,
    url: str,
    parse: Callable[[bytes], T],
    cache_dir: Path,
    timeout: float = 10.0,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FetchOutcome[T]:
    """Download `url`, parse it, and cache it; on any failure use the last good copy."""
    body_path, meta_path = cache_paths(cache_dir, name, url)
    try:
        body = _download(url, timeout)
        data = parse(body)
    except Exception as exc:  # network errors and parser errors alike
        reason = _describe(exc)
    else:
        fetched = now()
        body_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(body_path, body)
        meta = {"name": name, "url": url, "fetched": fetched.isoformat()}
        write_atomic(meta_path, json.dumps(meta, indent=2).encode("utf-8"))
        return FetchOutcome(name, url, data, fetched, from_cache=False, error=None)

    if not body_path.exists():
        logger.warning(
            "Feed %r (%s) not used: %s, and there is no earlier copy in %s. "
            "Check the URL in feeds.toml or try again later.",
            name,
            url,
            reason,
            cache_dir,
        )
        return FetchOutcome(name, url, None, None, from_cache=False, error=reason)
    try:
        data = parse(body_path.read_bytes())
        fetched = datetime.fromisoformat(json.loads(meta_path.read_text("utf-8"))["fetched"])
    except Exception as exc:
        logger.warning(
            "Feed %r (%s) not used: %s, and the cached copy %s is unreadable (%s).",
            name,
            url,
            reason,
            body_path,
            _describe(exc),
        )
        return FetchOutcome(name, url, None, None, from_cache=False, error=reason)
    logger.warning(
        "Feed %r (%s) could not be refreshed: %s. Using the copy fetched %s.",
        name,
        url,
        reason,
        fetched.isoformat(timespec="minutes"),
    )
    return FetchOutcome(name, url, data, fetched, from_cache=True, error=reason)
