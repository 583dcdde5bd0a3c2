"""The new pages in the real Debian chromium: switching to Spanish and back keeps the page,
and the search page, the Spanish pages (the plugins' months, categories, teams and
departments too) and the untranslated-page notes pass axe-core's WCAG 2.1 A/AA rules at 375
and 1280 px without sideways scrolling (axe at 1280 px on the pages a school day leaves as
they are: tests/site/test_accessibility.py, on one page of each kind).

SITE_SCREENSHOTS=<folder> saves a full-page screenshot of each page at each width."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import AXE, AXE_RUN, WCAG_TAGS, describe
from tests.site.helpers import serve
from tests.site.test_phone_layout import LAYOUT_FACTS

pytestmark = pytest.mark.browser

PAGES = {
    "search with results": "search/?q=garden",
    "Spanish search with results": "es/search/?q=calabaza",
    "Spanish home": "es/",
    "Spanish article": "es/news/2026/harvest-supper-2026/",
    "Spanish page": "es/about/",
    "Spanish lunch": "es/lunch/",
    "Spanish lunch month": "es/lunch/2026-12/",
    "Spanish athletics": "es/athletics/",
    "Spanish team": "es/athletics/varsity-football/",
    "Spanish home games": "es/athletics/home-games/",
    "Spanish calendar": "es/calendar/",
    "Spanish month grid": "es/calendar/2026-11/",
    "Spanish calendar category": "es/calendar/pta/",
    "Spanish staff directory": "es/staff-directory/",
    "Spanish department": "es/staff-directory/student-support/",
    "untranslated note": "es/contact/",
    "English page with the switcher": "about/",
    "page without a Spanish version": "news/tags/",
}
# Pages with the same markup as the pages of their kind that tests/site/test_accessibility.py
# runs axe on at 1280 and 320 px (it checks that): here axe runs on them at 375 px only.
AXE_AT_1280_ELSEWHERE = {
    "es/news/2026/harvest-supper-2026/",
    "es/about/",
    "es/athletics/",
    "es/athletics/varsity-football/",
    "es/athletics/home-games/",
    "es/calendar/pta/",
    "es/staff-directory/",
    "es/staff-directory/student-support/",
    "es/contact/",
    "about/",
    "news/tags/",
}
# tests/site/test_phone_layout.py runs axe on this page of the same site at 375 px too.
AXE_AT_375_ELSEWHERE = {"news/tags/"}


@pytest.fixture(scope="module")
def base_url(site):
    yield from serve(site)


def open_page(browser, base_url, width):
    # axe is injected as an inline script, which the site's own policy (CSP) refuses.
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    # No other host is reachable (tests.browser.NO_OTHER_HOSTS).
    return context, context.new_page()


@pytest.mark.parametrize(
    ("english", "spanish"),
    [
        ("about/", "es/about/"),
        ("news/2026/how-we-decide-snow-days/", "es/news/2026/how-we-decide-snow-days/"),
        ("lunch/", "es/lunch/"),
        ("calendar/2026-11/", "es/calendar/2026-11/"),
        ("athletics/varsity-football/", "es/athletics/varsity-football/"),
        ("staff-directory/student-support/", "es/staff-directory/student-support/"),
        ("contact/", "es/contact/"),  # no translation: the Spanish note page
        ("", "es/"),
    ],
)
def test_switching_to_spanish_and_back_keeps_the_page(browser, base_url, english, spanish):
    context, page = open_page(browser, base_url, 1280)
    try:
        page.goto(f"{base_url}/{english}")
        page.get_by_role("link", name="Español", exact=True).click()
        page.wait_for_load_state()
        reached = page.url
        lang = page.get_attribute("html", "lang")
        page.get_by_role("link", name="English", exact=True).click()
        page.wait_for_load_state()
        back = page.url
    finally:
        context.close()
    assert reached == f"{base_url}/{spanish}" and lang == "es"
    assert back == f"{base_url}/{english}"


@pytest.fixture(scope="module")
def reports(browser, base_url):
    shots = os.environ.get("SITE_SCREENSHOTS")
    found = {}
    for width in (375, 1280):
        elsewhere = AXE_AT_375_ELSEWHERE if width == 375 else AXE_AT_1280_ELSEWHERE
        context, page = open_page(browser, base_url, width)
        try:
            for name, path in PAGES.items():
                response = page.goto(f"{base_url}/{path}", wait_until="load")
                assert response is not None and response.ok, path
                if "?q=" in path:
                    page.wait_for_selector(".search-results li")
                facts = page.evaluate(LAYOUT_FACTS)
                facts["violations"], facts["axe"] = [], path not in elsewhere
                if facts["axe"]:
                    page.add_script_tag(path=str(AXE))
                    facts["violations"] = page.evaluate(AXE_RUN, WCAG_TAGS)
                found[(width, path)] = facts
                if shots:
                    target = Path(shots) / f"{width}-{name.replace(' ', '-')}.png"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(target), full_page=True)
        finally:
            context.close()
    return found


@pytest.mark.parametrize("width", [375, 1280])
def test_new_pages_pass_axe(reports, width):
    elsewhere = AXE_AT_375_ELSEWHERE if width == 375 else AXE_AT_1280_ELSEWHERE
    checked = {p for (w, p), f in reports.items() if w == width and f["axe"]}
    assert checked == set(PAGES.values()) - elsewhere
    failing = {p: f for (w, p), f in reports.items() if w == width and f["violations"]}
    assert not failing, f"axe WCAG 2.1 AA violations at {width}px:\n{describe(failing)}"


@pytest.mark.parametrize("width", [375, 1280])
def test_new_pages_do_not_scroll_sideways(reports, width):
    problems = []
    for (w, path), facts in reports.items():
        if w != width:
            continue
        if facts["scrollWidth"] > facts["innerWidth"]:
            problems.append(f"{path}: the page is {facts['scrollWidth']}px wide")
        problems += [f"{path}: {box}" for box in facts["sideways"]]
        problems += [f"{path}: off-screen {element}" for element in facts["offscreen"]]
    assert not problems, f"sideways scrolling at {width}px:\n" + "\n".join(problems)
