"""Every generated page fits a 320 px screen and gives every image an alt attribute, and
one page of each kind passes axe-core's WCAG 2.1 A/AA rules at 1280 and 320 px in the real
Debian chromium (for tests/site/test_phone_layout.py and tests/i18n/test_pages_browser.py too,
on the kinds whose markup their school day leaves as it is here). AXE_ALL_PAGES=1 (the
nightly run) runs axe on every page at both widths."""

from __future__ import annotations

import functools
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.browser import AXE, AXE_RUN, WCAG_TAGS, describe, requests_outside
from tests.conftest import ROOT
from tests.site.helpers import Tags, build, copy_content, serve

pytestmark = pytest.mark.browser

AXE_ALL_PAGES = os.environ.get("AXE_ALL_PAGES", "") not in ("", "0")
# Show every kind of alert banner, so their markup and colours are checked too.
TEST_ALERTS = [
    {
        "message": "School is closed today because of snow.",
        "level": "urgent",
        "link": "news/2026/how-we-decide-snow-days/",
        "link_text": "How we decide",
    },
    {"message": "Buses on Route 6 are running 20 minutes late.", "level": "warning"},
    {"message": "Picture day is Thursday.", "level": "info", "link": "calendar/"},
]
PAGE_FACTS = """() => ({
  imagesWithoutAlt: [...document.images].filter(i => !i.hasAttribute("alt"))
      .map(i => i.getAttribute("src")),
  scrollWidth: document.documentElement.scrollWidth,
  viewportWidth: window.innerWidth,
})"""


def html_paths(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))


def url_for(base: str, path: str) -> str:
    return f"{base}/{path.removesuffix('index.html')}"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("a11y") / "output"
    build(out, ALERTS=TEST_ALERTS)
    return out


@pytest.fixture(scope="module")
def base_url(site):
    yield from serve(site)


def check_pages(
    browser, base_url: str, paths: list[str], width: int, axe_paths: set[str] | None = None
) -> dict[str, dict]:
    """Open each page at `width` px, run axe (on all pages, or on `axe_paths`) and collect
    facts; returns them by path."""
    # axe is injected as an inline script, which the site's own policy (CSP) refuses.
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    # Only the local server: a request to any other host is a failure in itself.
    outside = requests_outside(page, base_url)
    reports = {}
    try:
        for path in paths:
            response = page.goto(url_for(base_url, path), wait_until="load")
            assert response is not None and response.ok, f"{path}: HTTP error"
            facts = page.evaluate(PAGE_FACTS)
            facts["violations"] = []
            if axe_paths is None or path in axe_paths:
                page.add_script_tag(path=str(AXE))
                facts["violations"] = page.evaluate(AXE_RUN, WCAG_TAGS)
            reports[path] = facts
    finally:
        context.close()
    assert not outside, f"pages asked for resources outside the site: {outside}"
    return reports


class _MainStart(HTMLParser):
    """The first elements inside <main> (tag and class): what a page's template puts there."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.inside, self.start = False, []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if self.inside and len(self.start) < 4:
            self.start.append(f"{tag}.{dict(attrs).get('class') or ''}")
        self.inside = self.inside or tag == "main"


def page_kind(site: Path, path: str) -> tuple:
    """Two pages are of one kind when they have the same language, the same folders above
    them (years, months and page numbers by their shape) and the same start of <main>."""
    folders = [re.sub(r"\d+", "9", part) for part in path.split("/")[:-2]]
    start = _MainStart((site / path).read_text(encoding="utf-8")).start
    return (*folders, len(path.split("/")), *start)


# axe at phone width on these too, whatever kind stands for theirs.
PHONE_AXE_PAGES = {
    "index.html",
    "news/index.html",
    "news/2026/harvest-supper-2026/index.html",
    "staff-directory/index.html",
    "calendar/index.html",
    "news/tags/index.html",
}


@pytest.fixture(scope="module")
def axe_paths(site) -> set[str] | None:
    """One page of each kind (all of them with AXE_ALL_PAGES=1: None)."""
    if AXE_ALL_PAGES:
        return None
    kinds: dict[tuple, str] = {}
    for path in html_paths(site):
        kinds.setdefault(page_kind(site, path), path)
    return set(kinds.values()) | PHONE_AXE_PAGES


@pytest.fixture(scope="module")
def desktop_reports(browser, site, base_url, axe_paths):
    """The pages axe runs on at 1280 px (every page's images are also checked in the files,
    below; at 320 px every page is opened, for sideways scrolling)."""
    paths = html_paths(site) if axe_paths is None else sorted(axe_paths)
    return check_pages(browser, base_url, paths, width=1280, axe_paths=axe_paths)


@pytest.fixture(scope="module")
def phone_reports(browser, site, base_url, axe_paths):
    return check_pages(browser, base_url, html_paths(site), width=320, axe_paths=axe_paths)


def test_every_kind_of_page_is_checked_by_axe(site, axe_paths):
    """The kinds tell the templates apart: a team from the home games, a month from a
    calendar category, an article from a news page, a Spanish page from an English one."""
    kind = functools.partial(page_kind, site)
    for one, other in [
        ("athletics/varsity-football/index.html", "athletics/home-games/index.html"),
        ("calendar/2026-11/index.html", "calendar/pta/index.html"),
        ("news/2026/harvest-supper-2026/index.html", "news/page/2/index.html"),
        ("news/tags/index.html", "news/archive/index.html"),
        ("about/index.html", "es/about/index.html"),
        ("about/index.html", "staff-directory/index.html"),
    ]:
        assert kind(one) != kind(other), (one, other)
    assert kind("calendar/2026-11/index.html") == kind("calendar/2026-12/index.html")
    if axe_paths is not None:  # None: axe runs on every page (AXE_ALL_PAGES=1)
        assert 25 <= len(axe_paths) < len(html_paths(site)) / 2, sorted(axe_paths)


def markup(site: Path, path: str) -> set[str]:
    """The tag names and class attributes of a page."""
    html = (site / path).read_text(encoding="utf-8")
    return set(re.findall(r"<(\w+)", html)) | set(re.findall(r'class="([^"]+)"', html))


def test_the_pages_left_to_this_module_are_kinds_it_checks_with_the_same_markup(
    site, axe_paths, sample_site
):
    """tests/site/test_phone_layout.py and tests/i18n/test_pages_browser.py run axe at 1280
    px (and 320 px) only on the pages a school day changes, and count on this module for the
    others: each of those is a kind axe checks here, with no tag or class that the school
    day's page has and this site's lacks."""
    from tests.i18n import conftest as i18n_site
    from tests.i18n import test_pages_browser as i18n
    from tests.site import test_phone_layout as phone

    assert i18n_site.SCHOOL_DAY == phone.SCHOOL_DAY
    school_day = sample_site(phone.SCHOOL_DAY)
    checked = {page_kind(site, p) for p in (axe_paths or html_paths(site))}
    left = [p for k, p in phone.PAGE_KINDS.items() if k not in phone.SCHOOL_DAY_KINDS]
    left += [p + "index.html" for p in i18n.AXE_AT_1280_ELSEWHERE]
    assert len(left) >= 13 + 10
    for path in left:
        new = markup(school_day, path) - markup(site, path)
        assert page_kind(school_day, path) in checked, f"{path}: no page of its kind checked here"
        assert not new, f"{path} has markup on a school day that is not checked here: {new}"


def test_site_has_the_pages_to_check(site):
    paths = html_paths(site)
    for expected in (
        "index.html",
        "404.html",
        "news/index.html",
        "news/page/2/index.html",
        "news/tags/index.html",
        "accessibility/index.html",
    ):
        assert expected in paths
    assert len(paths) > 40


def test_every_kind_of_page_passes_axe_wcag21_aa(desktop_reports):
    failing = {p: f for p, f in desktop_reports.items() if f["violations"]}
    assert not failing, f"axe found WCAG 2.1 A/AA violations:\n{describe(failing)}"


def test_page_kinds_pass_axe_on_a_phone(phone_reports):
    assert phone_reports.keys() >= PHONE_AXE_PAGES
    failing = {p: f for p, f in phone_reports.items() if f["violations"]}
    assert not failing, f"axe found WCAG 2.1 A/AA violations at 320 px:\n{describe(failing)}"


def test_no_page_scrolls_sideways_at_320px(phone_reports):
    wide = {
        path: f"{facts['scrollWidth']}px wide in a {facts['viewportWidth']}px window"
        for path, facts in phone_reports.items()
        if facts["scrollWidth"] > facts["viewportWidth"]
    }
    assert not wide, "pages scroll horizontally on a 320 px phone:\n" + "\n".join(
        f"{path}: {why}" for path, why in wide.items()
    )


def test_every_image_has_an_alt_attribute(site, desktop_reports, phone_reports):
    # Every page as built, and every page opened in Chromium as drawn (after its scripts).
    missing: dict[str, list] = {}
    for path in html_paths(site):
        tags = Tags((site / path).read_text(encoding="utf-8")).tags
        missing[path] = [a.get("src") for tag, a in tags if tag == "img" and "alt" not in a]
    for reports in (desktop_reports, phone_reports):
        for path, facts in reports.items():
            missing[path] += facts["imagesWithoutAlt"]
    missing = {path: srcs for path, srcs in missing.items() if srcs}
    assert not missing, f"images without an alt attribute: {missing}"


BROKEN_PAGE = """Title: Broken example
Slug: broken-example

An image with no description:

<img src="../images/illustrations/robot.svg" width="200" height="120">

<form action="#">
<input type="text" name="q">
</form>

<p style="color: #bbbbbb; background: #ffffff">Pale grey text that is hard to read.</p>
"""


PLACEHOLDER = ROOT / "themes" / "school" / "templates" / "partials" / "photo_withheld.html"


def test_the_checker_catches_known_violations(browser, tmp_path):
    content = copy_content(tmp_path)
    (content / "pages" / "broken-example.md").write_text(BROKEN_PAGE)
    # The consent gate's placeholder for a withheld photo must itself be accessible.
    (content / "pages" / "withheld-example.md").write_text(
        "Title: Withheld example\nSlug: withheld-example\n\nBefore.\n\n"
        + PLACEHOLDER.read_text()
        + "\nAfter.\n"
    )
    out = tmp_path / "output"
    build(out, content=content)
    gen = serve(out)
    base = next(gen)
    try:
        reports = check_pages(
            browser,
            base,
            ["broken-example/index.html", "about/index.html", "withheld-example/index.html"],
            width=1280,
        )
    finally:
        gen.close()
    broken = reports["broken-example/index.html"]
    found = {v["id"] for v in broken["violations"]}
    assert {"image-alt", "label", "color-contrast"} <= found, describe(reports)
    assert broken["imagesWithoutAlt"] == ["../images/illustrations/robot.svg"]
    # The same build's ordinary pages stay clean, so the failure is the page's own.
    assert reports["about/index.html"]["violations"] == []
    assert reports["withheld-example/index.html"]["violations"] == []
    shutil.rmtree(out)
