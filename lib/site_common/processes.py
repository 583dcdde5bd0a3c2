"""Processes: whether one still runs, and a watchdog that stops one when its owner is gone.
Nothing here imports another package of the project: the watchdog runs this module's own
source as a script (``watchdog_command``), so it needs nothing importable."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path


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


def stop_when_stdin_closes(pid: int, grace: float = 10.0) -> None:
    """The watchdog's work: wait for EOF on stdin, a pipe only the owner holds open (EOF:
    it exited, crashed or was killed), then stop `pid`: SIGTERM, SIGKILL after `grace`
    seconds."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdin.buffer.read()
    with contextlib.suppress(ProcessLookupError):
        if process_alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)


def watchdog_command(pid: int) -> list[str]:
    """The command of a small process that runs ``stop_when_stdin_closes(pid)``: this
    module's source, run by the same Python, so it imports nothing of the project."""
    source = Path(__file__).read_text(encoding="utf-8")
    return [sys.executable, "-c", f"{source}\nstop_when_stdin_closes({int(pid)})\n"]
