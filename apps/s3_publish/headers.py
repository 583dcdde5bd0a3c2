"""What each published object is sent with: Content-Type, Cache-Control and its body
(gzip-compressed for text when asked, byte-stable so an unchanged file keeps its MD5)."""

from __future__ import annotations

import gzip
import mimetypes
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

# Checked before mimetypes, whose answers depend on the machine's /etc/mime.types.
EXPLICIT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".xml": "application/xml",
    ".xsl": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".ics": "text/calendar",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
}
# Compound suffixes Pelican writes for feeds.
COMPOUND_TYPES = {
    ".atom.xml": "application/atom+xml",
    ".rss.xml": "application/rss+xml",
}
DEFAULT_TYPE = "application/octet-stream"
TEXT_TYPES = (
    "text/",
    "application/json",
    "application/manifest+json",
    "application/xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/javascript",
    "image/svg+xml",
)


def is_text_type(content_type: str) -> bool:
    base = content_type.split(";", 1)[0].strip()
    return any(base == t or (t.endswith("/") and base.startswith(t)) for t in TEXT_TYPES)


def content_type_for(path: str) -> str:
    """The Content-Type for a site path; text types carry `charset=utf-8`."""
    name = PurePosixPath(path).name.lower()
    content_type = next(
        (t for suffix, t in COMPOUND_TYPES.items() if name.endswith(suffix)), None
    ) or EXPLICIT_TYPES.get(PurePosixPath(name).suffix)
    if content_type is None:
        guessed, _ = mimetypes.guess_type(name, strict=False)
        content_type = guessed or DEFAULT_TYPE
    if is_text_type(content_type) and content_type != "image/svg+xml":
        content_type += "; charset=utf-8"
    return content_type


def cache_control_for(path: str, rules: tuple[tuple[str, str], ...]) -> str | None:
    """The first rule whose glob matches the site path (case-sensitive), or None."""
    for glob, value in rules:
        if fnmatchcase(path, glob):
            return value
    return None


def gzip_bytes(data: bytes) -> bytes:
    """gzip with a fixed header (no file name, mtime 0): same input, same bytes, same MD5."""
    return gzip.compress(data, compresslevel=9, mtime=0)
