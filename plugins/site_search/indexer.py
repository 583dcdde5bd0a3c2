"""Build the Pagefind search index of a built site from the text of its pages only.

Each page's ``<main>`` is rebuilt from an allow-list of text elements, without a single
attribute, before Pagefind sees it: no ``<img>``, ``alt``, ``src``, ``srcset``, ``<picture>``,
``<svg>`` or ``<video>`` reaches the index. Pagefind on its own indexes alt text and keeps
the first picture of a page as the result's image (a photo's file name and description in
the index); built this way, the index cannot name a photo whatever the consent gate later
decides about it, so it can be built before the gate and checked by it.

Nothing here imports Pelican.
"""

from __future__ import annotations

import asyncio
import fnmatch
import html
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

from .settings import SearchSettings

logger = logging.getLogger(__name__)

# Elements whose text is kept (without attributes).
TEXT_ELEMENTS = frozenset(
    [
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "caption",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "blockquote",
        "section",
        "article",
        "div",
        "span",
        "a",
        "strong",
        "em",
        "b",
        "i",
        "small",
        "time",
        "address",
        "figcaption",
        "figure",
        "br",
        "hr",
        "code",
        "pre",
        "abbr",
        "cite",
        "q",
        "mark",
        "sub",
        "sup",
    ]
)
# Elements dropped with everything inside them: pictures, media, code and widgets.
DROPPED_ELEMENTS = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "math",
        "canvas",
        "picture",
        "video",
        "audio",
        "object",
        "iframe",
        "embed",
        "map",
        "form",
        "button",
        "select",
        "textarea",
        "head",
        "nav",
    ]
)
VOID_ELEMENTS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)


@dataclass
class PageText:
    """What the index gets of one page."""

    path: str  # in the output, "news/2026/slug/index.html"
    url: str  # "/news/2026/slug/"
    lang: str
    title: str
    body: str  # sanitised HTML of <main>
    noindex: bool = False
    # Whether <main> has any words left: a page whose content is all data-pagefind-ignore
    # (a filter view repeating other pages) still leaves its empty wrappers in `body`.
    has_words: bool = True

    def document(self) -> str:
        return (
            f'<!DOCTYPE html><html lang="{html.escape(self.lang)}"><head><title>'
            f"{html.escape(self.title)}</title></head><body><main data-pagefind-body>"
            f"{self.body}</main></body></html>"
        )


class _MainText(HTMLParser):
    """The page's language, title and <main> rebuilt from TEXT_ELEMENTS, no attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = ""
        self.title_parts: list[str] = []
        self.out: list[str] = []
        self.noindex = False
        self.has_words = False
        self._in_title = False
        self._in_main = 0  # depth of open elements inside <main>
        self._dropping = 0  # depth inside a dropped element
        self._seen_main = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html" and not self.lang:
            self.lang = (attributes.get("lang") or "").strip()
        elif tag == "title":
            self._in_title = True
        elif tag == "meta" and (attributes.get("name") or "").lower() == "robots":
            self.noindex = "noindex" in (attributes.get("content") or "").lower()
        if tag == "main" and not self._seen_main:
            self._seen_main = True
            self._in_main = 1
            return
        if not self._in_main:
            return
        if tag in VOID_ELEMENTS:
            if tag == "br" and not self._dropping:
                self.out.append("<br>")
            return
        if self._dropping or tag in DROPPED_ELEMENTS or "data-pagefind-ignore" in attributes:
            if tag not in VOID_ELEMENTS:
                self._dropping += 1
            return
        self._in_main += 1
        if tag in TEXT_ELEMENTS:
            self.out.append(f"<{tag}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
            return
        if not self._in_main or tag in VOID_ELEMENTS:
            return
        if tag == "main":
            self._in_main = self._dropping = 0  # the end of <main>, whatever was left open
            return
        if self._dropping:
            self._dropping -= 1
            return
        self._in_main -= 1
        if self._in_main and tag in TEXT_ELEMENTS:
            self.out.append(f"</{tag}>")

    def handle_data(self, data):
        if self._in_title:
            self.title_parts.append(data)
        elif self._in_main and not self._dropping:
            self.out.append(html.escape(data, quote=False))
            self.has_words = self.has_words or not data.isspace()


def page_text(path: str, source: str, default_lang: str) -> PageText:
    parser = _MainText()
    parser.feed(source)
    parser.close()
    url = "/" + path.removesuffix("index.html")
    title = " ".join("".join(parser.title_parts).split())
    return PageText(
        path=path,
        url=url,
        lang=parser.lang or default_lang,
        title=title,
        body="".join(parser.out),
        noindex=parser.noindex,
        has_words=parser.has_words,
    )


def excluded(path: str, settings: SearchSettings) -> bool:
    candidates = [path]
    first, _, rest = path.partition("/")
    if first in settings.languages and rest:
        candidates.append(rest)
    return any(
        fnmatch.fnmatchcase(candidate, pattern)
        for candidate in candidates
        for pattern in settings.exclude
    )


def site_pages(folder: Path, settings: SearchSettings, default_lang: str) -> list[PageText]:
    """Every page of the built site that belongs in the index, in a stable order."""
    pages = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            if not name.endswith(".html"):
                continue
            path = Path(root, name)
            rel = PurePosixPath(path.relative_to(folder).as_posix()).as_posix()
            if excluded(rel, settings):
                continue
            try:
                source = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                logger.warning(
                    "Site search left out %s: it cannot be read as UTF-8 text (%s); the page "
                    "will not be found by search until it can.",
                    path,
                    exc,
                )
                continue
            text = page_text(rel, source, default_lang)
            if not text.noindex and text.has_words:
                pages.append(text)
    return sorted(pages, key=lambda page: page.path)


@dataclass
class IndexResult:
    bundle: Path
    pages: int
    languages: dict[str, int] = field(default_factory=dict)


# Files of Pagefind's bundle the search page does not use (Pagefind's own UIs): left out
# of the site, so the gate and publish have less to check and send.
UNUSED_BUNDLE_FILES = (
    "pagefind-ui.js",
    "pagefind-ui.css",
    "pagefind-component-ui.js",
    "pagefind-component-ui.css",
    "pagefind-modular-ui.js",
    "pagefind-modular-ui.css",
    "pagefind-highlight.js",
)


async def _write_index(pages: list[PageText], bundle: Path) -> None:
    from pagefind.index import IndexConfig
    from pagefind.service import PagefindService

    # One folder of rebuilt pages, indexed in one request: a request per page costs about
    # 0.1 s in the Python API (6.2 s for the 59 sample pages, 0.4 s as a folder).
    with tempfile.TemporaryDirectory(prefix="site-search-") as temp:
        for page in pages:
            target = Path(temp, page.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(page.document(), encoding="utf-8")
        # The bundle's files are asked for and written here, not by Pagefind's own write on
        # leaving its context: that service is terminated right after answering, and under
        # load a build kept an empty pagefind-worker.js (or no index at all).
        service = await PagefindService().launch()
        try:
            index = await service.create_index(IndexConfig())
            await index.add_directory(path=temp)
            files = await index.get_files()
        finally:
            await service.close()
    if not files:
        raise ValueError("Pagefind gave no search bundle files")
    empty = sorted(str(f["path"]) for f in files if not f["content"])
    if empty:
        raise ValueError(f"Pagefind gave empty search bundle files: {', '.join(empty)}")
    for file in files:
        relative = PurePosixPath(str(file["path"]))
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"Pagefind named a bundle file outside the bundle: {relative}")
        if relative.name in UNUSED_BUNDLE_FILES:
            continue
        target = bundle.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(file["content"])


def _sort_entry(entry: Path) -> None:
    """Pagefind lists the languages of a many-language site in no fixed order; sorted, an
    identical rebuild writes identical bytes (and publishing uploads nothing)."""
    import json

    if entry.is_file():
        data = json.loads(entry.read_text(encoding="utf-8"))
        entry.write_text(
            json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
            encoding="utf-8",
        )


def build_index(folder: Path, settings: SearchSettings, default_lang: str) -> IndexResult:
    """Index the site in `folder` into `folder/<bundle_dir>` (replacing an older bundle)."""
    bundle = folder / settings.bundle_dir
    if bundle.exists():
        shutil.rmtree(bundle)
    pages = site_pages(folder, settings, default_lang)
    asyncio.run(_write_index(pages, bundle))
    _sort_entry(bundle / "pagefind-entry.json")
    languages: dict[str, int] = {}
    for page in pages:
        languages[page.lang] = languages.get(page.lang, 0) + 1
    return IndexResult(bundle, len(pages), languages)
