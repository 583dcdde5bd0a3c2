"""Every picture an HTML element shows or links to (``ImageUse``): img, picture sources
and srcset, inline styles, SVG references, feed media, image meta and JSON-LD images, icons
and preloads; ``ImageUse.displays`` tells a picture on the page from a link to one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .css import css_urls
from .html_tokens import _SPACE, Attribute, Element

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


def uses_of(index: int, element: Element) -> Iterator[ImageUse]:
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
