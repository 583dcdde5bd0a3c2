"""The lunch and athletics pages pass axe-core's WCAG 2.1 A/AA rules in Debian chromium."""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import ROOT
from tests.feeds.conftest import build

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAGES = [
    "",
    "lunch/",
    "athletics/",
    "athletics/boys-varsity-basketball/",
    "athletics/varsity-football/",
    "athletics/away-games/",
]
AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map(v => ({
    id: v.id, help: v.help, targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
  }));
}"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def served_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("feeds-a11y")
    content = tmp / "content"
    shutil.copytree(ROOT / "content", content, ignore=shutil.ignore_patterns("gallery"))
    build(content, tmp / "out")
    handler = functools.partial(QuietHandler, directory=str(tmp / "out"))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists() or not AXE.is_file():
        pytest.fail(f"needs {CHROMIUM} and {AXE}: run `make test-deps`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


def loopback_only(route) -> None:
    if urlsplit(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


CASES = [(path, 1280) for path in PAGES] + [("lunch/", 320), ("athletics/", 320)]


@pytest.mark.parametrize(("path", "width"), CASES)
def test_feed_pages_pass_axe(served_site, browser, path, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.route("**/*", loopback_only)
    page.goto(f"{served_site}/{path}")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(AXE_RUN, WCAG_TAGS)
    page.close()
    assert violations == [], violations
