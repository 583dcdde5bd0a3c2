"""Images inside Atom and RSS feeds: their entries carry article HTML as escaped text.

A withheld photo is removed from the feed entries too (placeholder in its place), so feed
readers neither show a broken image nor keep the photo's description.

Nothing here imports Pelican.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Callable

from .html_rewrite import ImageUse, PageDoc, scan_uses

# Elements whose text is HTML: Atom content/summary, RSS description, content:encoded.
_HTML_ELEMENTS = ("content", "summary", "description", "encoded")


class FeedDoc:
    """A parsed feed and the HTML of its entries."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.namespaces: list[tuple[str, str]] = []
        for _event, (prefix, uri) in ET.iterparse(io.StringIO(text), events=("start-ns",)):
            self.namespaces.append((prefix, uri))
        self.root = ET.fromstring(text)
        # Entries are parsed as HTML only when one of them needs a rewrite.
        self.parts: list[ET.Element] = [
            element
            for element in self.root.iter()
            if element.tag.rsplit("}", 1)[-1] in _HTML_ELEMENTS
            and element.text
            and "<" in element.text
        ]

    @property
    def uses(self) -> list[ImageUse]:
        return [use for element in self.parts for use in scan_uses(element.text)]

    def rewrite(self, blocked: Callable[[ImageUse], bool], placeholder: str) -> tuple[str, int]:
        changed = 0
        total = 0
        for element in self.parts:
            if not any(blocked(use) for use in scan_uses(element.text)):
                continue
            new_text, count = PageDoc(element.text).rewrite(blocked, placeholder)
            if new_text != element.text:
                element.text = new_text
                changed += 1
                total += count
        if not changed:
            return self.text, 0
        for prefix, uri in self.namespaces:
            ET.register_namespace(prefix, uri)
        body = ET.tostring(self.root, encoding="unicode")
        return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n", total
