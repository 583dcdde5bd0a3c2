"""The placeholder of a withheld photo says why and links to the school's photo policy page,
which the sample site has at that address."""

from __future__ import annotations

from site_gate.placeholders import PLACEHOLDER_TEMPLATE

from tests.conftest import ROOT

THEME = ROOT / "themes" / "school" / "templates"


def test_placeholder_links_to_the_photo_policy():
    html = (THEME / PLACEHOLDER_TEMPLATE).read_text()
    assert "Photo withheld: consent not on file" in html
    # SITEURL: each page's own way to the root (test_placeholder_links.py).
    assert '<a href="{{ SITEURL }}/photo-and-media-policy/">Our photo policy</a>' in html
    assert 'role="img"' not in html  # a link inside role=img would be hidden from readers
    policy = (ROOT / "content" / "pages" / "photo-and-media-policy.md").read_text()
    assert "Slug: photo-and-media-policy" in policy
