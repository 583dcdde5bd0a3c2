"""Every generated page passes axe-core's WCAG 2.1 A/AA rules in the real Debian chromium,
fits a 320 px screen, and gives every image an alt attribute."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.site.helpers import build, copy_content, serve

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
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
AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(" ")).slice(0, 8),
  }));
}"""
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
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"Debian chromium is missing at {CHROMIUM}: run `make test-deps` "
            "(apt-get install chromium); the accessibility tests never download a browser"
        )
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing at {AXE}: run `npm ci` (or `make test-deps`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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
    outside: list[str] = []

    def guard(route):
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
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


@pytest.fixture(scope="module")
def desktop_reports(browser, site, base_url):
    return check_pages(browser, base_url, html_paths(site), width=1280)


# axe again at phone width on one page of each kind (the layout changes, the markup does not).
PHONE_AXE_PAGES = {
    "index.html",
    "news/index.html",
    "news/2026/harvest-supper-2026/index.html",
    "staff-directory/index.html",
    "calendar/index.html",
    "news/tags/index.html",
}


@pytest.fixture(scope="module")
def phone_reports(browser, site, base_url):
    return check_pages(browser, base_url, html_paths(site), width=320, axe_paths=PHONE_AXE_PAGES)


def describe(reports: dict[str, dict]) -> str:
    lines = []
    for path, facts in reports.items():
        for violation in facts["violations"]:
            lines.append(
                f"{violation['id']} ({violation['impact']}) on {path}: {violation['help']}"
            )
            lines += [f"    {target}" for target in violation["targets"]]
    return "\n".join(lines)


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


def test_every_page_passes_axe_wcag21_aa(desktop_reports):
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


def test_every_image_has_an_alt_attribute(desktop_reports):
    missing = {
        p: f["imagesWithoutAlt"] for p, f in desktop_reports.items() if f["imagesWithoutAlt"]
    }
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
