"""Parents read the site on phones: every kind of page fits 320 and 375 px without sideways
scrolling (not even inside a table box), passes axe-core at 375 px (and at 320 and 1280 px the
kinds a school day changes; tests/site/test_accessibility.py runs axe on the others at those
widths), lunch days and games are cards on a phone and tables on a wide screen, and the home
page shows today's lunch and the next games near the top. Built on a school day with menus and
games."""

from __future__ import annotations

import pytest

from tests.browser import AXE, AXE_RUN, WCAG_TAGS, describe, requests_outside
from tests.site.helpers import serve

pytestmark = pytest.mark.browser

SCHOOL_DAY = "2026-11-30T07:30"  # a Monday with lunch menus, games that week and results
PAGE_KINDS = {
    "home": "index.html",
    "news list": "news/index.html",
    "news page 2": "news/page/2/index.html",
    "article": "news/2026/harvest-supper-2026/index.html",
    "page with a table": "staff-directory/index.html",
    "calendar": "calendar/index.html",
    "contact": "contact/index.html",
    "lunch": "lunch/index.html",
    "lunch month": "lunch/2026-11/index.html",
    "athletics": "athletics/index.html",
    "team": "athletics/boys-varsity-basketball/index.html",
    "home games": "athletics/home-games/index.html",
    "away games": "athletics/away-games/index.html",
    "category": "news/category/events/index.html",
    "tag list": "news/tags/index.html",
    "archive": "news/archive/index.html",
    "not found": "404.html",
}
# The kinds whose markup a school day changes (today's lunch, games, cancelled events): axe
# runs on them at every width here. The others are the same markup as in the site of
# tests/site/test_accessibility.py (which checks that), where axe runs on each kind at 320 and
# 1280 px, so here they get axe at 375 px only.
SCHOOL_DAY_KINDS = {"home", "calendar", "lunch", "lunch month"}
AXE_WIDTHS = {kind: (320, 375, 1280) if kind in SCHOOL_DAY_KINDS else (375,) for kind in PAGE_KINDS}
# Page width, and every box that scrolls sideways inside the page (a table in a scrolling
# box fits the page but still makes a parent swipe sideways to read it).
LAYOUT_FACTS = """() => {
  const sideways = [];
  for (const el of document.querySelectorAll("body *")) {
    const style = getComputedStyle(el);
    if (["auto", "scroll"].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1) {
      const name = `${el.tagName.toLowerCase()}.${el.className}`;
      sideways.push(`${name}: ${el.scrollWidth}px content in ${el.clientWidth}px`);
    }
  }
  // Text for screen readers only (a 1px box that hides its overflow) is never seen.
  const screenReaderOnly = el => {
    for (let box = el; box; box = box.parentElement) {
      if (getComputedStyle(box).overflow === "hidden" && box.clientWidth <= 1) return true;
    }
    return false;
  };
  const offscreen = [...document.querySelectorAll("main *")]
    .filter(el => el.getClientRects().length && el.getBoundingClientRect().right > innerWidth + 1)
    .filter(el => !screenReaderOnly(el))
    .map(el => `${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 30)}"`)
    .slice(0, 5);
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    sideways, offscreen,
  };
}"""


@pytest.fixture(scope="module")
def site(sample_site):
    return sample_site(SCHOOL_DAY)


@pytest.fixture(scope="module")
def base_url(site):
    yield from serve(site)


def open_page(browser, base_url: str, width: int):
    # axe is injected as an inline script, which the site's own policy (CSP) refuses.
    context = browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
    return context, context.new_page()


def url(base_url: str, path: str) -> str:
    return f"{base_url}/{path.removesuffix('index.html')}"


@pytest.fixture(scope="module")
def reports(browser, site, base_url):
    found = {}
    for width in (320, 375, 1280):
        context, page = open_page(browser, base_url, width)
        outside = requests_outside(page, base_url)
        try:
            for kind, path in PAGE_KINDS.items():
                assert (site / path).is_file(), f"the build has no {kind} page at {path}"
                # At 1280 px only axe is asked for (the layout facts are for phones).
                if width == 1280 and width not in AXE_WIDTHS[kind]:
                    continue
                response = page.goto(url(base_url, path), wait_until="load")
                assert response is not None and response.ok, path
                facts = page.evaluate(LAYOUT_FACTS)
                facts["violations"], facts["axe"] = [], width in AXE_WIDTHS[kind]
                if facts["axe"]:
                    page.add_script_tag(path=str(AXE))
                    facts["violations"] = page.evaluate(AXE_RUN, WCAG_TAGS)
                found[(width, path)] = facts
        finally:
            context.close()
        assert not outside, f"pages asked for files outside the site: {outside}"
    return found


@pytest.mark.parametrize("width", [320, 375])
def test_no_page_kind_scrolls_sideways_on_a_phone(reports, width):
    problems = []
    for (w, path), facts in reports.items():
        if w != width:
            continue
        if facts["scrollWidth"] > facts["innerWidth"]:
            problems.append(f"{path}: the page is {facts['scrollWidth']}px wide")
        problems += [f"{path}: {box}" for box in facts["sideways"]]
        problems += [f"{path}: off-screen {element}" for element in facts["offscreen"]]
    assert not problems, f"sideways scrolling at {width}px:\n" + "\n".join(problems)


@pytest.mark.parametrize("width", [320, 375, 1280])
def test_page_kinds_pass_axe_at_phone_and_desktop_widths(reports, width):
    checked = {p for (w, p), f in reports.items() if w == width and f["axe"]}
    assert checked == {PAGE_KINDS[k] for k, widths in AXE_WIDTHS.items() if width in widths}
    failing = {p: f for (w, p), f in reports.items() if w == width and f["violations"]}
    assert not failing, f"axe WCAG 2.1 AA violations at {width}px:\n{describe(failing)}"


CELL_BOXES = """(selector) => [...document.querySelectorAll(selector)].map(el => {
  const box = el.getBoundingClientRect();
  return {display: getComputedStyle(el).display, left: box.left, right: box.right,
          width: box.width, label: el.dataset.label || ""};
})"""


def test_lunch_days_are_cards_on_a_phone_and_a_table_on_a_wide_screen(browser, base_url):
    context, page = open_page(browser, base_url, 375)
    try:
        page.goto(url(base_url, "lunch/"))
        tables = page.evaluate(CELL_BOXES, ".lunch-table")
        cells = page.evaluate(CELL_BOXES, ".lunch-table td[data-label]")
        page.emulate_media(media="print")  # a printed menu stays a table
        printed = page.evaluate(CELL_BOXES, ".lunch-table")
    finally:
        context.close()
    assert {t["display"] for t in printed} == {"table"}
    assert tables and {t["display"] for t in tables} == {"block"}
    lunch_cells = [c for c in cells if c["label"] == "Lunch"]
    assert lunch_cells, "no Lunch cells on the lunch page"
    # Every meal of every day is on screen and gets (nearly) the card's full width.
    assert all(c["left"] >= 0 and c["right"] <= 375 for c in cells)
    assert min(c["width"] for c in lunch_cells) > 250

    context, page = open_page(browser, base_url, 1280)
    try:
        page.goto(url(base_url, "lunch/"))
        tables = page.evaluate(CELL_BOXES, ".lunch-table")
    finally:
        context.close()
    assert {t["display"] for t in tables} == {"table"}


def test_games_are_cards_on_a_phone(browser, base_url):
    context, page = open_page(browser, base_url, 320)
    try:
        page.goto(url(base_url, "athletics/boys-varsity-basketball/"))
        rows = page.evaluate(CELL_BOXES, ".athletics-table tbody tr")
        cells = page.evaluate(CELL_BOXES, ".athletics-table td[data-label]")
    finally:
        context.close()
    assert rows and {r["display"] for r in rows} == {"block"}
    assert all(c["right"] <= 320 for c in cells)


def test_home_page_shows_todays_lunch_and_next_games_near_the_top_on_a_phone(browser, base_url):
    context, page = open_page(browser, base_url, 375)
    try:
        page.goto(url(base_url, "index.html"))
        tops = page.evaluate(
            """() => Object.fromEntries(["lunch-today-heading", "upcoming-games-heading",
                 "latest-news-heading"].map(id => [id,
                 document.getElementById(id).getBoundingClientRect().top + scrollY]))"""
        )
    finally:
        context.close()
    # It was ~1,850 px down: now on the first screen, and the games before the news.
    assert tops["lunch-today-heading"] < 800, tops
    assert tops["upcoming-games-heading"] < tops["latest-news-heading"], tops
