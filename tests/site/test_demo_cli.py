"""`make demo` on a busy port says which PORT= to use instead of a traceback, and stopping
the demo (Ctrl-C) stops the local S3 server it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import copy_env


def demo(root: Path, *args: str, **kwargs) -> subprocess.Popen:
    """`make demo`'s script, run in `root` (a copy of the project: it seeds its demo registry
    and photos there)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tools.demo", *args],
        cwd=root,
        env=copy_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def test_a_busy_port_names_the_port_to_use_instead(project_copy):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = demo(project_copy, "--serve", f"127.0.0.1:{port}")
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    assert f"port {port} on 127.0.0.1 is already in use" in out
    assert "`make demo PORT=" in out and "Traceback" not in out
    suggested = int(out.split("`make demo PORT=")[1].split("`")[0])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", suggested))  # the suggested port really is free


def processes_using(folder: Path) -> list[int]:
    """PIDs whose command line mentions `folder` (the demo's S3 server keeps its data there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = next(
                line
                for line in (entry / "status").read_text().splitlines()
                if line.startswith("State:")
            )
        except (OSError, StopIteration):
            continue
        if str(folder) in cmdline and "zombie" not in state:
            found.append(int(entry.name))
    return found


def ctrl_c(proc) -> None:
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground job


def terminate(proc) -> None:
    os.kill(proc.pid, signal.SIGTERM)  # `kill`, or a service manager; only the demo hears it


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the S3 server")
@pytest.mark.parametrize("stop", [ctrl_c, terminate])
def test_stopping_the_demo_stops_the_s3_server_it_started(tmp_path, project_copy, stop):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    s3_data = tmp_path / "s3"
    proc = demo(
        project_copy, "--serve", f"127.0.0.1:{port}", "--output", str(tmp_path / "output"),
        "--s3-data", str(s3_data),
        start_new_session=True,  # its own process group, like a terminal's foreground job
        # Started with SIGINT ignored, as from a script's background job (`make test &`):
        # Python then leaves Ctrl-C ignored unless the demo handles it itself.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    lines = []
    try:
        deadline = time.monotonic() + 600
        for line in proc.stdout:
            lines.append(line)
            if "Serving the published site" in line or time.monotonic() > deadline:
                break
        assert any("Serving the published site" in line for line in lines), "".join(lines)
        servers = processes_using(s3_data)
        assert servers, "the S3 server is not running while the demo serves"
        stop(proc)
        rest, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    log = "".join(lines) + rest
    assert proc.returncode in (0, 130), log
    assert "Traceback" not in log
    deadline = time.monotonic() + 20
    while processes_using(s3_data) and time.monotonic() < deadline:
        time.sleep(0.05)  # the server is usually gone within a few tenths of a second
    assert processes_using(s3_data) == [], log
