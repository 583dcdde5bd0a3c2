"""Search in the real Debian chromium, served over http on 127.0.0.1: the header's search
box (a plain GET form) lands on the search page with the site's own Pagefind index
answering, in English and in Spanish; without JavaScript the form still lands on the
search page; when the index cannot be loaded the page says so.

The sample site as built (site_search on, the consent gate last): the gate's handling of the
index is tested in test_search_index.py."""

from __future__ import annotations

import pytest

from tests.site.helpers import serve

pytestmark = pytest.mark.browser

SCHOOL_DAY = "2026-11-30T07:30"


@pytest.fixture(scope="module")
def site(sample_site):
    out = sample_site(SCHOOL_DAY)
    assert (out / "pagefind" / "pagefind.js").is_file(), "the build wrote no search index"
    return out


@pytest.fixture(scope="module")
def base_url(site):
    yield from serve(site)


def new_page(browser, base_url, javascript=True):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=javascript
    )
    # No other host is reachable (tests.browser.NO_OTHER_HOSTS).
    return context, context.new_page()


def result_links(page, query: str) -> list[str]:
    """The result links, once the status line reports the search for `query`."""
    page.wait_for_function(
        "q => document.getElementById('search-status').textContent.includes(q)", arg=query
    )
    return page.eval_on_selector_all(".search-results a", "links => links.map(a => a.href)")


def test_a_word_from_an_article_finds_it(browser, base_url):
    context, page = new_page(browser, base_url)
    try:
        page.goto(f"{base_url}/search/?q=cornbread")
        links = result_links(page, "cornbread")
        status = page.text_content("#search-status")
    finally:
        context.close()
    assert f"{base_url}/news/2026/harvest-supper-2026/" in links
    assert "cornbread" in status and "result" in status
    assert not any("/es/" in link for link in links)


def test_the_header_search_box_sends_the_words_to_the_search_page(browser, base_url):
    context, page = new_page(browser, base_url)
    try:
        page.goto(f"{base_url}/about/")
        page.get_by_label("Search the site").fill("seed-sorting robot")
        page.get_by_label("Search the site").press("Enter")
        page.wait_for_url("**/search/?q=seed-sorting+robot")
        links = result_links(page, "seed-sorting robot")
        filled = page.input_value("#search-page-q")
    finally:
        context.close()
    assert f"{base_url}/news/2026/robotics-seed-sorter/" in links
    assert filled == "seed-sorting robot"


def test_spanish_search_finds_the_spanish_article(browser, base_url):
    context, page = new_page(browser, base_url)
    try:
        page.goto(f"{base_url}/es/index.html")
        page.get_by_label("Buscar en el sitio").fill("calabaza")
        page.get_by_label("Buscar en el sitio").press("Enter")
        page.wait_for_url("**/es/search/?q=calabaza")
        links = result_links(page, "calabaza")
        status = page.text_content("#search-status")
    finally:
        context.close()
    assert f"{base_url}/es/news/2026/harvest-supper-2026/" in links
    assert "resultado" in status


def test_without_javascript_the_form_lands_on_the_search_page(browser, base_url):
    context, page = new_page(browser, base_url, javascript=False)
    try:
        page.goto(f"{base_url}/lunch/")
        page.get_by_label("Search the site").fill("garden")
        page.get_by_role("button", name="Search").first.click()
        page.wait_for_url("**/search/?q=garden")
        text = page.text_content("main")
    finally:
        context.close()
    assert "Search results need JavaScript" in text
    assert "News archive" in text


def test_a_missing_index_is_explained(browser, base_url):
    context, page = new_page(browser, base_url)
    page.route("**/pagefind/**", lambda route: route.abort())
    try:
        page.goto(f"{base_url}/search/?q=garden")
        page.wait_for_function(
            "document.getElementById('search-status').textContent.includes('not available')"
        )
        links = page.eval_on_selector_all(".search-results a", "links => links.length")
    finally:
        context.close()
    assert links == 0
