"""The lunch and athletics pages pass axe-core's WCAG 2.1 A/AA rules in Debian chromium."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.browser import AXE, AXE_RUN, WCAG_TAGS

pytestmark = pytest.mark.browser

PAGES = [
    "",
    "lunch/",
    "athletics/",
    "athletics/boys-varsity-basketball/",
    "athletics/varsity-football/",
    "athletics/away-games/",
]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def served_site(feed_sample):
    out, _, _ = feed_sample
    handler = functools.partial(QuietHandler, directory=str(out))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


CASES = [(path, 1280) for path in PAGES] + [("lunch/", 320), ("athletics/", 320)]


@pytest.mark.parametrize(("path", "width"), CASES)
def test_feed_pages_pass_axe(served_site, browser, path, width):
    # No other host is reachable (tests.browser.NO_OTHER_HOSTS).
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{served_site}/{path}")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(AXE_RUN, WCAG_TAGS)
    page.close()
    assert violations == [], violations
