"""Where a plugin's data came from and how fresh it is, for the pages' "last updated" line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .text import datetime_label


@dataclass
class SourceStatus:
    name: str
    kind: str  # "file" or "feed"
    updated: datetime | None  # file modification or last good fetch, in school time
    error: str | None = None  # why a feed could not be refreshed
    # The name families know it by (feeds.toml `title`, the calendar's X-WR-CALNAME, or
    # "<school> <meal>"), for notices on the pages; `name` is the feeds.toml id.
    title: str = ""

    @property
    def label(self) -> str:
        return self.title or self.name

    @property
    def updated_label(self) -> str:
        return datetime_label(self.updated) if self.updated else "never"

    @property
    def stale(self) -> bool:
        return self.error is not None


class SourcesSummary:
    """Mixin for a view with a `sources` list: the freshest source and the stale ones."""

    sources: list[SourceStatus]

    @property
    def last_updated(self) -> SourceStatus | None:
        dated = [source for source in self.sources if source.updated]
        return max(dated, key=lambda s: s.updated) if dated else None

    @property
    def stale_sources(self) -> list[SourceStatus]:
        return [source for source in self.sources if source.stale]
