"""The withheld-photo placeholder links to the photo policy the way the theme's other links
go: relative to the page in a local build (RELATIVE_URLS), from SITEURL when the build has
one, so the link works from an article three folders down and on any host."""

from __future__ import annotations

import posixpath
import re

from site_gate.placeholders import SITE_ROOT, for_page

from tests.consent_gate_build.gate_helpers import build_site, copy_face, write_article

POLICY = """Title: Photo and media policy
Slug: photo-and-media-policy

How the school decides which photos are published.
"""


def _site(tmp_path):
    content = tmp_path / "content"
    copy_face(content, "people/kit_harington/kit1.jpg", "images/trip/kit.jpg")
    write_article(content, "trip", "![A student on the trip]({static}/images/trip/kit.jpg)")
    (content / "pages").mkdir()
    (content / "pages" / "photo-and-media-policy.md").write_text(POLICY, encoding="utf-8")
    return content


def _policy_link(page: str) -> str:
    figure = page.split('class="photo-withheld"', 1)[1].split("</figure>", 1)[0]
    (href,) = re.findall(r'href="([^"]*)"', figure)
    return href


def test_the_placeholder_links_to_the_policy_from_a_page_in_a_subfolder(tmp_path):
    content = _site(tmp_path)
    build = build_site(content, tmp_path, "relative", None, tmp_path / "cache")
    page_rel = "news/2026/trip/index.html"
    href = _policy_link(build.page("trip"))
    assert not href.startswith("/"), href  # root-relative breaks under a subfolder host
    target = posixpath.normpath(posixpath.join(posixpath.dirname(page_rel), href))
    assert (build.output / target / "index.html").is_file(), href
    assert SITE_ROOT not in (build.output / page_rel).read_text(encoding="utf-8")

    absolute = build_site(
        content,
        tmp_path,
        "absolute",
        None,
        tmp_path / "cache",
        extra={"SITEURL": "https://school.example/site", "RELATIVE_URLS": False},
    )
    assert _policy_link(absolute.page("trip")) == (
        "https://school.example/site/photo-and-media-policy/"
    )


def test_for_page_puts_in_each_documents_way_to_the_root():
    text = f'<a href="{SITE_ROOT}/policy/">policy</a>'
    assert for_page(text, "index.html", "") == '<a href="./policy/">policy</a>'
    assert for_page(text, "news/a/index.html", "") == '<a href="../../policy/">policy</a>'
    assert for_page(text, "x/index.html", "https://s.example/") == (
        '<a href="https://s.example/policy/">policy</a>'
    )
    assert for_page("<figure></figure>", "a/b.html", "") == "<figure></figure>"
