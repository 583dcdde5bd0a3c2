"""The search page's language switch keeps the words searched: from /search/?q=... the link
to the Spanish page is /es/search/?q=... (and back)."""

from __future__ import annotations

import pytest

from tests.site.helpers import serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(sample_site):
    yield from serve(sample_site("2026-11-30T07:30"))


@pytest.mark.parametrize(
    ("page", "other"), [("search/", "/es/search/"), ("es/search/", "/search/")]
)
def test_the_language_switch_keeps_the_query(browser, base_url, page, other):
    context = browser.new_context()
    try:
        tab = context.new_page()
        tab.goto(f"{base_url}/{page}?q=harvest%20supper")
        href = tab.get_attribute(".language-switch a[hreflang]", "href")
        # Wait for the new page itself (not the load state of the page being left).
        with tab.expect_navigation():
            tab.click(".language-switch a[hreflang]")
        tab.wait_for_load_state()
        value = tab.input_value("#search-page-q")
    finally:
        context.close()
    assert href == f"{base_url}{other}?q=harvest+supper"
    assert value == "harvest supper"
