"""Find every picture an HTML page shows or links to, and replace the withheld ones.

Pages are read by a tokenizer that follows the HTML standard's tokenizer states (data,
tag, attribute names and values, comments with their abrupt endings, bogus comments,
script and style raw text): where a browser sees a tag, this sees one, whatever the
spelling (uppercase, unquoted or duplicated attributes, ``<img/src=x>``, entities in
values, comments that look like tags, ``<script>`` holding "<img"). Every element keeps its
source position, so a rewrite changes only the elements it must and leaves the rest of the
page byte for byte as the theme wrote it: an identical rebuild writes identical bytes.

Written here rather than taken from a library: the standard library's ``HTMLParser`` on
Python 3.11 ends comments and ``<![CDATA[`` differently from browsers (``--!>``, ``<!-->``)
and treats ``<style>`` inside ``<svg>`` as raw text where a browser parses tags, so markup
could hide a picture from it; html5lib and lxml keep no source offsets for a
byte-preserving rewrite. The tokenizer is about as fast as ``HTMLParser`` (see
``pages.py`` for the measured cost and the cache).

Where the page's structure is uncertain the reading errs towards finding more: raw text
is honoured only outside any ``<svg>``/``<math>`` (inside, a browser parses tags in a
``<style>``), ``<noscript>``, ``<template>``, ``<textarea>`` and ``<iframe>`` contents are
read as markup, and a duplicated attribute is read in every copy.

The tokenizer is ``html_tokens``; the uses are found by ``html_uses.uses_of``
(``ImageUse.displays`` tells a picture on the page from a link to one); this module reads a
page with them (``PageDoc``) and rewrites it. Nothing here imports Pelican.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from html import unescape

from .css import css_urls, rewrite_css
from .errors import GateError
from .html_tokens import Element, TreeBuilder
from .html_uses import (
    _FRAME_TAGS,
    _IMAGE_META_DETAIL,
    IMAGE_META,
    ImageUse,
    json_ld_images,
    uses_of,
)

# Rewrites of one page before giving up: 240,000 fuzzed broken pages needed two at most.
_REWRITE_PASSES = 4


class RewriteError(GateError, ValueError):
    """A blocked picture could not be removed from a page (the gate fails closed)."""


class PageDoc:
    """A parsed page: its elements with source positions and the pictures it uses."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.elements = TreeBuilder(text).finish()
        self.uses = list(self._find_uses())

    def _find_uses(self) -> Iterator[ImageUse]:
        for index, element in enumerate(self.elements):
            if element.attr_list:
                yield from uses_of(index, element)
            if element.tag in _FRAME_TAGS and "srcdoc" in element.attrs:
                # A page inside the attribute: its pictures are this frame's.
                for inner in PageDoc(element.attrs["srcdoc"]).uses:
                    yield ImageUse(index, inner.kind, inner.url, inner.alt, inner.displays,
                                   "srcdoc", "srcdoc")  # fmt: skip
            elif element.tag == "style":
                yield from self._style_uses(index, element)
            elif element.tag == "script" and "json" in element.attrs.get("type", "").lower():
                body_end = element.end_tag_start if element.end_tag_start >= 0 else element.end
                for url in json_ld_images(self.text[element.start_end : body_end]):
                    yield ImageUse(index, "json-ld", url, via="json-ld", attr="#text")

    def _style_uses(self, index: int, element: Element) -> Iterator[ImageUse]:
        body_end = element.end_tag_start if element.end_tag_start >= 0 else element.end
        body = self.text[element.start_end : body_end]
        if element.foreign:
            # Inside an <svg> a <style> holds parsed text: references are decoded.
            for css in css_urls(unescape(body)):
                yield ImageUse(index, css.kind, css.url, via="css", attr="#text")
            return
        for css in css_urls(body):
            yield ImageUse(index, css.kind, css.url, via="css", attr="#text",
                           start=element.start_end + css.start,
                           end=element.start_end + css.end)  # fmt: skip

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
        """Replace every picture use `blocked` says no to; return (new text, placeholders).

        The result is read again: in broken markup a removed end tag or a placeholder
        after a stray "<" can turn text that hid a tag into markup, and that tag is then
        replaced too. Raises RewriteError when a blocked use survives every pass."""
        text, total = self.text, 0
        doc: PageDoc = self
        for _ in range(_REWRITE_PASSES):
            new_text, count = doc._rewrite_once(blocked, placeholder)
            if new_text == doc.text:
                return text, total
            text, total = new_text, total + count
            doc = PageDoc(text)
            if not any(blocked(use) for use in doc.uses):
                return text, total
        raise RewriteError(
            f"a withheld picture is still shown after {_REWRITE_PASSES} rewrites of a page "
            "with broken markup; fix the page's HTML so the picture can be replaced"
        )

    def _rewrite_once(
        self, blocked: Callable[[ImageUse], bool], placeholder: str
    ) -> tuple[str, int]:
        blocked_uses = [use for use in self.uses if blocked(use)]
        if not blocked_uses:
            return self.text, 0
        blocked_elements = {use.element for use in blocked_uses}
        edits: list[tuple[int, int, str]] = []
        placeholders = 0
        drawings: set[int] = set()

        def replace_whole(element: Element) -> None:
            nonlocal placeholders
            edits.append((element.start, element.end, placeholder))
            placeholders += 1

        by_element: dict[int, list[ImageUse]] = {}
        for use in blocked_uses:
            by_element.setdefault(use.element, []).append(use)
        for index in sorted(by_element):
            element = self.elements[index]
            uses = by_element[index]
            tag = element.tag
            drawing = self._outermost_svg(index)
            if drawing is not None and any(use.displays for use in uses):
                # The whole drawing goes, once, however many withheld pictures it holds.
                if drawing not in drawings:
                    drawings.add(drawing)
                    replace_whole(self.elements[drawing])
                continue
            element_uses = [u for u in uses if u.via != "css" and u.kind != "background"]
            if any(u.via == "srcdoc" for u in uses) or any(
                u.kind in ("object", "embed", "iframe", "input", "video") for u in element_uses
            ):
                replace_whole(element)
            elif tag in ("img", "source", "video", "mglyph") and element_uses:
                unit = self.elements[self._media_unit(index, blocked_elements)]
                replace_whole(unit)
            elif tag in ("a", "area") and element_uses:
                # A text link to a withheld image: keep the words, drop the link.
                edits.append((element.start, element.start_end, ""))
                if element.end_tag_start >= 0:
                    edits.append((element.end_tag_start, element.end, ""))
            elif tag in ("image", "feimage") and element_uses:
                replace_whole(element)  # outside any <svg> a browser shows <image> as <img>
            elif tag in ("link", "base", "script") and element_uses:
                edits.append((element.start, element.end, ""))
            elif tag == "meta" and element_uses:
                edits.append((element.start, element.end, ""))
                edits.extend(self._image_meta_details(index))
            elif element_uses:
                replace_whole(element)
            edits.extend(self._attribute_edits(element, uses))
        return _apply(self.text, edits), placeholders

    def _attribute_edits(self, element: Element, uses: list[ImageUse]) -> list[tuple]:
        """A blocked background attribute goes; a blocked url() in CSS becomes none."""
        edits: list[tuple[int, int, str]] = []
        for use in uses:
            if use.kind == "background" and use.via == "attr":
                for attribute in element.attr_list:
                    if attribute.name == "background":
                        edits.append((attribute.start, attribute.end, ""))
        css_uses = [use for use in uses if use.via == "css"]
        for use in css_uses:
            if use.attr == "#text" and use.start >= 0:
                edits.append((use.start, use.end, "none"))
        for attribute in element.attr_list:
            spans = [u for u in css_uses if u.attr == attribute.name]
            if not spans:
                continue
            wanted = {(use.url, use.start) for use in spans}
            found = [css for css in css_urls(attribute.value) if (css.url, css.start) in wanted]
            new_value, _ = rewrite_css(attribute.value, found)
            if new_value == attribute.value:
                continue
            quoted = '"' + new_value.replace("&", "&amp;").replace('"', "&quot;") + '"'
            edits.append((attribute.start, attribute.end, f"{attribute.name}={quoted}"))
        return edits

    def _outermost_svg(self, index: int) -> int | None:
        found = None
        current: int | None = index
        while current is not None:
            if self.elements[current].tag == "svg":
                found = current
            current = self.elements[current].parent
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


def scan_uses(text: str) -> list[ImageUse]:
    """The picture uses in an HTML text (a full parse: there is no quicker pre-scan)."""
    return PageDoc(text).uses


def _apply(text: str, edits: Iterable[tuple[int, int, str]]) -> str:
    """Apply non-overlapping edits; an edit inside one already kept is dropped."""
    kept: list[tuple[int, int, str]] = []
    for start, end, replacement in sorted(set(edits), key=lambda e: (e[0], -e[1])):
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
