"""Find `[name args]` shortcodes in rendered page HTML and parse their arguments.

A shortcode stands alone in its own paragraph of the source (Markdown wraps it in <p>),
so its output (tables, sections) can replace the whole paragraph. Written in `code`
it is shown as text instead.
"""

from __future__ import annotations

import html
import re
import shlex
from collections.abc import Callable

QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})


def shortcode_pattern(names: list[str]) -> re.Pattern:
    alternatives = "|".join(re.escape(name) for name in names)
    return re.compile(
        rf"<p>\s*\[(?P<name>{alternatives})(?P<args>(?:\s[^\]]*)?)\]\s*</p>"
        rf"|^\[(?P<bare>{alternatives})(?P<bare_args>(?:\s[^\]]*)?)\]\s*$",
        re.MULTILINE,
    )


def parse_args(raw: str) -> tuple[list[str], dict[str, str]]:
    """'2026-09-14 school="Cedar Hollow"' -> (["2026-09-14"], {"school": "Cedar Hollow"})."""
    text = html.unescape(raw).translate(QUOTES)
    try:
        tokens = shlex.split(text)
    except ValueError:  # an unbalanced quote: fall back to plain words
        tokens = text.split()
    positional, named = [], {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if sep and key.replace("-", "").replace("_", "").isalnum():
            named[key.lower().replace("-", "_")] = value
        else:
            positional.append(token)
    return positional, named


def replace_shortcodes(
    content: str,
    names: list[str],
    render: Callable[[str, list[str], dict[str, str]], str | None],
) -> str:
    """Replace each shortcode with `render(...)`; None leaves that shortcode as it is."""
    pattern = shortcode_pattern(names)

    def substitute(match: re.Match) -> str:
        name = match.group("name") or match.group("bare")
        raw = match.group("args") if match.group("name") else match.group("bare_args")
        positional, named = parse_args(raw or "")
        result = render(name, positional, named)
        return match.group(0) if result is None else result

    return pattern.sub(substitute, content)


EMBED_BLOCK = re.compile(
    r"(?:<p>\s*)?\[embed(?P<args>(?:\s[^\]]*)?)\]\s*(?:</p>)?"
    r"(?P<body>.*?)"
    r"(?:<p>\s*)?\[/embed\]\s*(?:</p>)?",
    re.DOTALL,
)
