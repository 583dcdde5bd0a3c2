"""Find team pages and team calendars an earlier build left in the output folder.

Only files this plugin writes are candidates: a page matching ATHLETICS_TEAM_SAVE_AS whose
HTML carries the team-page marker, and a calendar matching ATHLETICS_TEAM_CALENDAR_SAVE_AS.
"""

from __future__ import annotations

from pathlib import Path

from .settings import AthleticsSettings

TEAM_PAGE_MARKER = b"athletics-team"


def _glob(pattern: str) -> str:
    return pattern.replace("{slug}", "*")


def stale_team_files(
    output: Path, config: AthleticsSettings, current_pages: set[Path], calendars: set[Path]
) -> list[Path]:
    stale = []
    if "{slug}" in config.team_save_as:
        for path in output.glob(_glob(config.team_save_as)):
            if path in current_pages or not path.is_file():
                continue
            if TEAM_PAGE_MARKER in path.read_bytes()[:20000]:
                stale.append(path)
    if config.team_calendar_save_as and "{slug}" in config.team_calendar_save_as:
        for path in output.glob(_glob(config.team_calendar_save_as)):
            if path.is_file() and path not in calendars:
                stale.append(path)
    return sorted(stale)
