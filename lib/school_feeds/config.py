"""The drop-in folder: data files plus an optional feeds.toml naming remote feeds.

feeds.toml (all keys optional except a feed's name and url):

    [[feed]]
    name = "high-school-lunch"      # used in messages and cache file names
    url = "https://..."             # {year} {month} {day} become the Monday of each week shown
    format = "nutrislice"           # lunch: nutrislice | csv | ics; athletics: ics | csv
    timeout = 10                    # seconds
    school = "Cedar Hollow School"  # any other string keys are labels for the parser

    [files."breakfast-*.csv"]       # labels for local files (a name or a pattern)
    meal = "Breakfast"
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_NAME = "feeds.toml"
SKIPPED_NAMES = {CONFIG_NAME, "README.md", "README.txt", ".gitkeep"}


@dataclass(frozen=True)
class FeedSource:
    name: str
    url: str
    format: str
    timeout: float
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class FolderConfig:
    feeds: list[FeedSource] = field(default_factory=list)
    file_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def labels_for(self, path: Path) -> dict[str, str]:
        """Labels from [files."name"]; the name may be a pattern such as "lunch-*.json"."""
        if path.name in self.file_labels:
            return self.file_labels[path.name]
        for pattern, labels in self.file_labels.items():
            if fnmatch.fnmatch(path.name, pattern):
                return labels
        return {}


def _labels(table: dict, where: str, problems: list[str]) -> dict[str, str]:
    labels = {}
    for key, value in table.items():
        if key in {"name", "url", "format", "timeout"}:
            continue
        if isinstance(value, str):
            labels[key] = value
        else:
            problems.append(f"{where}: {key} must be text in quotes, not {value!r}")
    return labels


def read_folder(
    folder: Path, formats: dict[str, str], default_timeout: float = 10.0
) -> FolderConfig:
    """List the data files in `folder` and read its feeds.toml.

    `formats` maps file suffixes (".json") to format names; other files are reported.
    """
    config = FolderConfig()
    if not folder.is_dir():
        return config
    config_path = folder / CONFIG_NAME
    if config_path.exists():
        _read_config(config_path, set(formats.values()), default_timeout, config)
    for path in sorted(folder.iterdir()):
        if path.name in SKIPPED_NAMES or path.name.startswith((".", "_")) or path.is_dir():
            continue
        if path.suffix.lower() in formats:
            config.files.append(path)
        else:
            known = ", ".join(sorted(formats))
            config.problems.append(
                f"{path}: skipped, the file type {path.suffix or '(none)'!r} is not one of {known}"
            )
    return config


def _read_config(
    path: Path, known_formats: set[str], default_timeout: float, config: FolderConfig
) -> None:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        config.problems.append(f"{path}: not valid TOML ({exc}); no feeds were fetched")
        return
    feeds = data.get("feed", [])
    if not isinstance(feeds, list):
        config.problems.append(f"{path}: write each feed as a [[feed]] table")
        feeds = []
    seen = set()
    for number, table in enumerate(feeds, start=1):
        where = f"{path} feed #{number}"
        name, url = table.get("name"), table.get("url")
        fmt = str(table.get("format", "")).lower()
        if not isinstance(name, str) or not isinstance(url, str) or not name or not url:
            config.problems.append(f'{where}: needs both name = "..." and url = "..."')
            continue
        if fmt not in known_formats:
            choices = ", ".join(sorted(known_formats))
            config.problems.append(f"{where} ({name}): format must be one of {choices}")
            continue
        if not url.startswith(("https://", "http://")):
            config.problems.append(f"{where} ({name}): url must start with https://")
            continue
        if name in seen:
            config.problems.append(f"{where}: the name {name!r} is used twice")
            continue
        timeout = table.get("timeout", default_timeout)
        if not isinstance(timeout, int | float) or not 0 < timeout <= 120:
            config.problems.append(f"{where} ({name}): timeout must be 1-120 seconds")
            timeout = default_timeout
        seen.add(name)
        labels = _labels(table, where, config.problems)
        config.feeds.append(FeedSource(name, url, fmt, float(timeout), labels))
    files = data.get("files", {})
    if isinstance(files, dict):
        for file_name, table in files.items():
            if isinstance(table, dict):
                where = f"{path} [files.{file_name!r}]"
                config.file_labels[file_name] = _labels(table, where, config.problems)
