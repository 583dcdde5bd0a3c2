"""Fetching with a cache, against a feed server on 127.0.0.1."""

from __future__ import annotations

import json

from lunch_menu.parsers import parse_nutrislice
from school_feeds.fetch import fetch_with_cache

LABELS = {"school": "Upper School", "meal": "Lunch"}
GOOD = json.dumps(
    {"days": [{"date": "2026-11-23", "menu_items": [{"text": "Turkey Chili", "food": None}]}]}
).encode()


def parse(raw: bytes):
    return parse_nutrislice(raw, LABELS, "test")[0]


def test_good_fetch_is_cached_and_used(feed_server, tmp_path):
    feed_server.routes["/menu.json"] = (200, GOOD)
    outcome = fetch_with_cache("lunch", feed_server.url("/menu.json"), parse, tmp_path, 5)
    assert outcome.error is None and not outcome.from_cache
    assert outcome.data[0].sections[0].items[0].name == "Turkey Chili"
    assert list(tmp_path.glob("lunch-*.body"))[0].read_bytes() == GOOD


def test_failed_fetch_uses_last_good_copy(feed_server, tmp_path):
    url = feed_server.url("/menu.json")
    feed_server.routes["/menu.json"] = (200, GOOD)
    first = fetch_with_cache("lunch", url, parse, tmp_path, 5)
    feed_server.routes["/menu.json"] = (503, b"maintenance")
    second = fetch_with_cache("lunch", url, parse, tmp_path, 5)
    assert second.from_cache and "503" in second.error
    assert second.updated == first.updated
    assert second.data[0].sections[0].items[0].name == "Turkey Chili"


def test_garbage_response_keeps_last_good_copy(feed_server, tmp_path):
    url = feed_server.url("/menu.json")
    feed_server.routes["/menu.json"] = (200, GOOD)
    fetch_with_cache("lunch", url, parse, tmp_path, 5)
    feed_server.routes["/menu.json"] = (200, b"<html><body>Please log in</body></html>")
    outcome = fetch_with_cache("lunch", url, parse, tmp_path, 5)
    assert outcome.from_cache and "JSON" in outcome.error
    assert outcome.data[0].sections[0].items[0].name == "Turkey Chili"
    # The garbage never replaced the good copy on disk.
    assert list(tmp_path.glob("lunch-*.body"))[0].read_bytes() == GOOD


def test_unreachable_feed_without_cache_gives_nothing(tmp_path, caplog):
    # Port 9 (discard) on loopback: nothing listens, the connection is refused.
    outcome = fetch_with_cache("lunch", "http://127.0.0.1:9/menu.json", parse, tmp_path, 2)
    assert outcome.data is None and outcome.updated is None
    assert "could not be reached" in outcome.error
    assert "no earlier copy" in caplog.text


def test_week_placeholders_fetch_each_week_shown(feed_server, tmp_path):
    from datetime import date

    from lunch_menu.menus import build_view, load_menus

    def week(day: str, dish: str) -> bytes:
        items = [{"food": {"name": dish}}]
        return json.dumps({"days": [{"date": day, "menu_items": items}]}).encode()

    feed_server.routes["/weeks/2026/11/23/"] = (200, week("2026-11-23", "Turkey Chili"))
    feed_server.routes["/weeks/2026/11/30/"] = (200, week("2026-11-30", "Veggie Lasagna"))
    folder = tmp_path / "lunch"
    folder.mkdir()
    url = feed_server.url("/weeks/{year}/{month}/{day}/")
    (folder / "feeds.toml").write_text(
        f'[[feed]]\nname = "district"\nurl = "{url}"\nformat = "nutrislice"\ntimeout = 5\n'
    )
    result = load_menus(
        folder,
        tmp_path / "cache",
        {"school": "Annex", "meal": "Lunch"},
        "America/New_York",
        [date(2026, 11, 23), date(2026, 11, 30)],
    )
    assert result.problems == []
    assert sorted(feed_server.hits) == ["/weeks/2026/11/23/", "/weeks/2026/11/30/"]
    assert [m.sections[0].items[0].name for m in result.menus] == ["Turkey Chili", "Veggie Lasagna"]
    assert [s.name for s in result.sources] == ["district 2026-11-23", "district 2026-11-30"]
    # On a Saturday the page starts with the coming week.
    view = build_view(result, date(2026, 11, 28))
    assert [w.title for w in view.weeks] == ["Coming week", "The week after"]
    assert view.weeks[0].start == date(2026, 11, 30)
