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

The uses found are listed in ``_uses_of`` (``ImageUse.displays`` tells a picture on the
page from a link to one). Nothing here imports Pelican.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from html import unescape
from html.entities import html5 as _HTML5_ENTITIES

from .css import css_urls, rewrite_css

VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr", "frame", "keygen", "basefont", "bgsound", "image"}
)
IMAGE_META = frozenset(
    {
        "og:image",
        "og:image:url",
        "og:image:secure_url",
        "twitter:image",
        "twitter:image:src",
        "image",  # itemprop="image"
        "thumbnail",
        "msapplication-tileimage",
        "msapplication-square150x150logo",
    }
)
# Meta that only describes an image meta and goes when that image goes.
_IMAGE_META_DETAIL = ("og:image:", "twitter:image:")
# SVG attributes whose value is CSS that may hold url(): presentation attributes.
_SVG_URL_ATTRIBUTES = frozenset(
    {"fill", "stroke", "filter", "mask", "clip-path", "marker-start", "marker-mid"}
    | {"marker-end", "cursor", "style"}
)
# SVG elements whose href draws or pulls in something from that URL (a paint server, a
# filter, a referenced shape): another file, or a data: URL.
_SVG_HREF_TAGS = frozenset(
    {"use", "pattern", "lineargradient", "radialgradient", "filter", "textpath", "tref"}
    | {"mpath", "cursor", "mask", "clippath", "marker", "feimage", "image", "script"}
)
_FEED_MEDIA = {
    "enclosure": "url",
    "media:content": "url",
    "media:thumbnail": "url",
    "itunes:image": "href",
}
_FRAME_TAGS = frozenset({"iframe", "frame", "portal", "fencedframe"})
# Elements a browser reads as raw text (their content holds no tags) in HTML content.
_RAW_TEXT = frozenset({"script", "style"})
# Start tags that close an open <p> (enough of the standard's list to keep paragraphs right).
_CLOSES_P = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "search",
        "section",
        "summary",
        "table",
        "ul",
        "listing",
        "xmp",
        "plaintext",
    }
)
# Start tags that leave an <svg> or <math> for HTML content ("breakout" tags).
_BREAKOUT = frozenset(
    {
        "b",
        "big",
        "blockquote",
        "body",
        "br",
        "center",
        "code",
        "dd",
        "div",
        "dl",
        "dt",
        "em",
        "embed",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "hr",
        "i",
        "img",
        "li",
        "listing",
        "menu",
        "meta",
        "nobr",
        "ol",
        "p",
        "pre",
        "ruby",
        "s",
        "small",
        "span",
        "strong",
        "strike",
        "sub",
        "sup",
        "table",
        "tt",
        "u",
        "ul",
        "var",
    }
)
# Elements inside an <svg> or <math> where HTML content starts again.
_INTEGRATION_POINTS = frozenset(
    {"foreignobject", "desc", "title", "mi", "mo", "mn", "ms", "mtext", "annotation-xml"}
)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass
class Attribute:
    name: str  # ASCII-lowercased
    value: str  # character references decoded
    start: int  # offset of the name
    end: int  # offset after the value (and its closing quote)
    value_start: int  # offset of the value (after the opening quote), or -1 when none


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]  # first value of each name, as a browser keeps it
    start: int  # offset of "<"
    start_end: int  # offset just after the start tag's ">"
    parent: int | None
    end: int = -1  # offset just after the end tag (start_end for void/unclosed elements)
    end_tag_start: int = -1  # offset of "</", or -1 when there is no end tag
    children: list[int] = field(default_factory=list)
    has_text: bool = False  # non-blank text directly inside
    attr_list: list[Attribute] = field(default_factory=list)  # every attribute, duplicates too
    foreign: bool = False  # in the SVG or MathML namespace (not HTML)


# Rewrites of one page before giving up: 240,000 fuzzed broken pages needed two at most.
_REWRITE_PASSES = 4


class RewriteError(ValueError):
    """A blocked picture could not be removed from a page (the gate fails closed)."""


@dataclass(frozen=True)
class ImageUse:
    """One URL in a document that shows, links to or announces a picture.

    ``element`` indexes the parsed document's elements (-1 for a style sheet or a feed's
    own picture elements); ``displays`` is False for a link (``<a href>``, most
    ``<link>``) and True for anything a browser or feed reader draws. ``via`` says where
    the URL was: "attr", "srcset", "css" (a style attribute, ``<style>`` or sheet),
    "srcdoc" (HTML inside an ``<iframe srcdoc>``), "entry" (HTML in a feed entry) or
    "feed" (a feed's own picture element). ``attr`` names the attribute, and for CSS
    ``start``/``end`` is the span the rewrite blanks (in the attribute's decoded value
    for a style attribute, in the document otherwise)."""

    element: int
    kind: str
    url: str
    alt: str | None = None
    displays: bool = True
    via: str = "attr"
    attr: str = ""
    start: int = -1
    end: int = -1
    # The size an <img> is drawn at, "WxH" in CSS pixels, when the element sets both (its
    # width and height attributes, or its style attribute, which wins); else "".
    shown: str = ""


# ---------------------------------------------------------------- tokenizer

_SPACE = "\t\n\f\r "
_TAG_NAME = re.compile(r"[^\t\n\f\r />]*")
_SEPARATOR = re.compile(r"[\t\n\f\r /]*")
_ATTRIBUTE = re.compile(
    r"(?P<name>[^\t\n\f\r />][^\t\n\f\r />=]*)[\t\n\f\r ]*"
    r"(?:=[\t\n\f\r ]*(?:\"(?P<dq>[^\"]*)(?:\"|\Z)|'(?P<sq>[^']*)(?:'|\Z)|(?P<uq>[^\t\n\f\r >]*)))?"
)
_MARKUP = re.compile(r"<(?:[A-Za-z]|/|!|\?)")
_SIMPLE_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)>")
_NON_SPACE = re.compile(r"[^\t\n\f\r ]")
_CHARREF = re.compile(r"&(?:#[xX][0-9a-fA-F]+;?|#[0-9]+;?|([A-Za-z][A-Za-z0-9]*)(;?))")


def unescape_attribute(value: str) -> str:
    """An attribute value as a browser decodes it: a legacy named reference without its
    ";" stays as written when a letter, digit or "=" follows (``?a=1&copy=2``)."""
    if "&" not in value:
        return value

    def replace(match: re.Match) -> str:
        name, semicolon = match.group(1), match.group(2)
        if name is None or semicolon:
            return unescape(match.group(0))
        for length in range(len(name), 0, -1):
            if name[:length] in _HTML5_ENTITIES:
                if length < len(name):
                    return match.group(0)  # followed by a letter or digit
                following = value[match.end() : match.end() + 1]
                return match.group(0) if following == "=" else unescape(match.group(0))
        return match.group(0)

    return _CHARREF.sub(replace, value)


def _read_attributes(text: str, position: int) -> tuple[list[Attribute], int, bool]:
    """Attributes from `position` to the end of a tag: (attributes, offset after ">",
    self-closing). An unfinished tag runs to the end of the text."""
    attributes: list[Attribute] = []
    length = len(text)
    while True:
        separator = _SEPARATOR.match(text, position)
        position = separator.end()
        if position >= length:
            return attributes, length, False
        if text[position] == ">":
            return attributes, position + 1, separator.group().endswith("/")
        match = _ATTRIBUTE.match(text, position)
        if match.group("dq") is not None:
            raw, value_start = match.group("dq"), match.start("dq")
        elif match.group("sq") is not None:
            raw, value_start = match.group("sq"), match.start("sq")
        elif match.group("uq") is not None:
            raw, value_start = match.group("uq"), match.start("uq")
        else:
            raw, value_start = "", -1
        end = match.end()
        if value_start < 0:
            end = match.end("name")  # whitespace after a bare name belongs to no attribute
        attributes.append(
            Attribute(
                match.group("name").translate(_ASCII_LOWER),
                unescape_attribute(raw),
                match.start(),
                end,
                value_start,
            )
        )
        position = max(match.end(), position + 1)


def _comment_end(text: str, start: int) -> int:
    """The offset after a comment opening at `start` ("<!--"), as a browser ends it."""
    body = start + 4
    if text.startswith(">", body):
        return body + 1  # <!-->
    if text.startswith("->", body):
        return body + 2  # <!--->
    ends = [i for i in (text.find("-->", body), text.find("--!>", body)) if i >= 0]
    if not ends:
        return len(text)
    close = min(ends)
    return close + (3 if text.startswith("-->", close) else 4)


def _bogus_end(text: str, start: int) -> int:
    close = text.find(">", start)
    return len(text) if close < 0 else close + 1


class _TreeBuilder:
    """Tokenizes a page and builds its element tree with source offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.elements: list[Element] = []
        self.stack: list[int] = []
        self.foreign_depth = 0  # <svg>/<math> elements open

    def finish(self) -> list[Element]:
        text = self.text
        length = len(text)
        position = 0
        while position < length:
            match = _MARKUP.search(text, position)
            if match is None:
                self._text(position, length)
                break
            start = match.start()
            self._text(position, start)
            simple = _SIMPLE_TAG.match(text, start)
            if simple is not None:
                # Most tags have no attributes (<p>, </em>): a third of the parse time.
                tag = simple.group(2).translate(_ASCII_LOWER)
                if simple.group(1):
                    self._close(tag, start, simple.end())
                    position = simple.end()
                else:
                    position = self._open(tag, [], start, simple.end(), False)
                continue
            second = text[start + 1]
            if second == "!":
                if text.startswith("<!--", start):
                    position = _comment_end(text, start)
                else:
                    # <!DOCTYPE>, <![CDATA[ (a bogus comment in HTML; in SVG it may hold
                    # text with ">", which is then read as markup: more found, not less).
                    position = _bogus_end(text, start)
            elif second == "?":
                position = _bogus_end(text, start)
            elif second == "/":
                third = text[start + 2 : start + 3]
                if third == ">":
                    position = start + 3
                elif third.isascii() and third.isalpha():
                    name_match = _TAG_NAME.match(text, start + 2)
                    _attrs, end, _closing = _read_attributes(text, name_match.end())
                    self._close(name_match.group().translate(_ASCII_LOWER), start, end)
                    position = end
                elif not third:
                    self._text(start, length)
                    position = length
                else:
                    position = _bogus_end(text, start)
            else:
                name_match = _TAG_NAME.match(text, start + 1)
                tag = name_match.group().translate(_ASCII_LOWER)
                attributes, end, self_closing = _read_attributes(text, name_match.end())
                position = self._open(tag, attributes, start, end, self_closing)
        for index in self.stack:
            self.elements[index].end = length
        self.stack.clear()
        return self.elements

    def _text(self, start: int, end: int) -> None:
        if start < end and self.stack:
            element = self.elements[self.stack[-1]]
            if not element.has_text and _NON_SPACE.search(self.text, start, end):
                element.has_text = True

    def _open(
        self, tag: str, attributes: list[Attribute], start: int, end: int, self_closing: bool
    ) -> int:
        if (
            tag in _CLOSES_P
            and self.stack
            and self.elements[self.stack[-1]].tag == "p"
            and not self.elements[self.stack[-1]].foreign
        ):
            closed = self.stack.pop()
            self.elements[closed].end = start
        parent = self.stack[-1] if self.stack else None
        parent_element = self.elements[parent] if parent is not None else None
        foreign = tag in ("svg", "math") or (
            parent_element is not None
            and parent_element.foreign
            and parent_element.tag not in _INTEGRATION_POINTS
            and tag not in _BREAKOUT
        )
        attrs: dict[str, str] = {}
        for attribute in attributes:
            attrs.setdefault(attribute.name, attribute.value)
        element = Element(
            tag=tag,
            attrs=attrs,
            start=start,
            start_end=end,
            parent=parent,
            attr_list=attributes,
            foreign=foreign,
        )
        index = len(self.elements)
        self.elements.append(element)
        if parent is not None:
            parent_element.children.append(index)
        # In an <svg>, "/>" closes any element; in HTML only void elements have no end tag.
        void = (self_closing and foreign) or (tag in VOID_TAGS and not foreign)
        if void or (self_closing and tag in VOID_TAGS):
            element.end = end
            return end
        self.stack.append(index)
        if tag in ("svg", "math"):
            self.foreign_depth += 1
        if tag in _RAW_TEXT and self.foreign_depth == 0:
            # Raw text ends at "</script" or "</style" followed by a space, "/" or ">".
            closing = re.compile(rf"</{tag}[\t\n\f\r />]", re.I).search(self.text, end)
            return len(self.text) if closing is None else closing.start()
        return end

    def _close(self, tag: str, start: int, end: int) -> None:
        if tag in VOID_TAGS and tag != "image":
            return
        stack = self.stack
        if stack and self.elements[stack[-1]].tag == tag and tag not in ("svg", "math"):
            element = self.elements[stack.pop()]  # the usual case: the current element
            element.end_tag_start = start
            element.end = end
            return
        target = None
        for depth in range(len(self.stack) - 1, -1, -1):
            element = self.elements[self.stack[depth]]
            if element.tag == tag:
                target = depth
                break
            if element.tag in _INTEGRATION_POINTS and element.foreign:
                break  # a browser does not close past an <svg>'s HTML island either
        if target is None:
            return  # a stray end tag
        closing = self.stack[target:]
        inside = [self.elements[i] for i in closing[1:]]
        drawings = [self.elements[closing[0]]] + inside
        if any(e.tag in ("svg", "math") and e.foreign for e in drawings) and any(
            not e.foreign for e in inside
        ):
            # Closing an <svg> around HTML (a breakout tag, foreignObject content): whether a
            # browser left the drawing here is unsure, so it stays open (more is read as tags).
            return
        del self.stack[target:]
        for index in closing[1:]:
            self.elements[index].end = start  # closed implicitly by an ancestor's end tag
            if self.elements[index].tag in ("svg", "math"):
                self.foreign_depth -= 1
        element = self.elements[closing[0]]
        element.end_tag_start = start
        element.end = end
        if tag in ("svg", "math"):
            self.foreign_depth -= 1


# ---------------------------------------------------------------- what uses a picture


def srcset_urls(value: str) -> list[str]:
    """The URLs in a srcset value, split as the HTML standard splits them: a URL runs to
    whitespace ("a.jpg,b.jpg 2x" is one URL), descriptors run to a comma."""
    urls = []
    position = 0
    length = len(value)
    while position < length:
        while position < length and (value[position] in _SPACE or value[position] == ","):
            position += 1
        if position >= length:
            break
        start = position
        while position < length and value[position] not in _SPACE:
            position += 1
        url = value[start:position]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = 0  # descriptors: up to a comma outside parentheses
            while position < length:
                char = value[position]
                if char == "(":
                    depth += 1
                elif char == ")":
                    depth = max(0, depth - 1)
                elif char == "," and depth == 0:
                    break
                position += 1
        if url:
            urls.append(url)
    return urls


# A width or height declaration in a style attribute, in pixels (or unitless 0-less
# numbers, as quirks mode reads them); percentages, ems and calc() say nothing of the shape.
_STYLE_SIZE = re.compile(
    r"(?:^|;)\s*(width|height)\s*:\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*(?:!\s*important\s*)?(?=;|$)",
    re.I,
)
_ATTR_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*$", re.I)


def shown_size(attrs: dict[str, str]) -> str:
    """The size an element is drawn at, "WxH" in CSS pixels, from its width and height
    attributes and its style attribute (the style wins, its last declaration of each);
    "" when either is unknown. Style sheets are not read: a shape they give is the
    rendered-page check's to see (``render_check``)."""
    size: dict[str, float] = {}
    for name in ("width", "height"):
        match = _ATTR_SIZE.match(attrs.get(name, ""))
        if match:
            size[name] = float(match.group(1))
    for name, value in _STYLE_SIZE.findall(attrs.get("style", "")):
        size[name.lower()] = float(value)
    width, height = size.get("width", 0.0), size.get("height", 0.0)
    if width <= 0 or height <= 0:
        return ""
    return f"{width:g}x{height:g}"


def _values(attr_list: list[Attribute], *names: str) -> Iterator[tuple[str, str]]:
    """(name, value) of every non-blank attribute with one of the names, duplicates too."""
    for attribute in attr_list:
        if attribute.name in names and attribute.value.strip():
            yield attribute.name, attribute.value.strip()


def _href_names(attr_list: list[Attribute]) -> tuple[str, ...]:
    """href, and href in any namespace spelling (xlink:href, ns1:href ...)."""
    return tuple(
        {a.name for a in attr_list if a.name == "href" or a.name.endswith(":href")} | {"href"}
    )


def _uses_of(index: int, element: Element) -> Iterator[ImageUse]:
    """The picture uses of one element, from its attributes (see the module docstring)."""
    tag, attrs, attr_list = element.tag, element.attrs, element.attr_list
    if tag == "img" or tag == "mglyph":
        alt = attrs.get("alt")
        shown = shown_size(attrs)
        for name, url in _values(attr_list, "src", "data-src", "lowsrc", "dynsrc"):
            yield ImageUse(index, "img", url, alt, attr=name, shown=shown)
        for name, value in _values(attr_list, "srcset", "data-srcset"):
            for url in srcset_urls(value):
                yield ImageUse(index, "img", url, alt, via="srcset", attr=name, shown=shown)
    elif tag == "source":
        for name, value in _values(attr_list, "srcset"):
            for url in srcset_urls(value):
                yield ImageUse(index, "source", url, via="srcset", attr=name)
        for name, url in _values(attr_list, "src"):
            yield ImageUse(index, "source", url, attr=name)
    elif tag == "video":
        for name, url in _values(attr_list, "poster"):
            yield ImageUse(index, "poster", url, attr=name)
        for name, url in _values(attr_list, "src"):
            yield ImageUse(index, "video", url, attr=name)
    elif tag in ("a", "area"):
        for name, url in _values(attr_list, *_href_names(attr_list)):
            yield ImageUse(index, "a", url, displays=False, attr=name)
    elif tag == "link":
        rel = set(attrs.get("rel", "").lower().split())
        # A stylesheet can draw pictures and an icon is one; the rest only point at one.
        # A preload, image_src or web manifest names a picture for the page as well.
        shown = bool(rel & _PICTURE_LINK_RELS)
        for name, url in _values(attr_list, "href"):
            yield ImageUse(index, "link", url, displays=shown, attr=name)
        for name, value in _values(attr_list, "imagesrcset"):
            for url in srcset_urls(value):
                yield ImageUse(index, "link", url, displays=shown, via="srcset", attr=name)
    elif tag == "meta":
        key = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").strip()
        if key.lower() in IMAGE_META:
            for name, url in _values(attr_list, "content"):
                yield ImageUse(index, "meta", url, attr=name)
        if attrs.get("http-equiv", "").strip().lower() == "refresh":
            target = re.search(r"url\s*=\s*['\"]?([^'\"]+)", attrs.get("content", ""), re.I)
            if target:
                yield ImageUse(index, "meta-refresh", target.group(1).strip(), displays=False)
    elif tag == "object":
        for name, url in _values(attr_list, "data"):
            yield ImageUse(index, "object", url, attr=name)
    elif tag == "embed":
        for name, url in _values(attr_list, "src"):
            yield ImageUse(index, "embed", url, attr=name)
    elif tag in _FRAME_TAGS:
        for name, url in _values(attr_list, "src"):
            yield ImageUse(index, "iframe", url, attr=name)
    elif tag == "input":
        for name, url in _values(attr_list, "src"):
            yield ImageUse(index, "input", url, attr=name)
    elif tag in _FEED_MEDIA:
        # Feed elements, for a feed read as HTML: RSS <enclosure url>, Media RSS, iTunes.
        for name, url in _values(attr_list, _FEED_MEDIA[tag]):
            yield ImageUse(index, "enclosure", url, attr=name)
    elif tag == "base":
        for name, url in _values(attr_list, "href"):
            yield ImageUse(index, "base", url, displays=False, attr=name)
    if tag == "image" or tag == "feimage":
        for name, url in _values(attr_list, *_href_names(attr_list), "src"):
            yield ImageUse(index, "svg-image", url, attr=name)
    elif tag in _SVG_HREF_TAGS and element.foreign:
        for name, url in _values(attr_list, *_href_names(attr_list)):
            yield ImageUse(index, "svg-ref", url, attr=name)
    elif tag in ("set", "animate") and attrs.get("attributename", "").lower().endswith("href"):
        # SMIL can swap a drawing's href for another picture.
        for name, value in _values(attr_list, "to", "from", "by", "values"):
            for url in value.split(";"):
                if url.strip():
                    yield ImageUse(index, "svg-image", url.strip(), attr=name)
    # Any element: the legacy background attribute and CSS in attributes.
    for name, url in _values(attr_list, "background"):
        yield ImageUse(index, "background", url, attr=name)
    for attribute in attr_list:
        is_css = attribute.name == "style" or (
            element.foreign and attribute.name in _SVG_URL_ATTRIBUTES
        )
        if is_css and "(" in attribute.value:
            for css in css_urls(attribute.value):
                yield ImageUse(index, css.kind, css.url, None, True, "css",
                               attribute.name, css.start, css.end)  # fmt: skip


# <link rel> values that load or announce a picture (or a file naming pictures).
_PICTURE_LINK_RELS = frozenset(
    {"stylesheet", "icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon"}
    | {"image_src", "preload", "prefetch", "modulepreload", "manifest"}
    | {"apple-touch-startup-image", "fluid-icon", "shortcut"}
)
# Structured data (JSON-LD) keys whose values are pictures, at any depth.
JSON_LD_IMAGE_KEYS = frozenset(
    {"image", "logo", "thumbnail", "thumbnailurl", "contenturl", "photo", "screenshot"}
    | {"primaryimageofpage", "associatedmedia", "embedurl"}
)


def json_ld_images(body: str) -> list[str]:
    """Every string under a picture key of a JSON-LD block (an ImageObject's url too);
    a block that does not parse names nothing (no reader reads it either)."""
    import json

    try:
        data = json.loads(body)
    except ValueError:
        return []
    found: list[str] = []

    def strings(value) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            for item in value:
                strings(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                if not str(key).startswith("@"):  # @type, @context: not addresses
                    strings(item)

    def walk(value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if str(key).lower().removeprefix("schema:") in JSON_LD_IMAGE_KEYS:
                    strings(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    return [url.strip() for url in found if url.strip()]


class PageDoc:
    """A parsed page: its elements with source positions and the pictures it uses."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.elements = _TreeBuilder(text).finish()
        self.uses = list(self._find_uses())

    def _find_uses(self) -> Iterator[ImageUse]:
        for index, element in enumerate(self.elements):
            if element.attr_list:
                yield from _uses_of(index, element)
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
