"""The search page's language switch keeps the words searched: from /search/?q=... the link
to the Spanish page is /es/search/?q=... (and back)."""

from __future__ import annotations

import pytest

from tests.search.search_helpers import search_plugins
from tests.site.helpers import build, serve
from tests.site.test_accessibility import browser  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    out = tmp_path_factory.mktemp("search-switch") / "output"
    build(out, site_date="2026-11-30T07:30", PLUGINS=search_plugins(), CONSENT_ENABLED=False)
    yield from serve(out)


@pytest.mark.parametrize(
    ("page", "other"), [("search/", "/es/search/"), ("es/search/", "/search/")]
)
def test_the_language_switch_keeps_the_query(browser, base_url, page, other):  # noqa: F811
    context = browser.new_context()
    try:
        tab = context.new_page()
        tab.goto(f"{base_url}/{page}?q=harvest%20supper")
        href = tab.get_attribute(".language-switch a[hreflang]", "href")
        tab.click(".language-switch a[hreflang]")
        tab.wait_for_load_state()
        value = tab.input_value("#search-page-q")
    finally:
        context.close()
    assert href == f"{base_url}{other}?q=harvest+supper"
    assert value == "harvest supper"
