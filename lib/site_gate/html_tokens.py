"""An HTML tokenizer and tree builder that follow the HTML standard's tokenizer states
closely enough that where a browser sees a tag, this sees one (``html_rewrite`` says why it
is written here), keeping every element's source position."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.entities import html5 as _HTML5_ENTITIES

VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr", "frame", "keygen", "basefont", "bgsound", "image"}
)


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


class TreeBuilder:
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
