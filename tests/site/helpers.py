"""Helpers for the site tests: builds of the real theme and content, HTML parsing, a server."""

from __future__ import annotations

import functools
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import ROOT, run_pelican

PRODUCTION_URL = "https://www.cedarhollow.example.org"
# A school day inside the sample content's year, so date-driven parts are predictable.
SAMPLE_DATE = "2026-10-20"


def copy_content(dest: Path) -> Path:
    """A private copy of content/ to add files to (demo photos are left out)."""
    target = dest / "content"
    shutil.copytree(
        ROOT / "content",
        target,
        ignore=lambda folder, names: ["gallery"] if Path(folder).name == "images" else [],
    )
    return target


def settings_file(folder: Path, **overrides) -> Path:
    """pelicanconf.py with some settings replaced, as a settings file of its own.

    (Pelican keeps only the last `-e` flag, so several overrides go through a file.)
    """
    lines = [
        "import sys",
        f"sys.path.insert(0, {str(ROOT)!r})",
        "from pelicanconf import *  # noqa: F403",
        f"THEME = {str(ROOT / 'themes' / 'school')!r}",
        f"PLUGIN_PATHS = [{str(ROOT / 'plugins')!r}]",
        f"CACHE_PATH = {str(folder / 'cache')!r}",
    ]
    lines += [f"{key} = {value!r}" for key, value in overrides.items()]

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "testconf.py"
    path.write_text("\n".join(lines) + "\n")
    return path


def build(
    output: Path, content: Path | None = None, site_date=SAMPLE_DATE, check=True, **overrides
):
    """Build the site into `output` on the given school day, with settings overrides."""
    env = {"SITE_DATE": site_date, "COLUMNS": "400"}
    conf = settings_file(output.parent / "conf", **overrides)
    return run_pelican(output, content=content, settings_file=conf, env=env, check=check)


def log_text(proc) -> str:
    """Pelican's console output with the line wrapping taken out."""
    return re.sub(r"\s+", " ", proc.stdout + proc.stderr)


class Tags(HTMLParser):
    """Every start tag of a page as (tag, attrs), plus the text of the whole page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.text_parts))

    def find(self, tag: str, **attrs) -> list[dict]:
        return [
            found
            for name, found in self.tags
            if name == tag and all(found.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    def meta(self, prop: str) -> str | None:
        for attrs in self.find("meta"):
            if attrs.get("property") == prop or attrs.get("name") == prop:
                return attrs.get("content")
        return None


def parse(path: Path) -> Tags:
    return Tags(path.read_text(encoding="utf-8"))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        pass


@functools.cache
def _handler_for(directory: str):
    return functools.partial(_QuietHandler, directory=directory)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # Chromium drops connections when a test closes its page mid-load; anything else
        # is still printed.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def serve(directory: Path) -> Iterator[str]:
    """Serve `directory` on a free loopback port; yields the base URL."""
    server = _QuietServer(("127.0.0.1", 0), _handler_for(str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
