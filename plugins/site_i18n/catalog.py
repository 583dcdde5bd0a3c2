"""The theme's message catalogues: ``<theme>/translations/<lang>/LC_MESSAGES/messages.po``,
read with Babel and compiled in memory at build time (no .mo file is kept in git or in
the output). A catalogue that cannot be read stops the build with its path; a message
without a translation falls back to English.

Nothing here imports Pelican.
"""

from __future__ import annotations

import functools
from pathlib import Path

DOMAIN = "messages"


class CatalogError(ValueError):
    """A catalogue exists but cannot be read."""


def catalog_path(theme: str | Path, lang: str) -> Path:
    return Path(theme) / "translations" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def _load(path: str, mtime_ns: int) -> dict[str, str | tuple[str, ...]]:
    from babel.messages.pofile import PoFileError, read_po

    try:
        with open(path, "rb") as handle:
            catalog = read_po(handle, abort_invalid=True)
    except (OSError, PoFileError, ValueError) as exc:
        raise CatalogError(
            f"{path}: the translation catalogue cannot be read ({exc}); fix the line it names "
            "(`uv run pybabel compile -d themes/school/translations --statistics` shows the "
            "errors) and rebuild"
        ) from exc
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
    path = catalog_path(theme, lang)
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return {}
    return _load(str(path), mtime)


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
