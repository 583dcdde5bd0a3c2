"""Atomic builds: Pelican writes the new site into a hidden staging folder beside the
output folder, and the staging folder replaces the output folder only when the build,
consent gate included, succeeded. A build that fails, is stopped or could not write a file
leaves the last good output (and its publish manifest) exactly as it was.

Pelican's own file copies report a failed write (a full disk, a permission) as a warning
and go on; ``WriteFailures`` collects those warnings so the build fails instead.

Nothing here imports Pelican.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from pathlib import Path

PREFIX = "."
STAGING = ".building-"
PREVIOUS = ".previous-"
# What Pelican logs when it could not copy a file (pelican.utils.copy_file).
_WRITE_FAILURE = re.compile(r"problem occurred copying|No space left|Permission denied", re.I)


class BuildFailed(RuntimeError):
    """The build could not finish; the last good output is untouched."""


def staging_folder(final: Path) -> Path:
    return final.parent / f"{PREFIX}{final.name}{STAGING}{os.getpid()}"


def process_alive(pid: int) -> bool:
    """Whether a process runs (a zombie, finished but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of someone else still answers signal 0; check its state.
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


def clear_leftovers(final: Path) -> None:
    """Remove staging folders of builds that died (their process is gone)."""
    pattern = re.compile(
        rf"^{re.escape(PREFIX + final.name)}(?:{re.escape(STAGING)}|{re.escape(PREVIOUS)})(\d+)$"
    )
    if not final.parent.is_dir():
        return
    for entry in final.parent.iterdir():
        match = pattern.match(entry.name)
        if match and (int(match.group(1)) == os.getpid() or not process_alive(int(match.group(1)))):
            shutil.rmtree(entry, ignore_errors=True)


def start(final: Path) -> Path:
    """A new, empty staging folder for a build whose output is `final`."""
    final = Path(final)
    clear_leftovers(final)
    staging = staging_folder(final)
    staging.mkdir(parents=True)
    return staging


def promote(staging: Path, final: Path, retention: tuple[str, ...] = ()) -> None:
    """Replace `final` by `staging` (two renames in one folder), keeping the entries
    Pelican's OUTPUT_RETENTION names (such as a .git folder)."""
    final = Path(final)
    previous = final.parent / f"{PREFIX}{final.name}{PREVIOUS}{os.getpid()}"
    if final.exists():
        for name in retention:
            if (final / name).exists() and not (staging / name).exists():
                os.rename(final / name, staging / name)
        os.rename(final, previous)
    os.rename(staging, final)
    shutil.rmtree(previous, ignore_errors=True)


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


class WriteFailures(logging.Handler):
    """Collects the write failures Pelican only warns about."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is not a write failure
            return
        if _WRITE_FAILURE.search(message):
            self.failures.append(message)

    def check(self) -> None:
        if self.failures:
            raise BuildFailed(
                f"the build could not write {len(self.failures)} file(s) ({self.failures[0]}). "
                "Free disk space or fix the folder's permissions and rebuild; the site in the "
                "output folder and the published site were left as they were"
            )
