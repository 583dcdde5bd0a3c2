"""Processes: whether one still runs, stopping one, and a watchdog that stops one when its
owner is gone.
Nothing here imports another package of the project: the watchdog runs this module's own
source as a script (``watchdog_command``), so it needs nothing importable."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
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


def stop_process(pid: int, timeout: float = 15.0, process: subprocess.Popen | None = None) -> None:
    """SIGTERM, wait up to `timeout` (a server may flush its files first), then SIGKILL.
    `process`: our own child of that pid, reaped here."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                return
        elif not process_alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if process is not None:
        process.wait(timeout=10)


def stop_when_stdin_closes(pid: int, timeout: float = 10.0) -> None:
    """The watchdog's work: wait for EOF on stdin, a pipe only the owner holds open (EOF:
    it exited, crashed or was killed), then stop `pid` (``stop_process``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdin.buffer.read()
    if process_alive(pid):
        stop_process(pid, timeout)


def watchdog_command(pid: int) -> list[str]:
    """The command of a small process that runs ``stop_when_stdin_closes(pid)``: this
    module's source, run by the same Python, so it imports nothing of the project."""
    source = Path(__file__).read_text(encoding="utf-8")
    return [sys.executable, "-c", f"{source}\nstop_when_stdin_closes({int(pid)})\n"]
