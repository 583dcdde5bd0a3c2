"""Vendor embeds: allowlisted hosts only, everything else in the snippet removed."""

from __future__ import annotations

import pytest
from school_feeds.embed import build_embed, host_matches
from school_feeds.shortcodes import parse_args

ALLOW = {"lunch": ["nutrislice.com"], "athletics": ["rschooltoday.com"]}


def test_allowed_url():
    embed, problem = build_embed(
        "https://millbrook.nutrislice.com/menu/upper?mode=browse&x=1", "Menu", ALLOW
    )
    assert problem is None
    assert embed.allowed and embed.kind == "lunch" and embed.title == "Menu"
    assert embed.src == "https://millbrook.nutrislice.com/menu/upper?mode=browse&x=1"


def test_disallowed_host_is_link_only():
    embed, problem = build_embed("https://tracker.example.com/widget", "Widget", ALLOW)
    assert not embed.allowed and "tracker.example.com" in problem and "link" in problem


def test_snippet_keeps_only_the_iframe_attributes():
    snippet = (
        '<div style="x"><script>steal()</script>'
        '<iframe src="https://www.rschooltoday.com/cal?id=1" onload="steal()" '
        'style="border:0" width="800" height="650" title="Games"></iframe></div>'
    )
    embed, problem = build_embed(snippet, None, ALLOW)
    assert problem is None
    assert (embed.src, embed.width, embed.height, embed.title) == (
        "https://www.rschooltoday.com/cal?id=1",
        800,
        650,
        "Games",
    )


@pytest.mark.parametrize(
    "source",
    [
        '<iframe src="javascript:alert(1)"></iframe>',
        '<iframe src="http://millbrook.nutrislice.com/menu"></iframe>',
        "http://millbrook.nutrislice.com/menu",
        'https://millbrook.nutrislice.com/" onload="alert(1)',
        "<script>alert(1)</script>",
    ],
)
def test_unsafe_sources_embed_nothing(source):
    embed, problem = build_embed(source, "x", ALLOW)
    assert embed is None and problem


def test_lookalike_hosts_do_not_match():
    assert host_matches("a.nutrislice.com", ["nutrislice.com"])
    assert not host_matches("nutrislice.com.evil.example", ["nutrislice.com"])
    assert not host_matches("evilnutrislice.com", ["nutrislice.com"])


def test_shortcode_arguments():
    assert parse_args(" 2026-11-30 school=&quot;Lower School&quot; meal=“Lunch”") == (
        ["2026-11-30"],
        {"school": "Lower School", "meal": "Lunch"},
    )
