"""The pictures an SVG file shows: every ``<image>``, ``<feImage>``, ``<use>``, pattern,
CSS ``url()``, style sheet and ``<foreignObject>`` HTML, as ``html_uses.ImageUse``."""

from __future__ import annotations

import re
from html import unescape

from .css import css_urls
from .html_rewrite import PageDoc
from .html_tokens import Attribute, Element
from .html_uses import ImageUse, uses_of
from .urls import is_plain_local


def svg_embedded_images(data: bytes) -> list[str]:
    """What an SVG draws that the gate cannot check: every way it can show a picture from
    anything but a plain file of the site (``svg_uses`` lists them all): ``<image>``,
    ``<feImage>``, ``<use>``, ``<pattern>`` and other references, CSS ``url()`` in style
    attributes, presentation attributes and ``<style>`` (``@import`` too), an
    ``<?xml-stylesheet?>``, and HTML inside ``<foreignObject>`` (img, object, embed,
    iframe, video poster, background...), in any attribute spelling (href, xlink:href, src,
    another namespace prefix). Returns the URLs, shortened.

    Raises ValueError when the SVG cannot be read (the caller withholds it)."""
    found = []
    for use in svg_uses(data):
        if use.displays and not is_plain_local(use.url):
            url = use.url.strip()
            found.append(url if len(url) <= 60 else url[:57] + "...")
    return found


def svg_uses(data: bytes | str):
    """Every picture use in an SVG file (``html_uses.ImageUse``, element -1), local
    ones too. Raises ValueError when the SVG is not well-formed XML."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValueError(f"it is not well-formed SVG ({exc})") from exc
    uses = []
    # <?xml-stylesheet?> loads a style sheet (which can draw pictures); it sits outside
    # the root element, where the element tree keeps nothing.
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    for instruction in re.finditer(r"<\?xml-stylesheet\s(.*?)\?>", text, re.S | re.I):
        for match in re.finditer(r"href\s*=\s*([\"'])(.*?)\1", instruction.group(1), re.S):
            uses.append(ImageUse(-1, "css-import", unescape(match.group(2)), via="css"))
    for element, inside in _walk(root, False):
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.rsplit("}", 1)[-1].lower()
        attributes = []
        for name, value in element.attrib.items():
            namespace, _, local = name.rpartition("}")
            local = local.lower()
            if namespace.endswith("xlink") and local == "href":
                local = "xlink:href"
            attributes.append(Attribute(local, value, -1, -1, -1))
        attrs: dict[str, str] = {}
        for attribute in attributes:
            attrs.setdefault(attribute.name, attribute.value)
        # Inside <foreignObject> the elements are HTML; elsewhere SVG.
        shadow = Element(tag, attrs, -1, -1, None, attr_list=attributes, foreign=not inside)
        uses.extend(uses_of(-1, shadow))
        if tag in ("iframe", "frame") and "srcdoc" in attrs:
            for inner in PageDoc(attrs["srcdoc"]).uses:
                uses.append(ImageUse(-1, inner.kind, inner.url, inner.alt, inner.displays,
                                     "srcdoc", "srcdoc"))  # fmt: skip
        if tag == "style" and element.text:
            text = "".join(element.itertext())
            uses.extend(ImageUse(-1, css.kind, css.url, via="css") for css in css_urls(text))
    return uses


def _walk(element, inside: bool):
    """(element, inside a foreignObject) for an element tree, in document order."""
    yield element, inside
    tag = element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""
    for child in element:
        yield from _walk(child, inside or tag == "foreignobject")
