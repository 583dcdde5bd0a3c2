"""One interface for the gate to every document that can show a picture: find the uses,
decide which are blocked, rewrite the document without them.

Kinds (``sniff.Kind`` values): "html" (pages), "css" (style sheets), "xml" (feeds,
sitemaps and other XML: entry HTML and feed picture elements) and "svg" (drawings).

``scan_document(text, kind, cache_dir) -> list[ImageUse]``
    Every picture use in the document, in document order (see ``html_rewrite``,
    ``css``, ``feeds`` and ``svg.svg_uses`` for what each kind holds). Each
    ``ImageUse`` has ``url`` (raw, as written: resolve it with ``target_of``), ``kind``
    ("img", "source", "poster", "video", "meta", "meta-refresh", "link", "a", "object", "embed",
    "iframe", "input", "background", "css", "css-import", "svg-image", "svg-ref",
    "enclosure", "feed-image", "base"), ``displays`` (True when a browser or feed reader
    draws what the URL holds; False for a link such as ``<a href>``), ``alt`` (for an
    ``<img>``) and ``via`` ("attr", "srcset", "css", "srcdoc", "entry", "feed").
    URLs in feed entries are relative to the site root, not to the feed file. With a
    ``cache_dir`` (the gate passes ``settings.cache_dir / "pages"``) the result is kept
    under ``cache_dir/scan`` by SHA-256 of the text, the kind and ``PARSER_VERSION``,
    so a rebuild parses no unchanged page again. Raises ValueError for XML or SVG that is
    not well-formed (the caller withholds or fails closed).

``rewrite_document(text, kind, blocked, placeholder, cache_dir) -> (text, count)``
    The document without every use ``blocked(use)`` is True for, and how many
    placeholders went in (for CSS: how many references were blanked). Returns `text`
    itself, byte for byte, when nothing is blocked, without a parse when the scan is
    cached. HTML: the placeholder replaces the element (the ``<picture>``, the paragraph
    holding only the photo, the whole inline ``<svg>`` for anything inside a drawing, the
    ``<iframe>`` whose ``srcdoc`` shows it), links to the picture are unwrapped (their
    words stay), meta and ``<link>`` removed, a ``background`` attribute dropped, a CSS
    ``url()`` in a style attribute or ``<style>`` made ``none``. CSS: ``url()``
    becomes ``none``, the rest stays byte for byte. XML: the entry HTML is rewritten as a
    page, feed picture elements removed. SVG: the whole drawing becomes an empty one.
    A rewritten page is read again until no blocked use is left (broken markup can hide
    a tag that a removed end tag uncovers); ``html_rewrite.RewriteError`` (a ValueError)
    when one survives, so the caller fails closed.

``target_of(resolver, use, page, uses)`` resolves a use's URL for the page it is on,
following the page's ``<base href>`` if it has one.

``resolve_uses(text, kind, page, resolver, cache_dir) -> [(ImageUse, Target)]``
    ``scan_document`` and ``target_of`` for every use at once, cached together by the text,
    the page's path and the site's address: a warm rebuild of 1,000 photos in 460 pages
    spent a third of the gate's time resolving 17,000 URLs again.

Every cache key holds the source of the modules a scan or a target comes from, so an
upgrade that changes how a route is read never reuses an older reading.

``is_blocked(use, target, withheld=..., missing=..., strict=...)`` is the rule: a local
file that is withheld is blocked wherever it is used; a local picture that is missing
from the output is blocked where it is displayed; a data: URL that shows a picture
(``Target("inline")``, see ``output_scan.UrlResolver``) is always blocked, it cannot be
checked; a remote picture is blocked, under CONSENT_STRICT, by any route that displays it.

Cost, measured on the 2-core development machine (best of five): Pelican's own 106 test
pages (7.7 KB on average) take 1.4-1.7 ms each to parse (the standard library's
HTMLParser tree took 1.7-2.5 ms, the regex pre-scan it replaces 0.27 ms) and 0.1-0.2 ms
from the cache; a 66 KB page with 250 photos takes 26-32 ms to parse (HTMLParser 31-42 ms)
and 1.5 ms from the cache. So a warm rebuild costs less than the old pre-scan did.

Nothing here imports Pelican.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import astuple
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from site_common.files import write_atomic

from .css import CssUrl, css_urls, rewrite_css_where
from .html_rewrite import PageDoc
from .html_uses import ImageUse
from .output_scan import Target, UrlResolver
from .svg import svg_uses

logger = logging.getLogger(__name__)

# Bump when what a scan finds changes: cached scans are keyed by it.
PARSER_VERSION = "pages-2"
KINDS = ("html", "css", "xml", "svg", "json")
EMPTY_SVG = '<svg xmlns="http://www.w3.org/2000/svg"/>\n'
# A host no site uses, to resolve a <base href> with the standard library's urljoin.
_SITE = "http://site.invalid/"


def _parse(text: str, kind: str) -> list[ImageUse]:
    if kind == "html":
        return PageDoc(text).uses
    if kind == "css":
        return [_as_use(css) for css in css_urls(text)]
    if kind == "xml":
        import xml.etree.ElementTree as ET

        from .feeds import FeedDoc

        try:
            return FeedDoc(text).uses
        except ET.ParseError as exc:
            raise ValueError(f"it is not well-formed XML ({exc})") from exc
    if kind == "svg":
        return svg_uses(text.encode("utf-8", "surrogateescape"))
    if kind == "json":
        return [ImageUse(-1, "manifest-icon", url, via="json") for url in manifest_images(text)]
    raise ValueError(f"unknown document kind {kind!r}; expected one of {', '.join(KINDS)}")


@functools.cache
def code_key() -> bytes:
    """The source of every module a scan or a target depends on."""
    here = Path(__file__).parent
    digest = hashlib.sha256(PARSER_VERSION.encode())
    for name in (
        "pages.py",
        "html_tokens.py",
        "html_uses.py",
        "html_rewrite.py",
        "css.py",
        "feeds.py",
        "output_scan.py",
        "sniff.py",
    ):
        digest.update((here / name).read_bytes())
    return digest.digest()


def _cache_file(
    text: str, kind: str, cache_dir: Path, folder: str = "scan", extra: str = ""
) -> Path:
    digest = hashlib.sha256(code_key())
    digest.update(f"{kind}\0{extra}\0".encode("utf-8", "surrogateescape"))
    digest.update(text.encode("utf-8", "surrogateescape"))
    key = digest.hexdigest()
    return cache_dir / folder / key[:2] / f"{key}.json"


def _read_rows(path: Path | None) -> list | None:
    if path is None:
        return None
    try:
        rows = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return rows if isinstance(rows, list) else None


def _write_rows(path: Path | None, rows: list) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(rows))
    except OSError as exc:
        logger.debug("could not cache the scan of a document: %s", exc)


def scan_document(text: str, kind: str, cache_dir: Path | None = None) -> list[ImageUse]:
    """Every picture use in a document; see the module docstring."""
    cached = _cache_file(text, kind, cache_dir) if cache_dir is not None else None
    rows = _read_rows(cached)
    if rows is not None:
        try:
            return [ImageUse(*row) for row in rows]
        except TypeError:
            pass
    uses = _parse(text, kind)
    _write_rows(cached, [astuple(use) for use in uses])
    return uses


def resolve_uses(
    text: str, kind: str, page: str, resolver: UrlResolver, cache_dir: Path | None = None
) -> list[tuple[ImageUse, Target]]:
    """Every picture use in a document with its target from `page`; see the module
    docstring. Raises ValueError as ``scan_document`` does."""
    site = f"{page}\0{resolver.site_host}\0{resolver.site_prefix}"
    cached = _cache_file(text, kind, cache_dir, "targets", site) if cache_dir is not None else None
    rows = _read_rows(cached)
    if rows is not None:
        try:
            return [(ImageUse(*use), Target(*target)) for use, target in rows]
        except (TypeError, ValueError):
            pass
    uses = scan_document(text, kind, cache_dir)
    # Only a <base href> changes how the page's URLs resolve: pass it alone, not every use.
    base_uses = [use for use in uses if use.kind == "base"][:1]
    pairs = [(use, target_of(resolver, use, page, base_uses)) for use in uses]
    _write_rows(cached, [[astuple(use), [t.kind, t.path]] for use, t in pairs])
    return pairs


def rewrite_document(
    text: str,
    kind: str,
    blocked: Callable[[ImageUse], bool],
    placeholder: str,
    cache_dir: Path | None = None,
) -> tuple[str, int]:
    """The document without its blocked uses, and the placeholders put in."""
    if not any(blocked(use) for use in scan_document(text, kind, cache_dir)):
        return text, 0
    if kind == "html":
        return PageDoc(text).rewrite(blocked, placeholder)
    if kind == "css":
        return rewrite_css_where(text, lambda css: blocked(_as_use(css)))
    if kind == "xml":
        from .feeds import FeedDoc

        return FeedDoc(text).rewrite(blocked, placeholder)
    if kind == "json":
        return _rewrite_manifest(text, blocked)
    return EMPTY_SVG, 1  # "svg": a drawing that shows a blocked picture goes whole


# Web app manifest members that list pictures ({"src": ...} entries).
_MANIFEST_LISTS = ("icons", "screenshots")


def _manifest(text: str) -> dict | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None  # not a manifest a browser would read
    return (
        data
        if isinstance(data, dict) and any(k in data for k in _MANIFEST_LISTS + ("shortcuts",))
        else None
    )


def _picture_lists(data: dict) -> list[list]:
    lists = [data.get(key) for key in _MANIFEST_LISTS]
    for shortcut in data.get("shortcuts") or []:
        if isinstance(shortcut, dict):
            lists.append(shortcut.get("icons"))
    return [items for items in lists if isinstance(items, list)]


def manifest_images(text: str) -> list[str]:
    """The pictures a web app manifest names (icons, screenshots, shortcut icons); any
    other JSON names none."""
    data = _manifest(text)
    if data is None:
        return []
    return [
        item["src"]
        for items in _picture_lists(data)
        for item in items
        if isinstance(item, dict) and isinstance(item.get("src"), str)
    ]


def _rewrite_manifest(text: str, blocked: Callable[[ImageUse], bool]) -> tuple[str, int]:
    """The manifest without its blocked pictures (the entries go; the rest stays)."""
    data = _manifest(text)
    if data is None:
        return text, 0
    removed = 0
    for items in _picture_lists(data):
        keep = [
            item
            for item in items
            if not (
                isinstance(item, dict)
                and isinstance(item.get("src"), str)
                and blocked(ImageUse(-1, "manifest-icon", item["src"], via="json"))
            )
        ]
        removed += len(items) - len(keep)
        items[:] = keep
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n", removed


def _as_use(css: CssUrl) -> ImageUse:
    return ImageUse(-1, css.kind, css.url, via="css", start=css.start, end=css.end)


def document_base(uses: Sequence[ImageUse]) -> str | None:
    """The page's <base href> (the first one counts, as in a browser), or None."""
    return next((use.url for use in uses if use.kind == "base"), None)


def target_of(
    resolver: UrlResolver, use: ImageUse, page: str, uses: Sequence[ImageUse] = ()
) -> Target:
    """Where a use's URL points from `page` (output-relative), after the page's <base>."""
    base = document_base(uses) if use.kind != "base" else None
    if base is None:
        return resolver.resolve(use.url, page)
    url = use.url.strip()
    if urlsplit(url).scheme or url.startswith(("//", "\\\\")):
        return resolver.resolve(url, page)
    effective = urljoin(urljoin(_SITE + page, base.strip()), url)
    if effective.startswith(_SITE):
        return resolver.resolve("/" + effective[len(_SITE) :], page)
    return resolver.resolve(effective, page)


def is_blocked(
    use: ImageUse,
    target: Target,
    *,
    withheld: Collection[str],
    missing: Collection[str],
    strict: bool,
) -> bool:
    """Whether a use must go; see the module docstring for the rule."""
    if target.kind == "local":
        if target.path in withheld:
            return True
        return use.displays and target.path in missing
    if target.kind == "inline":
        return True
    if target.kind == "remote":
        return strict and use.displays
    return False


__all__ = [
    "EMPTY_SVG",
    "ImageUse",
    "KINDS",
    "PARSER_VERSION",
    "code_key",
    "document_base",
    "is_blocked",
    "resolve_uses",
    "rewrite_document",
    "scan_document",
    "target_of",
]
