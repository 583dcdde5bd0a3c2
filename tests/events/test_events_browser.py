"""The calendar in the real Debian chromium: the month grid's previous/next links lead from
month to month, an event in the grid leads to its entry, the category filter works without
script, and every calendar page is axe-clean (WCAG 2.1 AA) at 1280 and 375 px without
sideways scrolling."""

from __future__ import annotations

import pytest

from tests.browser import AXE, AXE_RUN, WCAG_TAGS, describe, requests_outside
from tests.site.helpers import serve

pytestmark = pytest.mark.browser

TODAY = "2026-11-26"
WIDTHS = (1280, 375)


@pytest.fixture(scope="module")
def site(sample_site):
    return sample_site(TODAY)


@pytest.fixture(scope="module")
def base_url(site):
    yield from serve(site)


def new_page(browser, base_url: str, width: int):
    # axe is injected as an inline script, which the site's own policy (CSP) refuses.
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    return context, page, requests_outside(page, base_url)


def calendar_pages(site) -> list[str]:
    pages = ["calendar/", "index.html"]
    pages += sorted(
        f"{p.parent.relative_to(site).as_posix()}/"
        for p in (site / "calendar").glob("*/index.html")
    )
    return pages


def test_month_grid_navigates_with_previous_and_next(browser, base_url):
    context, page, outside = new_page(browser, base_url, 1280)
    try:
        page.goto(f"{base_url}/calendar/")
        assert page.locator("table.events-grid caption").inner_text() == "November 2026"
        page.click("a[rel=next]")
        assert page.url == f"{base_url}/calendar/2026-12/"
        assert page.locator("h1").inner_text() == "Events in December 2026"
        assert page.locator("table.events-grid caption").inner_text() == "December 2026"
        page.click("a[rel=next]")
        assert page.url.endswith("/calendar/2027-01/")
        page.click("a[rel=prev]")
        page.click("a[rel=prev]")
        assert page.url.endswith("/calendar/2026-11/")
        assert page.locator("table.events-grid caption").inner_text() == "November 2026"
        # The week row of the 26th (today) has seven cells, and today is marked in words.
        today = page.locator("td.is-today")
        assert today.count() == 1 and "(today)" in today.inner_text()
        # An event in the grid leads to its entry in the list below.
        page.goto(f"{base_url}/calendar/2026-12/")
        page.get_by_role("link", name="Winter concert").first.click()
        target = page.locator(":target")
        assert "Winter concert" in target.inner_text()
        assert "6:30 p.m. – 8:00 p.m." in target.inner_text()
    finally:
        context.close()
    assert not outside


def test_on_a_phone_each_day_links_to_its_events(browser, base_url):
    context, page, _ = new_page(browser, base_url, 375)
    try:
        page.goto(f"{base_url}/calendar/2026-12/")
        assert not page.locator(".events-day-list").first.is_visible()
        link = page.get_by_role("link", name="Thursday, December 10: 3 events")
        assert link.is_visible()
        link.click()
        assert page.url.endswith("#day-2026-12-10")
        heading = page.locator(":target")
        assert heading.inner_text() == "Thursday, December 10"
        assert heading.is_visible()
        # The 26th has only the winter recess, which is listed on its first day, the 24th.
        page.get_by_role("link", name="Saturday, December 26: 1 event").click()
        assert "Winter Recess - No School" in page.locator(":target").inner_text()
    finally:
        context.close()


def test_category_filter_shows_one_category(browser, base_url):
    context, page, _ = new_page(browser, base_url, 1280)
    try:
        page.goto(f"{base_url}/calendar/")
        filters = page.get_by_role("navigation", name="Show events by category")
        filters.get_by_role("link", name="PTA").click()
        assert page.url.endswith("/calendar/pta/")
        assert page.locator("h1").inner_text() == "Calendar: PTA"
        classes = page.locator("li.events-item").evaluate_all("els => els.map(e => e.className)")
        assert classes and all("events-cat-pta" in c for c in classes)
        assert filters.get_by_role("link", name="PTA").get_attribute("aria-current") == "page"
        filters.get_by_role("link", name="Closings").click()
        assert "Winter Recess - No School" in page.locator("main").inner_text()
        assert "PTA meeting" not in page.locator("main").inner_text()
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_calendar_pages_are_axe_clean_without_sideways_scrolling(
    browser,
    site,
    base_url,
    width,
):
    context, page, outside = new_page(browser, base_url, width)
    failures, wide = {}, []
    try:
        paths = calendar_pages(site)
        assert len(paths) >= 12 + 5 + 2
        for path in paths:
            response = page.goto(f"{base_url}/{path.removesuffix('index.html')}")
            assert response is not None and response.ok, path
            size = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            if size[0] > size[1]:
                wide.append(f"{path}: {size[0]}px wide in a {size[1]}px window")
            page.add_script_tag(path=str(AXE))
            violations = page.evaluate(AXE_RUN, WCAG_TAGS)
            if violations:
                failures[path] = {"violations": violations}
    finally:
        context.close()
    assert not outside
    assert not wide, "\n".join(wide)
    assert not failures, f"axe at {width}px:\n{describe(failures)}"
