"""Site search settings: every SEARCH_* setting is a field of ``SearchSettings`` (key,
default and doc line), read through the one loader (``site_common.settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from site_common import settings as loader
from site_common.settings import SettingsError, setting

# Pages that list or repeat other pages, or are not content at all: a search for a word
# should land on the article that says it, not on the tag page that lists the article.
# Matched (fnmatch, `*` crosses folders) against the path in the output, with and without
# a language folder such as `es/`. Pages marked `<meta name="robots" content="noindex">`
# are left out too.
DEFAULT_EXCLUDE = (
    "index.html",
    "404.html",
    "search/*",
    "news/index.html",
    "news/page/*",
    "news/tag/*",
    "news/tags/*",
    "news/category/*",
    "news/categories/*",
    "news/archive/*",
    "theme/*",
    "pagefind/*",
)


@dataclass(frozen=True)
class SearchSettings:
    enabled: bool = setting(
        "SEARCH_ENABLED",
        True,
        "The search box, the search page and the Pagefind index.",
        field_default=True,
    )
    # False leaves the bundle for the gate to decide file by file (each refused file
    # withheld with its own warning): for trying a new gate rule.
    gate_check: bool = setting(
        "SEARCH_GATE_CHECK",
        True,
        "Before the gate runs, leave search out (one warning) when the gate would refuse "
        "a file of its bundle.",
        field_default=True,
    )
    bundle_dir: str = setting(
        "SEARCH_BUNDLE_DIR",
        "pagefind",
        "The folder of the search bundle (index, pagefind.js) inside the output.",
        field_default="pagefind",
    )
    exclude: tuple[str, ...] = setting(
        "SEARCH_EXCLUDE",
        DEFAULT_EXCLUDE,
        "Output paths (fnmatch, `*` crosses folders) left out of the index.",
        field_default=DEFAULT_EXCLUDE,
    )
    # Languages whose pages live in a folder of their own (`es/...`): Pelican's
    # I18N_LANGUAGES.
    languages: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object] | None = None) -> SearchSettings:
        settings = settings or {}
        raw = loader.load(cls, settings)
        bundle = str(raw["SEARCH_BUNDLE_DIR"]).strip("/")
        if not bundle or ".." in bundle.split("/"):
            raise SettingsError(
                f"SEARCH_BUNDLE_DIR = {bundle!r} is not a folder inside the output: use a "
                "plain name such as 'pagefind'"
            )
        return cls(
            enabled=bool(raw["SEARCH_ENABLED"]),
            gate_check=bool(raw["SEARCH_GATE_CHECK"]),
            bundle_dir=bundle,
            exclude=tuple(raw["SEARCH_EXCLUDE"]),
            languages=tuple(settings.get("I18N_LANGUAGES") or {}),
        )
