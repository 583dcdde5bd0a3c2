"""The sample site built with the school theme: pages, feeds, sitemap and link previews."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conftest import ROOT
from tests.site.helpers import PRODUCTION_URL, parse

ARTICLE_SOURCES = sorted((ROOT / "content" / "articles").glob("*.md"))
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def article_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.glob("news/[0-9][0-9][0-9][0-9]/*/index.html"))


def url_of(site: Path, page: Path) -> str:
    relative = page.relative_to(site).as_posix()
    return f"{PRODUCTION_URL}/{relative.removesuffix('index.html')}"


def test_every_article_and_page_is_written(production_site):
    assert len(ARTICLE_SOURCES) >= 12
    assert len(article_pages(production_site)) == len(ARTICLE_SOURCES)
    for slug in (
        "about",
        "calendar",
        "staff-directory",
        "contact",
        "accessibility",
        "photo-and-media-policy",
    ):
        assert (production_site / slug / "index.html").is_file(), slug


def test_home_page_has_layout_and_latest_news(production_site):
    home = parse(production_site / "index.html")
    assert home.find("a", class_="skip-link", href="#main")
    assert home.find("main", id="main")
    nav_links = [a["href"] for a in home.find("a") if a.get("href", "").startswith(PRODUCTION_URL)]
    for path in ("news/", "calendar/", "lunch/", "athletics/", "staff-directory/", "contact/"):
        assert f"{PRODUCTION_URL}/{path}" in nav_links
    # The newest story is on the home page; the oldest is not.
    assert "Harvest supper on Friday, October 23" in home.text
    assert "Welcome back: the 2025–26 school year begins" not in home.text
    # Footer: school details from the SCHOOL_* settings and the accessibility statement.
    assert "1200 Orchard Road, Millbrook, NY 12545" in home.text
    assert "(555) 014-2200" in home.text
    assert home.find("a", href=f"{PRODUCTION_URL}/accessibility/")


def test_stylesheets_and_feeds_are_linked(production_site):
    page = parse(production_site / "about" / "index.html")
    sheets = {link["href"]: link.get("media") for link in page.find("link", rel="stylesheet")}
    assert sheets[f"{PRODUCTION_URL}/theme/css/site.css"] is None
    assert sheets[f"{PRODUCTION_URL}/theme/css/feeds.css"] is None
    assert sheets[f"{PRODUCTION_URL}/theme/css/print.css"] == "print"
    alternates = {link["type"]: link["href"] for link in page.find("link", rel="alternate")}
    assert alternates["application/atom+xml"] == f"{PRODUCTION_URL}/feeds/all.atom.xml"
    assert alternates["application/rss+xml"] == f"{PRODUCTION_URL}/feeds/all.rss.xml"
    assert (production_site / "theme" / "css" / "site.css").is_file()
    assert (production_site / "theme" / "css" / "print.css").is_file()
    assert (production_site / "favicon.svg").is_file()


def test_news_is_paginated(production_site):
    first = parse(production_site / "news" / "index.html")
    second_path = production_site / "news" / "page" / "2" / "index.html"
    assert second_path.is_file()
    second = parse(second_path)
    assert first.find("a", rel="next", href=f"{PRODUCTION_URL}/news/page/2/")
    assert second.find("a", rel="prev", href=f"{PRODUCTION_URL}/news/")
    assert "Page 2 of" in second.text
    first_titles = {a["href"] for a in first.find("a") if "/news/20" in a.get("href", "")}
    second_titles = {a["href"] for a in second.find("a") if "/news/20" in a.get("href", "")}
    assert first_titles and second_titles and not first_titles & second_titles


def test_categories_and_tags_have_pages(production_site):
    categories = parse(production_site / "news" / "categories" / "index.html")
    for name in ("News", "Events", "Academics", "Arts", "Community"):
        slug = name.lower()
        assert categories.find("a", href=f"{PRODUCTION_URL}/news/category/{slug}/"), name
        assert (production_site / "news" / "category" / slug / "index.html").is_file()
    tags = parse(production_site / "news" / "tags" / "index.html")
    assert tags.find("a", href=f"{PRODUCTION_URL}/news/tag/garden/")
    garden = parse(production_site / "news" / "tag" / "garden" / "index.html")
    assert "Families rebuild the school garden beds" in garden.text
    assert (production_site / "news" / "archive" / "index.html").is_file()


def test_not_found_page(production_site):
    page = parse(production_site / "404.html")
    assert "Page not found" in page.text
    assert page.find("a", href=f"{PRODUCTION_URL}/")


def test_sitemap_lists_every_article_and_page(production_site):
    tree = ET.parse(production_site / "sitemap.xml")
    locs = {loc.text for loc in tree.iter(f"{SITEMAP_NS}loc")}
    assert f"{PRODUCTION_URL}/" in locs
    for page in article_pages(production_site):
        assert url_of(production_site, page) in locs
    assert f"{PRODUCTION_URL}/accessibility/" in locs
    assert all(loc.startswith(PRODUCTION_URL + "/") for loc in locs)


def test_every_sitemap_entry_is_a_page_and_every_plugin_page_is_listed(production_site):
    tree = ET.parse(production_site / "sitemap.xml")
    locs = [loc.text for loc in tree.iter(f"{SITEMAP_NS}loc")]
    assert len(locs) == len(set(locs)), "a page is listed twice"
    for loc in locs:
        path = loc.removeprefix(PRODUCTION_URL + "/")
        page = production_site / (path + "index.html" if not path or path.endswith("/") else path)
        assert page.is_file(), f"{loc} is in the sitemap but not in the site"
        assert parse(page).meta("robots") != "noindex", f"{loc} asks not to be indexed"
    # The months, categories, teams, departments and menus the plugins write, in every
    # language the site has.
    for family in ("calendar", "athletics", "staff-directory", "lunch"):
        pages = sorted((production_site / family).glob("*/index.html"))
        assert pages, family
        for page in pages:
            url = url_of(production_site, page)
            assert url in locs, url
            assert url.replace(PRODUCTION_URL, f"{PRODUCTION_URL}/es", 1) in locs, url


def test_robots_txt_points_at_the_sitemap(production_site):
    robots = (production_site / "robots.txt").read_text()
    assert "User-agent: *" in robots
    assert f"Sitemap: {PRODUCTION_URL}/sitemap.xml" in robots


def test_feeds_are_valid_xml_with_every_article(production_site):
    atom = ET.parse(production_site / "feeds" / "all.atom.xml").getroot()
    entries = atom.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == len(ARTICLE_SOURCES)
    rss = ET.parse(production_site / "feeds" / "all.rss.xml").getroot()
    assert rss.tag == "rss"
    assert len(rss.findall("./channel/item")) == len(ARTICLE_SOURCES)


def test_open_graph_tags_on_articles(production_site):
    with_image = parse(production_site / "news" / "2026" / "harvest-supper-2026" / "index.html")
    url = f"{PRODUCTION_URL}/news/2026/harvest-supper-2026/"
    assert with_image.meta("og:type") == "article"
    assert with_image.meta("og:url") == url
    assert with_image.find("link", rel="canonical", href=url)
    assert with_image.meta("og:title").startswith("Harvest supper on Friday, October 23")
    assert "community supper" in with_image.meta("og:description")
    assert with_image.meta("og:image") == f"{PRODUCTION_URL}/images/illustrations/harvest-table.png"
    assert (production_site / "images" / "illustrations" / "harvest-table.png").is_file()

    without_image = parse(production_site / "news" / "2025" / "garden-beds-rebuilt" / "index.html")
    assert without_image.meta("og:image") == f"{PRODUCTION_URL}/theme/images/og-default.png"
    assert (production_site / "theme" / "images" / "og-default.png").is_file()

    home = parse(production_site / "index.html")
    assert home.meta("og:type") == "website"
    assert home.meta("og:url") == f"{PRODUCTION_URL}/"


def test_no_third_party_resources(production_site):
    """Pages load nothing from another host: no CDN, web font, script or tracker."""
    offenders = []
    for page in production_site.rglob("*.html"):
        for tag, attrs in parse(page).tags:
            for attr in ("src", "href", "srcset", "data", "poster"):
                value = attrs.get(attr) or ""
                if tag == "a" and attr == "href":
                    continue  # ordinary links to other sites are fine
                if re.match(r"(https?:)?//", value) and not value.startswith(PRODUCTION_URL):
                    offenders.append(f"{page.relative_to(production_site)}: <{tag} {attr}={value}>")
            if tag == "script" and attrs.get("src"):
                offenders.append(f"{page.relative_to(production_site)}: script {attrs['src']}")
    for sheet in (production_site / "theme").rglob("*.css"):
        css = sheet.read_text()
        if re.search(r"@import|url\(\s*['\"]?(https?:)?//", css):
            offenders.append(f"{sheet.relative_to(production_site)} loads an external resource")
    assert not offenders, "\n".join(offenders)


def test_sample_content_has_no_missing_alt_text(production_site):
    for page in production_site.rglob("*.html"):
        for attrs in parse(page).find("img"):
            assert "alt" in attrs, f"{page}: {attrs}"
    # Every illustration an article uses has a real description.
    illustrated = parse(production_site / "news" / "2026" / "robotics-seed-sorter" / "index.html")
    robot = [a for a in illustrated.find("img") if a["src"].endswith("robot.svg")]
    assert robot and len(robot[0]["alt"]) > 30
