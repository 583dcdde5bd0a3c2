"""Pictures inside Atom and RSS feeds (and other XML): the HTML their entries carry as
escaped text, XHTML written inline, and the feed's own picture elements.

Feed picture elements: RSS ``<enclosure url>``, ``<image><url>``, Media RSS
``<media:content url>``/``<media:thumbnail url>``, ``<itunes:image href>``, Atom
``<logo>``, ``<icon>``, ``<link rel="enclosure" href>`` and out-of-line ``<content src>``,
and an image sitemap's ``<image:image><image:loc>``. Any element whose text holds markup
is read as HTML (feed readers show Atom titles and summaries of type "html" as HTML too).

A withheld photo is removed from the feed too: the placeholder in the entry's HTML, the
picture element itself otherwise, so feed readers neither show a broken image nor keep the
photo's description. A feed with nothing blocked is returned unchanged.

Nothing here imports Pelican.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Callable

from .html_rewrite import PageDoc
from .html_tokens import Attribute, Element
from .html_uses import ImageUse, uses_of

# Feed elements whose text is a picture's URL (RSS <image><url>, Atom <logo>/<icon>).
_URL_TEXT = frozenset({"logo", "icon"})
# Attributes of feed elements that name a picture or a media file.
_MEDIA = {"enclosure": "url", "content": "url", "thumbnail": "url", "image": "href"}
_XHTML = "{http://www.w3.org/1999/xhtml}"


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


class FeedDoc:
    """A parsed feed: its HTML parts and its own picture elements."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.namespaces: list[tuple[str, str]] = []
        for _event, (prefix, uri) in ET.iterparse(io.StringIO(text), events=("start-ns",)):
            self.namespaces.append((prefix, uri))
        self.root = ET.fromstring(text)
        self.parent: dict[ET.Element, ET.Element] = {
            child: parent for parent in self.root.iter() for child in parent
        }
        # Elements whose text is HTML (escaped or in CDATA).
        self.parts: list[ET.Element] = [
            element for element in self.root.iter() if element.text and "<" in element.text
        ]
        # (element to remove when blocked, use) for the feed's own pictures and XHTML.
        self.own: list[tuple[ET.Element, ImageUse]] = list(self._own_uses())

    def _own_uses(self):
        for element in self.root.iter():
            tag = _local(element.tag)
            if not tag:
                continue
            if element.tag.startswith(_XHTML):
                # Inline XHTML (Atom content type="xhtml"): the HTML rules apply.
                attributes = [
                    Attribute(_local(name), value, -1, -1, -1)
                    for name, value in element.attrib.items()
                ]
                attrs: dict[str, str] = {}
                for attribute in attributes:
                    attrs.setdefault(attribute.name, attribute.value)
                shadow = Element(tag, attrs, -1, -1, None, attr_list=attributes)
                for use in uses_of(-1, shadow):
                    yield element, ImageUse(-1, use.kind, use.url, use.alt, use.displays, "feed")
                continue
            attrs = {_local(name): value.strip() for name, value in element.attrib.items()}
            in_image = _local(self._parent_tag(element)) == "image"
            if tag in ("url", "loc") and element.text and in_image:
                yield self.parent[element], ImageUse(-1, "feed-image", element.text.strip(),
                                                     via="feed")  # fmt: skip
            elif tag in _URL_TEXT and element.text and element.text.strip():
                yield element, ImageUse(-1, "feed-image", element.text.strip(), via="feed")
            elif tag in _MEDIA and attrs.get(_MEDIA[tag]):
                yield element, ImageUse(-1, "enclosure", attrs[_MEDIA[tag]], via="feed")
            if tag == "content" and attrs.get("src"):
                yield element, ImageUse(-1, "enclosure", attrs["src"], via="feed")
            elif tag == "link" and attrs.get("href"):
                shown = attrs.get("rel", "").lower() == "enclosure"
                yield element, ImageUse(-1, "enclosure" if shown else "link", attrs["href"],
                                        displays=shown, via="feed")  # fmt: skip

    def _parent_tag(self, element: ET.Element) -> str:
        parent = self.parent.get(element)
        return parent.tag if parent is not None else ""

    @property
    def uses(self) -> list[ImageUse]:
        found = [use for _element, use in self.own]
        for element in self.parts:
            for use in PageDoc(element.text).uses:
                found.append(ImageUse(-1, use.kind, use.url, use.alt, use.displays, "entry",
                                      use.attr, shown=use.shown))  # fmt: skip
        return found

    def map_entries(self, change: Callable[[str], str]) -> str:
        """The feed with `change` applied to the HTML of every entry (and of every other
        element whose text is markup); the feed's text unchanged when nothing changed."""
        changed = False
        for element in self.parts:
            new_text = change(element.text)
            if new_text != element.text:
                element.text = new_text
                changed = True
        return self._serialized() if changed else self.text

    def _serialized(self) -> str:
        for prefix, uri in self.namespaces:
            ET.register_namespace(prefix, uri)
        body = ET.tostring(self.root, encoding="unicode")
        return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"

    def rewrite(self, blocked: Callable[[ImageUse], bool], placeholder: str) -> tuple[str, int]:
        changed = 0
        total = 0
        for element in self.parts:
            doc = PageDoc(element.text)
            new_text, count = doc.rewrite(blocked, placeholder)
            if new_text != element.text:
                element.text = new_text
                changed += 1
                total += count
        removed: set[ET.Element] = set()
        for element, use in self.own:
            if element in removed or not blocked(use):
                continue
            parent = self.parent.get(element)
            if parent is None:
                continue  # the root itself: nothing sensible to remove
            try:
                parent.remove(element)
            except ValueError:
                continue  # already gone with an ancestor
            removed.add(element)
            changed += 1
        if not changed:
            return self.text, 0
        return self._serialized(), total
