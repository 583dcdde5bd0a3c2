"""The next game is on the first phone screen (375 x 667) of the home page and of
/athletics/, in both languages, above today's lunch and the page's text."""

from __future__ import annotations

import pytest

from tests.site.helpers import build, serve

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 667}
PLUGINS = ["site_alerts", "lunch_menu", "athletics", "school_events", "site_i18n"]
NEXT_GAME = """() => { const e = document.querySelector(".next-game");
  return e && {bottom: e.getBoundingClientRect().bottom, text: e.textContent.replace(/\\s+/g, " ")}
}"""


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    out = tmp_path_factory.mktemp("next-game") / "output"
    build(out, site_date="2026-12-01T07:30", PLUGINS=PLUGINS)
    yield from serve(out)


@pytest.mark.parametrize("path", ["", "athletics/", "es/", "es/athletics/"])
def test_next_game_on_the_first_phone_screen(browser, base_url, path):
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(f"{base_url}/{path}")
        found = page.evaluate(NEXT_GAME)
    finally:
        context.close()
    assert found, f"no next game on /{path}"
    assert "Girls Varsity Basketball at Riverton" in found["text"]
    assert found["bottom"] <= PHONE["height"], found
