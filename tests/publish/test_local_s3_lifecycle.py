"""The local S3 server's life: it dies with the Python process that started it (even a
SIGKILLed one), one data folder has one server (`status` finds it, a second start touches
nothing), and the caller's AWS_* variables play no part."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from s3_publish import local_s3
from s3_publish.local_s3 import LocalS3, LocalS3Busy

pytestmark = pytest.mark.s3

ROOT = Path(__file__).resolve().parents[2]

JUNK_AWS = {
    "AWS_ACCESS_KEY_ID": "AKIAJUNKJUNKJUNKJUNK",
    "AWS_SECRET_ACCESS_KEY": "junk-secret",
    "AWS_SESSION_TOKEN": "junk-token",
    "AWS_PROFILE": "no-such-profile",
    "AWS_DEFAULT_REGION": "xx-junk-1",
    "AWS_REGION": "xx-junk-1",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
}


def _gone_within(pid: int, seconds: float) -> bool:
    """Waits for the process to end (a liveness wait, not a performance figure)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not local_s3.process_alive(pid):
            return True
        time.sleep(0.1)
    return False


def _owner(data: Path, *, in_thread: bool) -> subprocess.Popen:
    """A Python process that starts a server on `data` and prints its pid."""
    code = textwrap.dedent(
        f"""
        import sys, threading, time
        from pathlib import Path
        from s3_publish.local_s3 import LocalS3
        server = LocalS3(Path({str(data)!r}))
        if {in_thread!r}:
            t = threading.Thread(target=server.start)
            t.start(); t.join()
        else:
            server.start()
        print(server.process.pid, flush=True)
        time.sleep(600)
        """
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )


@pytest.mark.parametrize("in_thread", [False, True], ids=["main-thread", "other-thread"])
def test_server_dies_with_a_sigkilled_owner(tmp_path, in_thread):
    data = tmp_path / "s3"
    owner = _owner(data, in_thread=in_thread)
    try:
        weed = int(owner.stdout.readline())
        assert local_s3.process_alive(weed)
        assert local_s3.find_running(data)["pid"] == weed
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
        assert _gone_within(weed, 20), f"weed (pid {weed}) outlived its SIGKILLed owner"
        assert local_s3.find_running(data) is None
    finally:
        owner.kill()
        for pid in local_s3._weed_serving(data):
            os.kill(pid, signal.SIGKILL)


def test_second_start_on_a_busy_folder_touches_nothing(tmp_path, capsys):
    data = tmp_path / "s3"
    with LocalS3(data, public_buckets=["site"]) as first:
        files = {
            name: (data / name).read_bytes()
            for name in (local_s3.LOG_NAME, local_s3.CONFIG_NAME, local_s3.STATE_NAME)
        }
        second = LocalS3(data, public_buckets=["other"])
        with pytest.raises(LocalS3Busy, match="already runs on .*Nothing was changed"):
            second.start()
        assert second.process is None
        # The command line says so too, and starts nothing.
        assert local_s3.main(["start", "--data-dir", str(data), "--bucket", "x"]) == 0
        out = capsys.readouterr().out
        assert "already running" in out and "nothing was changed" in out
        assert "goroutine" not in out
        for name, before in files.items():
            after = (data / name).read_bytes()
            if name == local_s3.LOG_NAME:
                # The running server goes on logging: its log grows, never starts afresh.
                assert after.startswith(before), f"{name} was written over"
            else:
                assert after == before, f"{name} was changed"
        # `status` finds the server of a library caller (the demo) by its folder...
        assert local_s3.main(["status", "--data-dir", str(data)]) == 0
        assert json.loads(capsys.readouterr().out)["pid"] == first.process.pid
        # ...and still when its state file is gone (found by its command line).
        (data / local_s3.STATE_NAME).unlink()
        assert local_s3.find_running(data)["pid"] == first.process.pid
        assert local_s3.find_running(data)["endpoint_url"] == first.endpoint_url
    assert local_s3.main(["status", "--data-dir", str(data)]) == 1


def test_junk_aws_variables_are_ignored(tmp_path, monkeypatch):
    for key, value in JUNK_AWS.items():
        monkeypatch.setenv(key, value)
    with LocalS3(tmp_path / "s3", public_buckets=["site"]) as server:
        server.create_bucket("site")
        client = server.client()
        client.put_object(Bucket="site", Key="index.html", Body=b"<p>hello</p>")
        assert client.get_object(Bucket="site", Key="index.html")["Body"].read() == (
            b"<p>hello</p>"
        )
        environ = Path(f"/proc/{server.process.pid}/environ").read_bytes().split(b"\0")
        assert not [v for v in environ if v.startswith(b"AWS_")]


def test_background_start_serves_the_website_and_stops_with_its_owner(tmp_path, capsys):
    data = tmp_path / "s3"
    assert local_s3.main(["start", "--data-dir", str(data), "--bucket", "site",
                          "--listen", "127.0.0.1:0"]) == 0  # fmt: skip
    state = local_s3.find_running(data)
    try:
        assert state["site_url"].startswith("http://127.0.0.1:")
        assert f"website: {state['site_url']}" in capsys.readouterr().out
        assert local_s3.process_alive(state["owner_pid"])
    finally:
        assert local_s3.main(["stop", "--data-dir", str(data)]) == 0
    assert _gone_within(state["pid"], 20)
    assert _gone_within(state["owner_pid"], 20)
    assert local_s3.find_running(data) is None
