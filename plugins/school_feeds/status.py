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

    @property
    def updated_label(self) -> str:
        return datetime_label(self.updated) if self.updated else "never"

    @property
    def stale(self) -> bool:
        return self.error is not None
