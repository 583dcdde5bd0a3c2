"""What a URL in a page names, read as a browser's URL parser reads it: one home for the
rules every check of picture references uses."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# A data: URL in any spelling a browser or a careless reader accepts ("DATA:", " data :").
DATA_SCHEME = re.compile(r"^\s*data\s*:", re.IGNORECASE)
# Pelican links left unreplaced: site-root relative paths ({static}/images/a.jpg).
PELICAN_LINK = re.compile(r"^(?:\{(?:static|attach|filename)\}|\|(?:static|attach|filename)\|)")
# What a browser's URL parser drops: tabs and newlines anywhere, C0 controls and spaces
# around the URL.
_URL_NOISE = re.compile(r"[\t\n\r]")


def clean_url(url: str) -> str:
    """A URL as a browser's parser reads it: surrounding spaces and controls stripped,
    tabs and newlines inside removed."""
    return _URL_NOISE.sub("", url).strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
                                     "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b"
                                     "\x1c\x1d\x1e\x1f ")  # fmt: skip


def is_plain_local(url: str) -> bool:
    """Whether a URL names a file of the site itself (a relative or root-relative path, a
    fragment): such a file is in the output and checked on its own."""
    url = clean_url(url).replace("\\", "/")
    if DATA_SCHEME.match(url) or url.startswith("//"):
        return False
    if PELICAN_LINK.match(url):
        return True
    parts = urlsplit(url)
    return not parts.netloc and parts.scheme.lower() in ("", "http", "https")
