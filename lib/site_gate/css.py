"""Find the pictures a style sheet loads, and blank the withheld ones in place.

A browser reads CSS with the CSS Syntax tokenizer, so this does too, as far as pictures
go: comments, strings with their escapes, and function names with escapes
(``\\75 rl(face.jpg)`` is ``url(face.jpg)``) are read the way a browser reads them. What
loads a picture (or more CSS that may): ``url(...)`` in any spelling, the strings inside
``image-set()``, ``-webkit-image-set()``, ``image()``, ``src()`` and ``cross-fade()``,
``@import "..."``, and any other string holding an absolute address (a custom property
that ``image-set(var(--x))`` uses).

A blocked reference becomes ``none`` (an ``image-set()`` holding one goes whole); every
other byte of the sheet stays as written, so a sheet with nothing blocked is unchanged.

Nothing here imports Pelican.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Functions whose string arguments are picture URLs (a url() inside any function counts too).
IMAGE_FUNCTIONS = frozenset({"image-set", "-webkit-image-set", "image", "-webkit-image", "src"})
IMAGE_FUNCTIONS |= {"cross-fade", "-webkit-cross-fade"}
_URL_FUNCTIONS = frozenset({"url", "src"})

_ESCAPE = r"\\(?:[0-9a-fA-F]{1,6}[ \t\n\r\f]?|[^\n\r\f0-9a-fA-F]|$)"
_NAME = rf"(?:[-\w\u0080-\U0010ffff]|{_ESCAPE})+"
_TOKEN = re.compile(
    r"(?P<comment>/\*)"
    r"|(?P<quote>[\"'])"
    rf"|(?P<func>{_NAME})\("
    rf"|@(?P<at>{_NAME})"
    r"|(?P<escape>\\.)"
    r"|(?P<open>[(\[{])"
    r"|(?P<close>[)\]}])"
    r"|(?P<semi>;)",
    re.S,
)
_UNESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\n\r\f]?|(\r\n|[\n\r\f])|(.))", re.S)
_WS = " \t\n\r\f"
# An absolute address in a CSS string: another host, or a picture written into it.
_ABSOLUTE_URL = re.compile(r"[\s]*(?:(?:https?|ftp|blob|data|filesystem):|//|\\\\)", re.I)


@dataclass(frozen=True)
class CssUrl:
    """One picture reference in a style sheet.

    ``start``/``end`` is the span a blocked reference replaces with ``none``: the whole
    ``url(...)`` token, the whole ``image-set(...)`` around a string, or an ``@import``'s
    string."""

    url: str
    kind: str  # "css" (url(), image-set() ...) or "css-import"
    start: int
    end: int


def unescape_css(value: str) -> str:
    """CSS escapes decoded: ``\\66 ace`` is ``face``, ``\\.`` is ``.``, an escaped newline
    (a line continuation in a string) is nothing."""

    def replace(match: re.Match) -> str:
        hex_digits, newline, char = match.groups()
        if hex_digits is not None:
            code = int(hex_digits, 16)
            if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                return "\ufffd"
            return chr(code)
        if newline is not None:
            return ""
        return char

    return _UNESCAPE.sub(replace, value)


def _string_end(text: str, start: int) -> int:
    """The offset after a string that opens at `start` (an unescaped newline ends it)."""
    quote = text[start]
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == "\\":
            position += 2
            continue
        if char == quote:
            return position + 1
        if char in "\n\r\f":
            return position  # a bad string: it ends before the newline
        position += 1
    return len(text)


def _url_token_end(text: str, start: int) -> int:
    """The offset after the ``)`` closing an unquoted url( that starts at `start`."""
    position = start
    while position < len(text):
        char = text[position]
        if char == "\\":
            position += 2
            continue
        if char == ")":
            return position + 1
        position += 1
    return len(text)


@dataclass(eq=False)
class _Frame:
    name: str | None  # lowercased function name, or None for a plain bracket
    start: int
    image: _Frame | None  # the outermost image function around (or at) this one


def css_urls(text: str) -> list[CssUrl]:
    """Every picture reference in a style sheet (or a style attribute's value), in order."""
    found: list[CssUrl] = []
    stack: list[_Frame] = []
    # Strings whose replaced span ends where a function closes: (url, kind, that function).
    pending: list[tuple[str, str, _Frame]] = []
    import_open = False
    position = 0
    length = len(text)

    def kind_now() -> str:
        return "css-import" if import_open and all(f.name == "url" for f in stack) else "css"

    while position < length:
        match = _TOKEN.search(text, position)
        if match is None:
            break
        token = match.lastgroup
        if token == "comment":
            close = text.find("*/", match.end())
            position = length if close < 0 else close + 2
            continue
        if token == "quote":
            end = _string_end(text, match.start())
            value = unescape_css(text[match.start() + 1 : end].rstrip(text[match.start()]))
            top = stack[-1] if stack else None
            if top is not None and top.image is not None:
                pending.append((value, kind_now(), top.image))
            elif top is not None and top.name in _URL_FUNCTIONS:
                pending.append((value, kind_now(), top))
            elif import_open and not stack:
                found.append(CssUrl(value, "css-import", match.start(), end))
                import_open = False
            elif _ABSOLUTE_URL.match(value):
                # Any absolute address in a string (a custom property that an image-set()
                # uses by var(), a content: value) may name a picture.
                found.append(CssUrl(value, "css", match.start(), end))
            position = end
            continue
        if token == "func":
            name = unescape_css(match.group("func")).lower()
            image = stack[-1].image if stack else None
            if name == "url":
                after = match.end()
                while after < length and text[after] in _WS:
                    after += 1
                if after >= length or text[after] not in "\"'":
                    end = _url_token_end(text, after)
                    url = unescape_css(text[after:end].removesuffix(")").strip(_WS))
                    if image is not None:
                        pending.append((url, "css", image))
                    else:
                        found.append(CssUrl(url, kind_now(), match.start(), end))
                        import_open = False
                    position = end
                    continue
            frame = _Frame(name, match.start(), image)
            if image is None and name in IMAGE_FUNCTIONS:
                frame.image = frame
            stack.append(frame)
            position = match.end()
            continue
        if token == "at":
            import_open = unescape_css(match.group("at")).lower() == "import"
        elif token == "open":
            stack.append(_Frame(None, match.start(), stack[-1].image if stack else None))
        elif token == "close" and stack:
            frame = stack.pop()
            waiting = [entry for entry in pending if entry[2] is frame]
            for url, kind, _frame in waiting:
                found.append(CssUrl(url, kind, frame.start, match.end()))
            if waiting:
                pending = [entry for entry in pending if entry[2] is not frame]
                if frame.name == "url" and not stack:
                    import_open = False
        elif token == "semi" and not stack:
            import_open = False
        position = match.end()
    # A function still open at the end of the sheet: a browser closes it there.
    for url, kind, frame in pending:
        found.append(CssUrl(url, kind, frame.start, length))
    found.sort(key=lambda use: use.start)
    return found


def rewrite_css(text: str, blocked: Iterable[CssUrl]) -> tuple[str, int]:
    """The sheet with every blocked reference replaced by ``none``; (text, replacements)."""
    spans = sorted({(use.start, use.end) for use in blocked})
    if not spans:
        return text, 0
    pieces = []
    position = 0
    count = 0
    for start, end in spans:
        if start < position:
            continue  # inside an image-set() already replaced
        pieces.append(text[position:start])
        pieces.append("none")
        position = end
        count += 1
    pieces.append(text[position:])
    return "".join(pieces), count


def rewrite_css_where(text: str, blocked: Callable[[CssUrl], bool]) -> tuple[str, int]:
    """`rewrite_css` for the references `blocked` says no to, read again until none is
    left: in a broken sheet a blanked string can change how the rest reads (fuzzing found
    such sheets). Raises ValueError when a blocked reference survives every pass."""
    total = 0
    for _ in range(_REWRITE_PASSES):
        found = [use for use in css_urls(text) if blocked(use)]
        if not found:
            return text, total
        text, count = rewrite_css(text, found)
        total += count
    if any(blocked(use) for use in css_urls(text)):
        raise ValueError(
            f"a withheld picture is still loaded after {_REWRITE_PASSES} rewrites of a style "
            "sheet with broken syntax; fix the sheet so the picture can be replaced"
        )
    return text, total


# Rewrites of one sheet before giving up: 90,000 fuzzed broken sheets needed two at most.
_REWRITE_PASSES = 4
