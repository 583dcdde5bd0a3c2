"""Site search settings (``SEARCH_*``): every default in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

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
    enabled: bool = True
    # Before the gate runs, ask its rules whether it would pass every file of the bundle,
    # and leave search out of the build (one warning) when it would not. False leaves the
    # bundle for the gate to decide file by file (each refused file withheld with its own
    # warning): for trying a new gate rule.
    gate_check: bool = True
    # The folder of the search bundle (index, pagefind.js) inside the output.
    bundle_dir: str = "pagefind"
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    # Languages whose pages live in a folder of their own (`es/...`).
    languages: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object] | None = None) -> SearchSettings:
        settings = settings or {}
        names = {
            "enabled": "SEARCH_ENABLED",
            "gate_check": "SEARCH_GATE_CHECK",
            "bundle_dir": "SEARCH_BUNDLE_DIR",
            "exclude": "SEARCH_EXCLUDE",
        }
        values = {}
        for field in fields(cls):
            key = names.get(field.name)
            if key and key in settings:
                values[field.name] = settings[key]
        values["enabled"] = bool(values.get("enabled", True))
        values["gate_check"] = bool(values.get("gate_check", True))
        values["exclude"] = tuple(values.get("exclude", DEFAULT_EXCLUDE))
        bundle = str(values.get("bundle_dir", "pagefind")).strip("/")
        if not bundle or ".." in bundle.split("/"):
            raise ValueError(
                f"SEARCH_BUNDLE_DIR = {bundle!r} is not a folder inside the output: use a "
                "plain name such as 'pagefind'"
            )
        values["bundle_dir"] = bundle
        translations = settings.get("I18N_LANGUAGES") or {}
        values["languages"] = tuple(translations)
        return cls(**values)
