"""Every way a page names a picture, and scripts as pictures (no Pelican, no face models):
JSON-LD, image_src, preload, web-manifest icons and absolute addresses in CSS strings are
picture uses; content scripts are removed and pages get a Content-Security-Policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from site_gate.css import css_urls
from site_gate.output_scan import UrlResolver
from site_gate.pages import is_blocked, rewrite_document, scan_document, target_of
from site_gate.scripts import (
    content_security_policy,
    harden_feed,
    harden_page,
    script_file_problem,
    script_hash,
)

RESOLVER = UrlResolver("https://www.example.org")
# An outline font of the system's, when there is one: text glyphs pass.
ROOT_FONTS = sorted(Path("/usr/share/fonts/truetype").rglob("DejaVuSans.ttf"))
REMOTE = "https://cdn.example.com/kid.jpg"
PLACEHOLDER = '<figure class="photo-withheld">withheld</figure>'


def _gate(text: str, kind: str = "html", page: str = "news/index.html", strict: bool = True):
    uses = scan_document(text, kind, None)

    def blocked(use):
        target = target_of(RESOLVER, use, page, uses)
        return is_blocked(use, target, withheld={"images/face.jpg"}, missing=set(), strict=strict)

    new, _count = rewrite_document(text, kind, blocked, PLACEHOLDER, None)
    return [use for use in uses if blocked(use)], new


REMOTE_ROUTES = {
    "json_ld_image": (
        '<script type="application/ld+json">{"@type": "NewsArticle", "image": '
        f'["{REMOTE}"]}}</script><p>Hi</p>'
    ),
    "json_ld_image_object": (
        '<script type="application/ld+json">{"@graph": [{"@type": "Person", "photo": '
        f'{{"@type": "ImageObject", "url": "{REMOTE}"}}}}]}}</script>'
    ),
    "image_src": f'<link rel="image_src" href="{REMOTE}">',
    "preload": f'<link rel="preload" as="image" href="{REMOTE}">',
    "preload_srcset": f'<link rel="preload" as="image" imagesrcset="{REMOTE} 2x">',
    "manifest_link": '<link rel="manifest" href="https://cdn.example.com/app.webmanifest">',
    "css_custom_property": (
        f'<style>:root{{--p: "{REMOTE}"}} .x{{background-image:image-set(var(--p) 1x)}}</style>'
    ),
    "css_custom_property_attribute": (
        f"<div style='--p: \"{REMOTE}\"; background-image: image-set(var(--p) 1x)'>x</div>"
    ),
}


@pytest.mark.parametrize("route", sorted(REMOTE_ROUTES))
def test_remote_pictures_are_blocked_under_strict(route):
    text = REMOTE_ROUTES[route]
    blocked, new = _gate(text, strict=True)
    assert blocked, f"{route}: no blocked use in {text!r}"
    assert "cdn.example.com" not in new


@pytest.mark.parametrize("route", sorted(REMOTE_ROUTES))
def test_remote_pictures_are_only_warned_about_in_a_development_build(route):
    blocked, new = _gate(REMOTE_ROUTES[route], strict=False)
    assert not blocked and new == REMOTE_ROUTES[route]


def test_local_json_ld_and_preload_of_a_withheld_photo_are_removed():
    text = (
        '<head><script type="application/ld+json">{"image": "/images/face.jpg"}</script>'
        '<link rel="preload" as="image" href="/images/face.jpg"></head><p>Hi</p>'
    )
    blocked, new = _gate(text, strict=False)
    assert len(blocked) == 2 and "face.jpg" not in new and "<p>Hi</p>" in new


def test_manifest_icons_are_picture_uses():
    manifest = json.dumps(
        {
            "name": "School",
            "icons": [
                {"src": REMOTE, "sizes": "192x192"},
                {"src": "/images/face.jpg", "sizes": "512x512"},
                {"src": "/theme/images/logo.png", "sizes": "64x64"},
            ],
            "shortcuts": [{"name": "Lunch", "icons": [{"src": REMOTE}]}],
        }
    )
    uses = scan_document(manifest, "json", None)
    assert [use.url for use in uses].count(REMOTE) == 2
    blocked, new = _gate(manifest, kind="json", page="site.webmanifest", strict=True)
    assert len(blocked) == 3
    data = json.loads(new)
    assert [icon["src"] for icon in data["icons"]] == ["/theme/images/logo.png"]
    assert data["shortcuts"][0]["icons"] == []
    # Any other JSON names no picture, and is left byte for byte.
    assert scan_document('{"image": "x.jpg"}', "json", None) == []


def test_css_strings_with_absolute_addresses_are_picture_uses():
    found = [use.url for use in css_urls(f':root{{--a:"{REMOTE}";--b:"//cdn.example.com/x.png"}}')]
    assert found == [REMOTE, "//cdn.example.com/x.png"]
    assert css_urls('.x::before{content:"Note: see below"}') == []


# ---------------------------------------------------------------- scripts

THEME_JS = "console.log('theme');"


def _harden(text: str, strict: bool = True, allowed=lambda url: url == "/theme/js/site.js"):
    return harden_page(text, frozenset({script_hash(THEME_JS)}), allowed, strict)


def test_content_scripts_are_removed_and_the_theme_script_stays():
    page = (
        "<!doctype html><html><head><title>t</title>"
        f"<script type=module>\n{THEME_JS}\n</script>"
        '<script src="/theme/js/site.js"></script></head><body>'
        "<canvas id=c></canvas><script>paint(document.getElementById('c'))</script>"
        "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>"
        '<script src="/images/draw.js"></script>'
        "<img src=/images/a.jpg onload=\"this.src=atob('...')\" alt=a>"
        '<a href=" javascript:draw()">x</a>'
        "<svg><script>draw()</script></svg>"
        '<script type="application/ld+json">{"name": "x"}</script>'
        "</body></html>"
    )
    result = _harden(page)
    text = result.text
    assert THEME_JS in text and 'src="/theme/js/site.js"' in text
    for gone in ("paint(", "evil.example", "draw.js", "onload", "javascript:", "draw()"):
        assert gone not in text, gone
    assert '"name": "x"' in text  # data, not a script
    assert len(result.removed) == 6
    # The policy comes first in <head>, with the theme script's hash.
    head = text.index("<head>") + len("<head>")
    assert text[head:].startswith('<meta http-equiv="Content-Security-Policy"')
    assert "script-src &#x27;self&#x27; &#x27;sha256-" in text
    assert "img-src &#x27;self&#x27;;" in text


def test_the_policy_allows_only_the_site_s_own_pictures_under_strict():
    strict = content_security_policy(True)
    assert "img-src 'self';" in strict and "'unsafe-inline'" not in strict.split("style-src")[0]
    assert "script-src-attr 'none'" in strict and "object-src 'none'" in strict
    assert "blob:" not in strict and "data:" not in strict
    assert "img-src 'self' https: data:" in content_security_policy(False)


def test_a_page_without_head_gets_the_policy_first():
    text = _harden("<!DOCTYPE html><p>Hi</p>").text
    assert text.startswith('<!DOCTYPE html><meta http-equiv="Content-Security-Policy"')


def test_feed_entries_lose_every_script_and_keep_the_rest():
    from html import escape

    entry = (
        f"<p>News</p><script>{THEME_JS}</script><script>paint()</script>"
        '<img src="/images/a.jpg" onerror="draw()" alt="a">'
    )
    feed = (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>School</title><entry><title>News</title>"
        f'<content type="html">{escape(entry)}</content></entry></feed>'
    )
    result = harden_feed(feed)
    for gone in ("script", "paint(", "console.log", "onerror", "draw()"):
        assert gone not in result.text, gone
    assert "&lt;p&gt;News&lt;/p&gt;" in result.text and "/images/a.jpg" in result.text
    assert len(result.removed) == 3
    clean = '<?xml version="1.0"?><rss><channel><title>x</title></channel></rss>'
    assert harden_feed(clean).text == clean  # nothing to take out: the bytes as they were
    with pytest.raises(ValueError, match="not well-formed"):
        harden_feed("<feed><entry>")


def test_script_files_from_content_are_withheld():
    assert script_file_problem("images/draw.js", {"images/draw.js": "content/images/draw.js"})
    assert script_file_problem("pagefind/pagefind.js", {}) is None


def test_a_font_whose_glyph_is_a_portrait_is_withheld():
    from site_gate.fonts import font_problem

    from tests.consent_gate_build.render_helpers import portrait_font

    problem = font_problem(portrait_font())
    assert problem and "draws a face" in problem, problem


def test_an_outline_font_without_pictures_passes_and_an_unreadable_outline_is_withheld():
    from site_gate.fonts import font_problem

    from tests.consent_gate_build.render_helpers import portrait_font

    # Too many points for FreeType to draw: it cannot be checked, so it is withheld.
    assert "cannot be checked" in (font_problem(portrait_font(columns=112)) or "")
    assert font_problem(portrait_font(plain=True)) is None
    # A font of thousands of characters is a system font, not a site's: withheld.
    if ROOT_FONTS:
        assert "more than" in (font_problem(ROOT_FONTS[0].read_bytes()) or "")
