"""The staff directory in the real Debian chromium: the department filter works without
script, and every directory page is axe-clean (WCAG 2.1 AA) at 1280 and 375 px without
sideways scrolling."""

from __future__ import annotations

import pytest

from tests.browser import AXE, AXE_RUN, WCAG_TAGS, describe, requests_outside
from tests.site.helpers import serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(sample_site):
    return sample_site()


@pytest.fixture(scope="module")
def base_url(site):
    yield from serve(site)


def new_page(browser, base_url: str, width: int):
    # axe is injected as an inline script, which the site's own policy (CSP) refuses.
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    return context, page, requests_outside(page, base_url)


def test_department_filter_shows_one_department(browser, base_url):
    context, page, outside = new_page(browser, base_url, 375)
    try:
        page.goto(f"{base_url}/staff-directory/")
        everyone = page.locator("li.staff-card").count()
        assert everyone >= 15
        filters = page.get_by_role("navigation", name="Show one department")
        filters.get_by_role("link", name="Food service").click()
        assert page.url.endswith("/staff-directory/food-service/")
        assert page.locator("h1").inner_text() == "Food service"
        cards = page.locator("li.staff-card")
        assert cards.count() == 1 and "Peter Lindqvist" in cards.inner_text()
        assert cards.get_by_role("link", name="(555) 014-2240").get_attribute("href") == (
            "tel:+15550142240"
        )
        assert filters.get_by_role("link", name="Food service").get_attribute("aria-current")
        filters.get_by_role("link", name="Everyone").click()
        assert page.url.endswith("/staff-directory/")
        assert page.locator("li.staff-card").count() == everyone
        principal = page.get_by_role("link", name="aruiz@cedarhollow.example.org")
        assert principal.get_attribute("href") == "mailto:aruiz@cedarhollow.example.org"
    finally:
        context.close()
    assert not outside


@pytest.mark.parametrize("width", [1280, 375])
def test_directory_pages_are_axe_clean_without_sideways_scrolling(
    browser,
    site,
    base_url,
    width,
):
    paths = ["staff-directory/"] + sorted(
        f"{p.parent.relative_to(site).as_posix()}/"
        for p in (site / "staff-directory").glob("*/index.html")
    )
    assert len(paths) == 9
    context, page, outside = new_page(browser, base_url, width)
    failures, wide = {}, []
    try:
        for path in paths:
            response = page.goto(f"{base_url}/{path}")
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
