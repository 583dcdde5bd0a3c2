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

import os
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from face_engine.model import ConsentRecord

PAGE_SUFFIXES = (".html", ".htm")
DERIVATIVE_SEPARATORS = "-_.@"
# Name parts shorter than this are too common to warn about ("Li", "Jo").
MIN_NAME_TOKEN = 3
_RASTER_DATA = re.compile(r"^data:image/(?!svg)", re.IGNORECASE)
_SVG_DATA = re.compile(r"^data:image/svg\+xml(;[^,]*)?,", re.IGNORECASE)
# SVG elements that draw another image: the gate cannot check what they embed.
_SVG_IMAGE_TAGS = frozenset({"image", "feimage", "img"})


def list_files(output: Path, suffixes: Iterable[str]) -> list[Path]:
    """Every file under output whose name ends with one of suffixes (case-insensitive)."""
    suffixes = tuple(s.lower() for s in suffixes)
    found = []
    # os.walk reads each folder once; rglob with is_file() costs a stat per file.
    for folder, _dirs, names in os.walk(output):
        found += [Path(folder, name) for name in names if name.lower().endswith(suffixes)]
    return sorted(path for path in found if path.is_file())


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
        url = url.strip()
        if _RASTER_DATA.match(url) or (_SVG_DATA.match(url) and _svg_data_embeds(url)):
            return Target("inline")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme and scheme not in ("http", "https"):
            return Target("other")  # mailto:, tel:, javascript:, data:image/svg+xml ...
        path = unquote(parts.path)
        if parts.netloc:
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


def svg_embedded_images(data: bytes) -> list[str]:
    """What an SVG draws that the gate cannot check: images embedded in it (data: URLs) or
    fetched from elsewhere. Images it links from the site itself are files the gate checks.

    Raises ValueError when the SVG cannot be read (the caller withholds it)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValueError(f"it is not well-formed SVG ({exc})") from exc
    found = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag.rsplit("}", 1)[-1].lower() not in _SVG_IMAGE_TAGS:
            continue
        for name, value in element.attrib.items():
            if name.rsplit("}", 1)[-1].lower() not in ("href", "src"):
                continue
            url = value.strip()
            parts = urlsplit(url)
            # data:, file: and the like, or another host; a path in the site is fine.
            if parts.netloc or parts.scheme.lower() not in ("", "http", "https"):
                found.append(url if len(url) <= 60 else url[:57] + "...")
    return found


def _svg_data_embeds(url: str) -> bool:
    """Whether an SVG data: URL draws an image inside it (unreadable ones count as yes)."""
    import base64

    header, _, payload = url.partition(",")
    try:
        if ";base64" in header.lower():
            data = base64.b64decode(payload, validate=False)
        else:
            data = unquote(payload).encode("utf-8")
        return bool(svg_embedded_images(data))
    except ValueError:
        return True


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


def student_name_tokens(records: Iterable[ConsentRecord]) -> set[str]:
    """Lowercase first/last name parts of every student record, short ones left out."""
    tokens: set[str] = set()
    for record in records:
        if record.role != "student":
            continue
        for token in re.findall(r"[^\W\d_]+", record.name.lower()):
            if len(token) >= MIN_NAME_TOKEN:
                tokens.add(token)
    return tokens


def names_in(text: str, tokens: set[str]) -> list[str]:
    """Which name tokens appear in text as whole words (digits, _ and - separate words)."""
    words = set(re.findall(r"[^\W\d_]+", text.lower()))
    return sorted(words & tokens)
