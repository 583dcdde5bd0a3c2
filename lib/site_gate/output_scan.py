"""What the build put in the output folder: image files, pages, and which page uses which image.

The gate checks the output rather than the Markdown, so an image reaches the site only
through a check, whoever wrote it: the static generator, the theme, another plugin.

Derivatives: a resized or cropped copy of a photo holds the same faces. A file is a
derivative of ``dir/photo.jpg`` when, anywhere in the output, its name (without extension)
is ``photo`` or starts with ``photo`` followed by ``-``, ``_``, ``.`` or ``@``
(``photo-640w.jpg``, ``photo.thumbnail.jpg``, ``photo@2x.webp``, ``thumbnails/photo_sm.jpg``,
``derivatives/640/photo.jpg``). The rule errs on the side of withholding: a different photo
that happens to share the name is withheld too, and the report says why. Every derivative
is also checked on its own, like any image in the output.

Pictures that are not image files cannot be checked: an SVG that draws an embedded or
remote picture (``svg_embedded_images``) and a picture written into a page as a data: URL
(``Target("inline")``). The gate withholds both.

Nothing here imports Pelican.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from face_engine.model import ConsentRecord

from .sniff import decode_data_url, shows_picture
from .svg import svg_embedded_images
from .urls import DATA_SCHEME, PELICAN_LINK, clean_url

DERIVATIVE_SEPARATORS = "-_.@"
# Name parts shorter than this are too common to warn about ("Li", "Jo").
MIN_NAME_TOKEN = 3


def relative(path: Path, output: Path) -> str:
    return path.relative_to(output).as_posix()


@dataclass(frozen=True)
class Target:
    """Where a URL in a page points."""

    kind: str  # "local" (a file in the output), "remote", "inline" (data: URI), "other"
    path: str | None = None  # output-relative path, for "local"


class UrlResolver:
    """Maps URLs found in a page to output-relative paths.

    Handles relative URLs (RELATIVE_URLS), root-relative ones and absolute ones on the
    site's own address (SITEURL); everything on another host is remote.
    """

    def __init__(self, siteurl: str = "") -> None:
        site = urlsplit(siteurl or "")
        self.site_host = site.netloc.lower() if site.scheme in ("http", "https", "") else ""
        self.site_prefix = site.path.rstrip("/") if self.site_host else ""

    def resolve(self, url: str, page: str) -> Target:
        url = clean_url(url)
        if DATA_SCHEME.match(url):
            return Target("inline" if data_url_shows_picture(url) else "other")
        pelican = PELICAN_LINK.match(url)
        if pelican:
            url = "/" + url[pelican.end() :].lstrip("/")
        url = url.replace("\\", "/")  # a browser reads "\\" as "/" in web addresses
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme and scheme not in ("http", "https"):
            return Target("other")  # mailto:, tel:, javascript: ...
        path = unquote(parts.path)
        if parts.netloc or url.startswith("//"):
            if not self.site_host or parts.netloc.lower() != self.site_host:
                return Target("remote")
            if self.site_prefix and not (
                path == self.site_prefix or path.startswith(self.site_prefix + "/")
            ):
                return Target("remote")
            path = path[len(self.site_prefix) :]
        if not path:
            return Target("other")  # "#top", "?page=2"
        if path.startswith("/"):
            if self.site_prefix and path.startswith(self.site_prefix + "/"):
                path = path[len(self.site_prefix) :]
            joined = path.lstrip("/")
        else:
            joined = posixpath.join(posixpath.dirname(page), path)
        normal = posixpath.normpath(joined)
        if normal.startswith("../") or normal in ("..", ".") or path.endswith("/"):
            return Target("other")
        return Target("local", normal)


@lru_cache(maxsize=512)
def data_url_shows_picture(url: str) -> bool:
    """Whether a data: URL, of any declared type, shows a picture: its decoded bytes are
    judged, not its declared type (a browser sniffs an image's bytes too). A data: SVG that
    only draws shapes does not; one that cannot be read does."""
    data = decode_data_url(clean_url(url))
    if data is None:
        return True
    head = data[:512].lstrip().lower()
    header = url.partition(",")[0].lower()
    if "svg" in header or head.startswith((b"<svg", b"<?xml", b"<!doctype svg")):
        try:
            if svg_embedded_images(data):
                return True
        except ValueError:
            return True
    return shows_picture(data)


def derivative_stems(name: str) -> tuple[str, tuple[str, ...]]:
    """(stem, prefixes) a derivative's lowercase stem must equal or start with."""
    stem = name.rsplit(".", 1)[0].lower() if "." in name else name.lower()
    return stem, tuple(stem + sep for sep in DERIVATIVE_SEPARATORS)


def find_derivatives(originals: Iterable[str], images: Iterable[str]) -> dict[str, str]:
    """{derivative path: original path} for every image derived from one of originals."""
    by_stem: dict[str, list[str]] = {}
    for original in originals:
        stem, _ = derivative_stems(posixpath.basename(original))
        by_stem.setdefault(stem, []).append(original)
    found: dict[str, str] = {}
    for image in images:
        name = posixpath.basename(image).lower()
        image_stem = name.rsplit(".", 1)[0] if "." in name else name
        # Candidate originals: every prefix of the stem that ends before a separator.
        candidates = [image_stem]
        candidates += [
            image_stem[:i] for i, c in enumerate(image_stem) if c in DERIVATIVE_SEPARATORS
        ]
        for candidate in candidates:
            for original in by_stem.get(candidate, ()):
                if original != image:
                    found.setdefault(image, original)
    return found


@dataclass(frozen=True)
class NameTokens:
    """Name parts of the registered students, kept only as salted hashes: a rebuild that
    remembers them (``memo``) writes no student's name into the cache."""

    salt: str
    hashes: frozenset[str]

    @classmethod
    def of(cls, tokens: Iterable[str], salt: str | None = None) -> NameTokens:
        salt = salt if salt is not None else secrets.token_hex(16)
        return cls(salt, frozenset(_token_hash(salt, token) for token in tokens))

    def __bool__(self) -> bool:
        return bool(self.hashes)


def _token_hash(salt: str, token: str) -> str:
    return hashlib.sha256(f"{salt}\0{token}".encode()).hexdigest()


def student_name_tokens(records: Iterable[ConsentRecord]) -> NameTokens:
    """Lowercase first/last name parts of every student record, short ones left out."""
    tokens: set[str] = set()
    for record in records:
        if record.role != "student":
            continue
        for token in re.findall(r"[^\W\d_]+", record.name.lower()):
            if len(token) >= MIN_NAME_TOKEN:
                tokens.add(token)
    return NameTokens.of(tokens)


def names_in(text: str, tokens: NameTokens) -> list[str]:
    """Which name tokens appear in text as whole words (digits, _ and - separate words)."""
    words = set(re.findall(r"[^\W\d_]+", text.lower()))
    return sorted(word for word in words if _token_hash(tokens.salt, word) in tokens.hashes)
