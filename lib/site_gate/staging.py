"""Atomic builds: Pelican writes the new site into a hidden staging folder beside the
output folder, and the staging folder replaces the output folder only when the build,
consent gate included, succeeded. A build that fails, is stopped or could not write a file
leaves the last good output (and its publish manifest) exactly as it was.

The swap is two renames in one folder (output -> ``.output.previous-PID``, staging ->
output). A kill between them leaves no output folder but the last good site in
``.output.previous-PID``: the next build (and `publish`) first puts it back
(``recover``), and no build ever deletes a previous folder while the output folder is
missing.

Pelican's own file copies report a failed write (a full disk, a permission) as a warning
and go on; ``WriteFailures`` collects those warnings so the build fails instead. Pelican
also ends with exit status 0 after Ctrl-C; ``watch_interrupts`` makes an interrupted
build (SIGINT, SIGTERM) end with 130 or 143 and remove its staging folder.

Nothing here imports Pelican.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from site_common.processes import process_alive
from site_common.settings import Env, Setting

from .errors import GateError

logger = logging.getLogger(__name__)

PREFIX = "."
STAGING = ".building-"
PREVIOUS = ".previous-"
# What Pelican logs when it could not copy a file (pelican.utils.copy_file).
_WRITE_FAILURE = re.compile(
    r"problem occurred copying|No space left|Permission denied|Read-only file system"
    r"|Input/output error|Disk quota exceeded",
    re.I,
)
# Tests only: the name of a step of the swap at which the build stops and waits to be
# killed (``pause_point``), so each step can be interrupted for real.
PAUSE_AT = Setting(
    "CONSENT_GATE_TEST_PAUSE_AT",
    "",
    "Tests only: the build step (e.g. `staged`) at which the build stops and waits to be killed.",
    env=Env.ONLY,
)
PAUSE_ENV = PAUSE_AT.key


class BuildFailed(GateError):
    """The build could not finish; the last good output is untouched."""


class BuildInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the build; the last good output is untouched."""

    def __init__(self, signum: int):
        super().__init__(f"the build was stopped by {signal.Signals(signum).name}")
        self.signum = signum


def staging_folder(final: Path) -> Path:
    return final.parent / f"{PREFIX}{final.name}{STAGING}{os.getpid()}"


def _leftovers(final: Path, kind: str) -> list[tuple[Path, int]]:
    """(folder, pid) of the staging or previous folders beside `final`."""
    pattern = re.compile(rf"^{re.escape(PREFIX + final.name + kind)}(\d+)$")
    if not final.parent.is_dir():
        return []
    found = []
    for entry in final.parent.iterdir():
        match = pattern.match(entry.name)
        if match and entry.is_dir():
            found.append((entry, int(match.group(1))))
    return found


def recover(final: Path) -> bool:
    """Put the last good site back when a swap was killed between its two renames (the
    output folder missing, the old site in ``.output.previous-PID`` of a dead build).
    Returns whether it did."""
    final = Path(final)
    if final.exists():
        return False
    previous = [
        (folder, pid)
        for folder, pid in _leftovers(final, PREVIOUS)
        if pid == os.getpid() or not process_alive(pid)
    ]
    if not previous:
        return False
    folder, _ = max(previous, key=lambda item: item[0].stat().st_mtime_ns)
    os.rename(folder, final)
    logger.warning(
        "%s was missing (a build was stopped while replacing it): the last good site was "
        "put back from %s",
        final,
        folder.name,
    )
    return True


def clear_leftovers(final: Path) -> None:
    """Remove staging folders of builds that died (their process is gone), and their
    previous sites once the output folder is in place again (never before)."""
    recover(final)
    kinds = [STAGING] + ([PREVIOUS] if Path(final).exists() else [])
    for kind in kinds:
        for folder, pid in _leftovers(Path(final), kind):
            if pid == os.getpid() or not process_alive(pid):
                shutil.rmtree(folder, ignore_errors=True)


def start(final: Path) -> Path:
    """A new, empty staging folder for a build whose output is `final`."""
    final = Path(final)
    clear_leftovers(final)
    staging = staging_folder(final)
    staging.mkdir(parents=True)
    _building["staging"] = staging
    pause_point("staged")
    return staging


def pause_point(step: str) -> None:
    """Tests only: with PAUSE_ENV naming `step`, say so on stderr and wait to be killed."""
    if PAUSE_AT.from_environment() != step:
        return
    print(f"paused at {step}", file=sys.stderr, flush=True)
    while True:  # short naps: a signal is handled between them
        time.sleep(0.05)


def promote(
    staging: Path,
    final: Path,
    retention: tuple[str, ...] = (),
    manifest: tuple[Path, Path] | None = None,
) -> None:
    """Replace `final` by `staging` (two renames in one folder), keeping the entries
    Pelican's OUTPUT_RETENTION names (such as a .git folder). A kill at any point leaves
    the old site or the new one, in `final` or where ``recover`` finds it.

    `manifest`: (the new publish manifest, already written to a temp file; its path). It
    replaces the old one right after the renames, with Ctrl-C and SIGTERM held until all
    three are done. A SIGKILL between the renames leaves the old site (``recover``) with
    its own manifest; after them, the new site with the old manifest, which passes none of
    the new site's changed files (publish refuses them) until the next build."""
    final = Path(final)
    previous = final.parent / f"{PREFIX}{final.name}{PREVIOUS}{os.getpid()}"
    pause_point("before-swap")
    # Ctrl-C and SIGTERM wait until both renames are done (SIGKILL cannot: ``recover``).
    blocked = {signal.SIGINT, signal.SIGTERM}
    masked = threading.current_thread() is threading.main_thread()
    if masked:
        signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        if final.exists():
            for name in retention:
                if (final / name).exists() and not (staging / name).exists():
                    os.rename(final / name, staging / name)
            os.rename(final, previous)
            pause_point("between-renames")
        os.rename(staging, final)
        _building.pop("staging", None)
        if manifest is not None:
            os.replace(manifest[0], manifest[1])
    finally:
        if masked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)
    pause_point("after-swap")
    shutil.rmtree(previous, ignore_errors=True)


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    if _building.get("staging") == Path(staging):
        _building.pop("staging", None)


# ---------------------------------------------------------------------------- interrupts

_building: dict[str, Path] = {}  # the staging folder of the build under way
_stopped: dict[str, int] = {}  # the signal that stopped this build


def watch_interrupts() -> None:
    """Make SIGINT and SIGTERM stop the build with exit status 130 / 143.

    The handler raises ``BuildInterrupted`` (a KeyboardInterrupt, which no `except
    Exception` in Pelican or a plugin swallows) and remembers the signal; Pelican catches
    it and would end with 0, so the process ends, at exit, with 128 + the signal after its
    staging folder is removed. Called from the main thread; a second call does nothing."""
    if _stopped.get("watching") or threading.current_thread() is not threading.main_thread():
        return
    owner = os.getpid()

    def stop(signum, frame):
        if os.getpid() != owner:  # a forked worker: stop as it would have
            raise KeyboardInterrupt
        _stopped.setdefault("signal", signum)
        raise BuildInterrupted(signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    atexit.register(_exit_if_interrupted, owner)
    _stopped["watching"] = 1


def interrupted() -> int | None:
    """The signal that stopped this build, if one did."""
    return _stopped.get("signal")


def _exit_if_interrupted(owner: int) -> None:
    """At exit: remove the staging folder of a build that did not finish, and end an
    interrupted build with 128 + the signal."""
    if os.getpid() != owner:
        return
    staging = _building.pop("staging", None)
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)
    signum = _stopped.get("signal")
    if signum is None:
        return
    print(
        f"pelican: the build was stopped ({signal.Signals(signum).name}): nothing was "
        "replaced; the last good output and its publish manifest are as they were",
        file=sys.stderr,
    )
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(128 + signum)


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
