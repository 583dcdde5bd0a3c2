"""Unit tests for the gate's output handling: URL resolution, derivatives, page rewriting,
feeds, name warnings and metadata removal (no Pelican, no face models)."""

from __future__ import annotations

from html import unescape
from urllib.parse import quote

import pytest
from face_engine.model import ConsentRecord
from site_gate.feeds import FeedDoc
from site_gate.html_rewrite import PageDoc, scan_uses
from site_gate.output_scan import (
    UrlResolver,
    find_derivatives,
    names_in,
    student_name_tokens,
)
from site_gate.svg import svg_embedded_images

PLACEHOLDER = '<figure class="photo-withheld">withheld</figure>'

PAGE = """<!doctype html><html><head>
<meta property="og:image" content="https://www.example.org/site/images/a.jpg">
<meta property="og:image:alt" content="Two pupils">
<meta name="twitter:image" content="/site/images/ok.jpg">
<link rel="icon" href="/site/favicon.svg">
</head><body>
<!-- <img src="images/a.jpg"> -->
<p><img alt="Pupils in class" src="../images/a.jpg"></p>
<p>Before <img src="../images/ok.jpg" srcset="../images/ok.jpg, ../images/a-640w.jpg 2x"> after</p>
<picture><source srcset="/site/images/a.webp"><img src="../images/ok.jpg" alt="ok"></picture>
<a href="../images/a.jpg">full size</a>
<script>var html = "<img src='../images/a.jpg'>";</script>
<p>Café</p>
<div><svg viewBox="0 0 9 9"><g><image width="9" xlink:href="../images/a.jpg"/></g>
<image href="/site/images/a-640w.jpg"/></svg></div>
<svg viewBox="0 0 9 9"><image href="../images/ok.jpg"/><circle r="3"/></svg>
</body></html>"""


def test_urls_resolve_to_output_paths():
    resolver = UrlResolver("https://www.example.org/site")
    page = "news/index.html"
    assert resolver.resolve("../images/a.jpg", page).path == "images/a.jpg"
    assert resolver.resolve("/site/images/a.jpg?v=2#x", page).path == "images/a.jpg"
    assert resolver.resolve("https://www.example.org/site/images/a%20b.jpg", page).path == (
        "images/a b.jpg"
    )
    assert resolver.resolve("https://cdn.example.com/a.jpg", page).kind == "remote"
    assert resolver.resolve("//cdn.example.com/a.jpg", page).kind == "remote"
    assert resolver.resolve("data:image/jpeg;base64,AAAA", page).kind == "inline"
    assert resolver.resolve("data:image/svg+xml,<svg/>", page).kind == "other"
    # An SVG data URL that draws a picture inside it is as unchecked as a raster one.
    drawn = quote(
        '<svg xmlns="http://www.w3.org/2000/svg"><image href="data:image/png;base64,AA"/></svg>'
    )
    assert resolver.resolve(f"data:image/svg+xml,{drawn}", page).kind == "inline"
    assert resolver.resolve("data:image/svg+xml,<svg", page).kind == "inline"  # unreadable
    assert resolver.resolve("mailto:office@example.org", page).kind == "other"
    assert resolver.resolve("../../../etc/passwd", page).kind == "other"
    assert UrlResolver("").resolve("https://www.example.org/a.jpg", page).kind == "remote"


def test_derivatives_follow_the_name_rule():
    images = [
        "images/photo.jpg",
        "images/photo-640w.jpg",
        "images/photo.thumbnail.jpg",
        "images/photo@2x.webp",
        "derivatives/640/photo.jpg",
        "thumbnails/photo_small.jpg",
        "images/photograph.jpg",
        "images/other.jpg",
    ]
    found = find_derivatives(["images/photo.jpg"], images)
    assert set(found) == {
        "images/photo-640w.jpg",
        "images/photo.thumbnail.jpg",
        "images/photo@2x.webp",
        "derivatives/640/photo.jpg",
        "thumbnails/photo_small.jpg",
    }
    assert set(found.values()) == {"images/photo.jpg"}


def test_scan_uses_is_the_full_parse():
    full = [(u.kind, u.url, u.alt) for u in PageDoc(PAGE).uses]
    quick = [(u.kind, u.url, u.alt) for u in scan_uses(PAGE)]
    # Neither counts the <img> inside the comment or the script.
    assert quick == full
    assert ("img", "../images/a-640w.jpg", None) in quick
    assert ("svg-image", "../images/a.jpg", None) in quick
    # Markup that fooled the regex pre-scan this replaced: comments that end early,
    # a <style> that holds tags inside an <svg>.
    for page in (
        "<!--><img src=a.jpg><!-- -->",
        "<!-- x --!><img src=a.jpg><!-- -->",
        "<svg><style><img src=a.jpg></style></svg>",
    ):
        assert [u.url for u in scan_uses(page)] == ["a.jpg"], page


def test_withheld_images_become_placeholders_and_their_meta_goes():
    resolver = UrlResolver("https://www.example.org/site")
    withheld = {"images/a.jpg", "images/a-640w.jpg", "images/a.webp"}

    def blocked(use):
        return resolver.resolve(use.url, "news/index.html").path in withheld

    new, count = PageDoc(PAGE).rewrite(blocked, PLACEHOLDER)
    assert count == 4
    # A drawing that shows a withheld photo is replaced whole; one with published images stays.
    assert "<div>" + PLACEHOLDER + "</div>" in new
    assert '<svg viewBox="0 0 9 9"><image href="../images/ok.jpg"/><circle r="3"/></svg>' in new
    assert 'property="og:image"' not in new and "og:image:alt" not in new
    assert 'name="twitter:image"' in new  # a published image keeps its meta
    assert "<p><img" not in new  # the paragraph holding only the photo became the placeholder
    assert "Before " + PLACEHOLDER + " after" in new
    assert "<picture>" not in new
    assert "full size" in new and 'href="../images/a.jpg"' not in new
    assert '<!-- <img src="images/a.jpg"> -->' in new  # comments and scripts untouched
    assert "var html = \"<img src='../images/a.jpg'>\"" in new
    assert new.endswith(
        f"<p>Café</p>\n<div>{PLACEHOLDER}</div>\n"
        '<svg viewBox="0 0 9 9"><image href="../images/ok.jpg"/><circle r="3"/></svg>\n'
        "</body></html>"
    )


def test_feed_entries_lose_withheld_images():
    feed = (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        '<title>News</title><entry><title>Visit</title><content type="html">'
        '&lt;p&gt;&lt;img alt="A pupil" src="/images/a.jpg"&gt;&lt;/p&gt;&lt;p&gt;Text'
        "&lt;/p&gt;</content></entry></feed>"
    )
    assert [u.url for u in scan_uses(unescape(feed))] == ["/images/a.jpg"]
    new, count = FeedDoc(feed).rewrite(lambda use: use.url == "/images/a.jpg", PLACEHOLDER)
    assert count == 1
    assert "a.jpg" not in new and "A pupil" not in new
    assert 'xmlns="http://www.w3.org/2005/Atom"' in new
    assert "&lt;p&gt;Text&lt;/p&gt;" in new


def test_student_name_tokens_skip_staff_and_short_parts():
    records = [
        ConsentRecord("S1", "Jo Anne Smithers", "student", frozenset({"website"}), None,
                      False, False, ()),
        ConsentRecord("T1", "Morgan Teacher", "staff", frozenset({"website"}), None,
                      False, False, ()),
    ]  # fmt: skip
    tokens = student_name_tokens(records)
    assert len(tokens.hashes) == 2  # "anne", "smithers"; "jo" is too short, staff left out
    assert not any(name in repr(tokens) for name in ("anne", "smithers"))
    assert names_in("smithers_2026-field-day", tokens) == ["smithers"]
    assert names_in("Anne at the fair", tokens) == ["anne"]
    assert names_in("Annex building", tokens) == []
    assert names_in("Morgan at the fair", tokens) == []


SVG_OPEN = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ('<rect width="4" height="4"/>', []),
        ('<image href="photos/site-photo.jpg"/>', []),  # a file in the site: checked itself
        ('<image xlink:href="data:image/jpeg;base64,/9j/AA"/>', ["data:image/jpeg;base64,/9j/AA"]),
        (
            '<g><image href="https://cdn.example.com/kid.jpg"/></g>',
            ["https://cdn.example.com/kid.jpg"],
        ),
        ('<filter><feImage href="//cdn.example.com/a.png"/></filter>', ["//cdn.example.com/a.png"]),
        ('<pattern><image href="file:///home/a.png"/></pattern>', ["file:///home/a.png"]),
    ],
)
def test_svg_embedded_images_names_what_cannot_be_checked(body, found):
    assert svg_embedded_images(f"{SVG_OPEN}{body}</svg>".encode()) == found


def test_unreadable_svg_is_an_error():
    with pytest.raises(ValueError, match="not well-formed SVG"):
        svg_embedded_images(b"<svg><image href='x.png'></svg")
