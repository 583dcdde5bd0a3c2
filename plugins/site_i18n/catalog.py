"""The theme's message catalogues: ``<theme>/translations/<lang>/LC_MESSAGES/messages.po``,
read with Babel and compiled in memory at build time (no .mo file is kept in git or in
the output). A catalogue that cannot be read stops the build with its path; a message
without a translation falls back to English.

Nothing here imports Pelican.
"""

from __future__ import annotations

import functools
import io
import os
import re
from pathlib import Path

from site_common.errors import SiteError

DOMAIN = "messages"


class CatalogError(SiteError, ValueError):
    """A catalogue exists but cannot be read."""


@functools.cache
def catalog_path(theme: str | Path, lang: str) -> Path:
    # Cached: every translated string of every page asks (5,000 times on the sample
    # site, 0.17 s of path building uncached).
    return Path(theme) / "translations" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


# A keyword line or a continuation line: its text must be one quoted string. Babel reads
# an unterminated string without a word ("Buscar -> "Busca"), so it is checked here first.
_PO_LINE = re.compile(r'^(?:(?:msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+)?"(.*)"\s*$')
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_QUOTED = re.compile(r'^(?:[^"\\]|\\.)*$')


def _line_problem(text: str) -> str | None:
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _PO_LINE.match(stripped)
        if match is None or _QUOTED.match(match.group(1)) is None:
            return f"line {number}: {stripped[:60]!r} is not a keyword and one quoted string"
    return None


def _read_error(path: str, problem: str) -> CatalogError:
    return CatalogError(
        f"{path}: the translation catalogue cannot be used ({problem}); fix that line and "
        "rebuild (README, 'Translations')"
    )


@functools.cache
def _load(path: str, mtime_ns: int) -> dict[str, str | tuple[str, ...]]:
    from babel.messages.pofile import PoFileError, read_po

    try:
        with open(path, "rb") as handle:
            data = handle.read()
        problem = _line_problem(data.decode("utf-8"))
        if problem:
            raise _read_error(path, problem)
        catalog = read_po(io.BytesIO(data), abort_invalid=True)
    except (OSError, PoFileError, UnicodeDecodeError) as exc:
        raise _read_error(path, str(exc)) from exc
    # A translation whose %(name)s placeholders differ from the English would break the
    # page it is on (Babel's own check lets a translation drop all of them).
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        wanted = set(_PLACEHOLDER.findall(ids[0]))
        for string in strings:
            if string and set(_PLACEHOLDER.findall(string)) != wanted:
                raise _read_error(
                    path,
                    f"the translation of {ids[0]!r} must use the placeholders "
                    f"{', '.join(sorted(wanted)) or 'none'}, as the English does",
                )
    messages: dict[str, str | tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        key = message.id[0] if isinstance(message.id, tuple | list) else message.id
        if isinstance(message.string, tuple | list):
            if all(message.string):
                messages[key] = tuple(message.string)
        elif message.string:
            messages[key] = message.string
    return messages


def messages(theme: str | Path, lang: str) -> dict[str, str | tuple[str, ...]]:
    """msgid -> translation for `lang` (empty when there is no catalogue)."""
    path = str(catalog_path(theme, lang))
    try:
        mtime = os.stat(path).st_mtime_ns  # a changed catalogue is read again (devserver)
    except FileNotFoundError:
        return {}
    return _load(path, mtime)


def gettext(theme: str | Path, lang: str, message: str) -> str:
    found = messages(theme, lang).get(message)
    return found if isinstance(found, str) else message


def ngettext(theme: str | Path, lang: str, singular: str, plural: str, n: int) -> str:
    found = messages(theme, lang).get(singular)
    if isinstance(found, tuple):
        from babel import Locale

        # English and Spanish catalogues have two forms: "one", then everything else.
        index = 0 if Locale.parse(lang).plural_form(n) == "one" else 1
        return found[min(index, len(found) - 1)]
    return singular if n == 1 else plural
