"""Fixtures for the lunch and athletics tests: a loopback feed server and site copies."""

from __future__ import annotations

import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import ROOT, built_once, run_pelican

FEED_PLUGINS = ["lunch_menu", "athletics"]
SAMPLE_DATE = "2026-11-23"


class FeedServer:
    """Serves `routes[path] = (status, body)` on 127.0.0.1; tests change routes between builds."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.hits: list[str] = []
        routes, hits = self.routes, self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                hits.append(self.path)
                status, body = routes.get(self.path, (404, b"not found"))
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def feed_server():
    server = FeedServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def build(content: Path, output: Path, site_date: str = SAMPLE_DATE):
    """Build with the feed plugins only (the other plugins have their own tests).

    Pelican keeps only the last `-e` flag, so this passes exactly one.
    """
    return run_pelican(
        output,
        content=content,
        extra={"PLUGINS": FEED_PLUGINS},
        env={"SITE_DATE": site_date, "COLUMNS": "400"},  # COLUMNS: unwrapped log lines
    )


@pytest.fixture(scope="session")
def feed_sample(tmp_path_factory):
    """A copy of the sample content built once for the session with the feed plugins on
    SAMPLE_DATE: (output, finished pelican process, content copy). Read it only."""

    def make(folder: Path) -> None:
        content = folder / "content"
        shutil.copytree(ROOT / "content", content, ignore=shutil.ignore_patterns("gallery"))
        proc = build(content, folder / "out")
        (folder / "stdout.txt").write_text(proc.stdout)
        (folder / "stderr.txt").write_text(proc.stderr)

    folder = built_once(tmp_path_factory, "feed-sample", make)
    proc = subprocess.CompletedProcess(
        ["pelican"], 0, (folder / "stdout.txt").read_text(), (folder / "stderr.txt").read_text()
    )
    return folder / "out", proc, folder / "content"
