"""Where a feed plugin's data folder and cache live, from its settings."""

from __future__ import annotations

from pathlib import Path

from .text import slugify


def data_dir(settings: dict, key: str) -> Path:
    return Path(settings["PATH"]) / settings[key]


def cache_dir(settings: dict, key: str) -> Path:
    """The setting, or `.cache/feeds` beside the content folder (git-ignored)."""
    configured = settings.get(key)
    if configured:
        return Path(configured)
    return Path(settings["PATH"]).resolve().parent / ".cache" / "feeds"


def uid_domain(settings: dict, key: str) -> str:
    return settings.get(key) or f"{slugify(settings.get('SITENAME', 'school')) or 'school'}.site"
