"""The local SeaweedFS helper: start errors carry the server's log, the background CLI
starts and stops it, and a process that ignores SIGTERM is still stopped."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request

import pytest
from s3_publish import local_s3
from s3_publish.local_s3 import LocalS3, LocalS3Error, stop_process

pytestmark = pytest.mark.s3


def test_port_clash_fails_with_the_server_log(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = LocalS3(tmp_path / "s3", s3_port=port, startup_timeout=30)
        with pytest.raises(LocalS3Error, match=f"log ends with:\n.*{port}"):
            server.start()
    assert server.process is None


def test_background_start_status_stop(tmp_path, capsys):
    data = tmp_path / "s3data"
    assert local_s3.main(["start", "--data-dir", str(data), "--bucket", "site"]) == 0
    state = json.loads((data / "server.json").read_text())
    try:
        out = capsys.readouterr().out
        assert f"site: {state['endpoint_url']}/site/index.html" in out
        assert state["endpoint_url"].startswith("http://127.0.0.1:")
        assert local_s3.main(["status", "--data-dir", str(data)]) == 0
        # Anonymous reads of the public bucket work; the listing itself is refused.
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{state['endpoint_url']}/site/")
        assert err.value.code == 403
    finally:
        assert local_s3.main(["stop", "--data-dir", str(data)]) == 0
    assert not local_s3.process_alive(state["pid"])
    assert local_s3.main(["status", "--data-dir", str(data)]) == 1
    # The secret is random per data folder, kept only there, and reused on restart.
    identities = json.loads((data / "s3-identities.json").read_text())
    assert (
        identities["identities"][0]["credentials"][0]["secretKey"]
        == (state["AWS_SECRET_ACCESS_KEY"])
    )


def test_stop_kills_a_process_that_ignores_sigterm():
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(60)"  # noqa: E501
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    proc.stdout.readline()  # the handler is installed
    stop_process(proc.pid, timeout=1.0, process=proc)
    assert proc.returncode == -9  # SIGKILL, after SIGTERM was ignored
