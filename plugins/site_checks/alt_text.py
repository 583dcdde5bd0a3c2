"""Find images without alt text in markdown or HTML sources (no Pelican imports)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

# ![alt](src "title") and ![alt][ref]; alt text may hold escaped brackets.
_MD_IMAGE = re.compile(r"!\[(?P<alt>(?:\\.|[^\]\\])*)\](?P<target>\([^)]*\)|\[[^\]]*\])")
_HTML_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE | re.DOTALL)
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


@dataclass(frozen=True)
class MissingAlt:
    line: int
    snippet: str
    kind: str  # "markdown" or "html"

    def describe(self, path: Path | str) -> str:
        fix = (
            "describe the picture inside the brackets, e.g. ![Pupils planting beans](beans.jpg)"
            if self.kind == "markdown"
            else 'add alt="..." describing the picture (alt="" only for pure decoration)'
        )
        return f"{path}:{self.line}: image without alt text: {self.snippet} ({fix})"


class _ImgAttrs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: dict[str, str | None] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "img" and self.attrs is None:
            self.attrs = dict(attrs)

    handle_startendtag = handle_starttag


def _img_has_alt(tag: str) -> bool:
    parser = _ImgAttrs()
    parser.feed(tag)
    parser.close()
    # alt="" is the HTML way to mark a decorative image, so it counts as present.
    return parser.attrs is not None and "alt" in parser.attrs


def _mask_code(text: str) -> str:
    """The text with fenced code blocks and inline code blanked out (line breaks kept),
    so examples of image syntax in code are not reported."""
    out: list[str] = []
    in_fence = False
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            in_fence = not in_fence
            out.append("\n" if line.endswith("\n") else "")
        elif in_fence:
            out.append("\n" if line.endswith("\n") else "")
        else:
            out.append(re.sub(r"`[^`\n]*`", lambda m: " " * len(m.group()), line))
    return "".join(out)


def _snippet(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def find_missing_alt(text: str, markdown: bool = True) -> list[MissingAlt]:
    """Images in `text` that have no alt text, with 1-based line numbers, in order."""
    scanned = _mask_code(text) if markdown else text
    found: list[tuple[int, MissingAlt]] = []

    def line_of(offset: int) -> int:
        return scanned.count("\n", 0, offset) + 1

    if markdown:
        for match in _MD_IMAGE.finditer(scanned):
            if not match.group("alt").strip():
                found.append(
                    (match.start(), MissingAlt(line_of(match.start()), match.group(), "markdown"))
                )
    for match in _HTML_IMG.finditer(scanned):
        if not _img_has_alt(match.group()):
            found.append(
                (match.start(), MissingAlt(line_of(match.start()), _snippet(match.group()), "html"))
            )
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]


MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}
HTML_SUFFIXES = {".html", ".htm"}


def check_file(path: Path) -> list[MissingAlt]:
    """Images without alt text in one content file; other file types have none to check."""
    suffix = path.suffix.lower()
    if suffix not in MARKDOWN_SUFFIXES | HTML_SUFFIXES:
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    return find_missing_alt(text, markdown=suffix in MARKDOWN_SUFFIXES)
