"""Find the images an HTML page uses and replace the withheld ones with a placeholder.

Pages are parsed with the standard library's HTML parser; every element keeps its position
in the source, so a rewrite changes only the elements it must and leaves the rest of the
page byte for byte as the theme wrote it.

What counts as using an image: ``<img src/srcset/data-src/data-srcset>``, ``<picture>``/
``<video>`` ``<source srcset/src>``, ``<video poster>``, ``<a href>`` to an image file,
``<link href>`` (``image_src``, preloads, icons), ``og:image``/``twitter:image`` meta, and
``<image>``/``<feImage>`` inside an inline ``<svg>`` (a withheld one replaces the whole
drawing with the placeholder).

Nothing here imports Pelican.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser

VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr"}
)
IMAGE_META = frozenset(
    {
        "og:image",
        "og:image:url",
        "og:image:secure_url",
        "twitter:image",
        "twitter:image:src",
    }
)
# Meta that only describes an image meta and goes when that image goes.
_IMAGE_META_DETAIL = ("og:image:", "twitter:image:")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    start: int  # offset of "<"
    start_end: int  # offset just after the start tag's ">"
    parent: int | None
    end: int = -1  # offset just after the end tag (start_end for void/unclosed elements)
    end_tag_start: int = -1  # offset of "</", or -1 when there is no end tag
    children: list[int] = field(default_factory=list)
    has_text: bool = False  # non-blank text directly inside


@dataclass(frozen=True)
class ImageUse:
    """One URL in a page that shows, links to or announces an image."""

    element: int  # index into PageDoc.elements
    kind: str  # "img", "source", "poster", "a", "link", "meta"
    url: str
    alt: str | None = None


class _TreeBuilder(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.line_starts = [0]
        for index, char in enumerate(text):
            if char == "\n":
                self.line_starts.append(index + 1)
        self.elements: list[Element] = []
        self.stack: list[int] = []

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def _open(self, tag: str, attrs: list[tuple[str, str | None]], void: bool) -> None:
        start = self._offset()
        raw = self.get_starttag_text() or ""
        parent = self.stack[-1] if self.stack else None
        element = Element(
            tag=tag,
            attrs={name: (value or "") for name, value in attrs},
            start=start,
            start_end=start + len(raw),
            parent=parent,
        )
        index = len(self.elements)
        self.elements.append(element)
        if parent is not None:
            self.elements[parent].children.append(index)
        if void:
            element.end = element.start_end
        else:
            self.stack.append(index)

    def handle_starttag(self, tag, attrs):
        self._open(tag, attrs, tag in VOID_TAGS)

    def handle_startendtag(self, tag, attrs):
        self._open(tag, attrs, True)

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        matching = [i for i in self.stack if self.elements[i].tag == tag]
        if not matching:
            return  # a stray end tag
        target = matching[-1]
        position = self._offset()
        close = self.text.find(">", position)
        end = len(self.text) if close < 0 else close + 1
        while self.stack:
            index = self.stack.pop()
            element = self.elements[index]
            if index == target:
                element.end_tag_start = position
                element.end = end
                break
            element.end = position  # closed implicitly by its parent's end tag

    def handle_data(self, data):
        if self.stack and data.strip():
            self.elements[self.stack[-1]].has_text = True

    def finish(self) -> list[Element]:
        self.feed(self.text)
        self.close()
        for index in self.stack:
            self.elements[index].end = len(self.text)
        self.stack.clear()
        return self.elements


def _uses_of(index: int, tag: str, attrs: dict[str, str]):
    """The image uses of one element."""
    if tag == "img":
        alt = attrs.get("alt")
        for name in ("src", "data-src"):
            if attrs.get(name, "").strip():
                yield ImageUse(index, "img", attrs[name].strip(), alt)
        for name in ("srcset", "data-srcset"):
            for url in srcset_urls(attrs.get(name, "")):
                yield ImageUse(index, "img", url, alt)
    elif tag == "source":
        for url in srcset_urls(attrs.get("srcset", "")):
            yield ImageUse(index, "source", url)
        if attrs.get("src", "").strip():
            yield ImageUse(index, "source", attrs["src"].strip())
    elif tag == "video" and attrs.get("poster", "").strip():
        yield ImageUse(index, "poster", attrs["poster"].strip())
    elif tag == "a" and attrs.get("href", "").strip():
        yield ImageUse(index, "a", attrs["href"].strip())
    elif tag == "link" and attrs.get("href", "").strip():
        yield ImageUse(index, "link", attrs["href"].strip())
    elif tag == "meta":
        key = (attrs.get("property") or attrs.get("name") or "").strip().lower()
        if key in IMAGE_META and attrs.get("content", "").strip():
            yield ImageUse(index, "meta", attrs["content"].strip())
    elif tag in ("image", "feimage"):
        for name in ("href", "xlink:href", "src"):
            if attrs.get(name, "").strip():
                yield ImageUse(index, "svg-image", attrs[name].strip())


# A quick scan for the uses, many times faster than a full parse. It decides which pages
# need the full parse and rewrite; a use it misses in odd markup can only leave a broken
# image behind (the withheld file itself is deleted whatever the pages say).
_SKIP = re.compile(r"<!--.*?-->|<script\b.*?</script\s*>|<style\b.*?</style\s*>", re.S | re.I)
_TAG = re.compile(
    r"<(img|source|video|a|link|meta|image|feimage)(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>",
    re.I,
)
_ATTR = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")


def scan_uses(text: str) -> list[ImageUse]:
    """The image uses in an HTML text, found without a full parse."""
    uses: list[ImageUse] = []
    for index, match in enumerate(_TAG.finditer(_SKIP.sub("", text))):
        attrs: dict[str, str] = {}
        for name, double, single, bare in _ATTR.findall(match.group(2)):
            attrs.setdefault(name.lower(), unescape(double or single or bare))
        uses.extend(_uses_of(index, match.group(1).lower(), attrs))
    return uses


def srcset_urls(value: str) -> list[str]:
    """The URLs in a srcset value ("a.jpg 1x, b.jpg 640w")."""
    urls = []
    for candidate in value.split(","):
        parts = candidate.strip().split()
        if parts:
            urls.append(parts[0])
    return urls


class PageDoc:
    """A parsed page: its elements with source positions and the images it uses."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.elements = _TreeBuilder(text).finish()
        self.uses = list(self._find_uses())

    def _find_uses(self):
        for index, element in enumerate(self.elements):
            yield from _uses_of(index, element.tag, element.attrs)

    def meta_key(self, index: int) -> str:
        attrs = self.elements[index].attrs
        return (attrs.get("property") or attrs.get("name") or "").strip().lower()

    def _media_unit(self, index: int, blocked_elements: set[int]) -> int:
        """The element a placeholder replaces: the <img> itself, or the <picture>/<video>
        around it, the link around that when it points at a withheld image too, and a
        paragraph holding nothing else."""
        elements = self.elements
        unit = index
        parent = elements[unit].parent
        if parent is not None and elements[parent].tag in ("picture", "video"):
            unit = parent
        parent = elements[unit].parent
        if parent is not None and elements[parent].tag == "a" and parent in blocked_elements:
            unit = parent
        parent = elements[unit].parent
        if (
            parent is not None
            and elements[parent].tag == "p"
            and elements[parent].children == [unit]
            and not elements[parent].has_text
        ):
            unit = parent
        return unit

    def rewrite(self, blocked: Callable[[ImageUse], bool], placeholder: str) -> tuple[str, int]:
        """Replace every image use `blocked` says no to; return (new text, placeholders)."""
        blocked_uses = [use for use in self.uses if blocked(use)]
        if not blocked_uses:
            return self.text, 0
        blocked_elements = {use.element for use in blocked_uses}
        edits: list[tuple[int, int, str]] = []
        placeholders = 0
        for index in sorted(blocked_elements):
            element = self.elements[index]
            tag = element.tag
            if tag in ("img", "source", "video"):
                unit = self.elements[self._media_unit(index, blocked_elements)]
                edits.append((unit.start, unit.end, placeholder))
                placeholders += 1
            elif tag == "a":
                # A text link to a withheld image: keep the words, drop the link.
                edits.append((element.start, element.start_end, ""))
                if element.end_tag_start >= 0:
                    edits.append((element.end_tag_start, element.end, ""))
            elif tag in ("image", "feimage"):
                # The whole drawing goes; outside any <svg> a browser shows <image> as <img>.
                unit = self._outermost_svg(index) or element
                if (unit.start, unit.end, placeholder) not in edits:  # one per drawing
                    edits.append((unit.start, unit.end, placeholder))
                    placeholders += 1
            elif tag == "link":
                edits.append((element.start, element.end, ""))
            elif tag == "meta":
                edits.append((element.start, element.end, ""))
                edits.extend(self._image_meta_details(index))
        return _apply(self.text, edits), placeholders

    def _outermost_svg(self, index: int) -> Element | None:
        found = None
        parent = self.elements[index].parent
        while parent is not None:
            if self.elements[parent].tag == "svg":
                found = self.elements[parent]
            parent = self.elements[parent].parent
        return found

    def _image_meta_details(self, index: int) -> list[tuple[int, int, str]]:
        """og:image:alt/width/... following a removed og:image; twitter:image:alt."""
        key = self.meta_key(index)
        prefix = next((p for p in _IMAGE_META_DETAIL if key.startswith(p.rstrip(":"))), None)
        if prefix is None:
            return []
        parent = self.elements[index].parent
        siblings = self.elements[parent].children if parent is not None else []
        edits = []
        following = siblings[siblings.index(index) + 1 :] if index in siblings else []
        for sibling in following:
            element = self.elements[sibling]
            if element.tag != "meta":
                break
            sibling_key = self.meta_key(sibling)
            if sibling_key.startswith(prefix):
                edits.append((element.start, element.end, ""))
            elif sibling_key in IMAGE_META:
                break
        return edits


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply non-overlapping edits; an edit inside one already kept is dropped."""
    kept: list[tuple[int, int, str]] = []
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], -e[1])):
        if kept and start < kept[-1][1]:
            continue  # inside (or overlapping) an element already replaced
        kept.append((start, end, replacement))
    pieces = []
    position = 0
    for start, end, replacement in kept:
        pieces.append(text[position:start])
        pieces.append(replacement)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
