"""Real builds of the site with the lunch and athletics plugins (pelican in a subprocess)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import icalendar
import pytest

from tests.conftest import ROOT
from tests.feeds.conftest import build


def log_of(proc) -> str:
    return re.sub(r"\s+", " ", proc.stdout + proc.stderr)


def text_of(html: str) -> str:
    """Visible text, roughly: tags dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def uids(path: Path) -> set[str]:
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    return {str(event["UID"]) for event in calendar.walk("VEVENT")}


def copy_content(tmp: Path) -> Path:
    content = tmp / "content"
    shutil.copytree(ROOT / "content", content, ignore=shutil.ignore_patterns("gallery"))
    return content


@pytest.fixture(scope="module")
def sample(feed_sample):
    return feed_sample


def test_lunch_page_shows_this_and_next_week(sample):
    out, proc, _ = sample
    html = (out / "lunch" / "index.html").read_text("utf-8")
    text = text_of(html)
    assert "This week" in text and "Next week" in text
    assert "Upper School (6-12): Week of November 23, 2026" in text
    assert "Lower School (K-5): Week of November 30, 2026" in text
    assert '<th scope="col" role="columnheader">Breakfast</th>' in html
    assert '<th scope="col" role="columnheader">Lunch</th>' in html
    assert '<th scope="row" role="rowheader"><time datetime="2026-11-26">' in html
    # Section titles, allergen labels in words, and holidays in words.
    assert "Option 1" in text and "Option 2" in text
    # Allergens in one spelling each, in the FDA's order, apart from diet labels.
    assert "Contains: Milk, Wheat" in text and "Contains Wheat, Contains Milk" not in text
    assert "No school (Thanksgiving Recess - No School)" in text
    assert "Today" in text and "Menu information last updated" in text
    assert "This institution is an equal opportunity provider." in text
    assert "Program.Intake@usda.gov" in text and "AD-3027" in text
    assert 'href="webcal://www.cedarhollow.example.org/calendars/lunch.ics"' in html


def test_athletics_pages_and_teams(sample):
    out, _, _ = sample
    html = (out / "athletics" / "index.html").read_text("utf-8")
    text = text_of(html)
    assert "Upcoming games" in text and "Recent results" in text
    assert "W 28-14" in text  # a result from the ICS description
    for team in ("varsity-football", "girls-varsity-basketball", "boys-modified-basketball"):
        assert (out / "athletics" / team / "index.html").exists()
        assert f'href="../athletics/{team}/"' in html
        assert (out / "calendars" / f"athletics-{team}.ics").exists()
    row = r"<tr role=\"row\" class=\"is-{}\">(.*?)</tr>"
    cancelled = re.search(row.format("cancelled"), html, re.S).group(1)
    assert "Boys JV Basketball" in cancelled and "Cancelled" in text_of(cancelled)
    postponed = re.search(row.format("postponed"), html, re.S).group(1)
    assert "Oak Ridge" in postponed and "Postponed" in text_of(postponed)
    # The league feed's SEQUENCE 2 moved senior night to 7:30 p.m.
    senior = re.search(
        r"<tr[^>]*>(?:(?!</tr>).)*Boys Varsity Basketball(?:(?!</tr>).)*Lakeside.*?</tr>",
        html,
        re.S,
    )
    assert "7:30 p.m." in senior.group(0)
    assert "https://www.openstreetmap.org/search?query=Riverton+High+School" in html
    assert "4:15 p.m." in text  # bus departure
    assert "<script" not in html


def test_home_away_pages_and_team_page(sample):
    out, _, _ = sample
    home = text_of((out / "athletics" / "home-games" / "index.html").read_text("utf-8"))
    away = text_of((out / "athletics" / "away-games" / "index.html").read_text("utf-8"))
    assert "vs. Riverton" in home and "at Riverton" not in home
    assert "at Riverton" in away and "vs. Northfield" not in away
    team = (out / "athletics" / "boys-varsity-basketball" / "index.html").read_text("utf-8")
    assert "Practices" in team and team.count("Practice</td>") >= 5  # weekly RRULE practice
    assert "Wed, Nov 25" not in text_of(team)  # EXDATE: Thanksgiving recess


def test_calendars_keep_source_uids_and_recurrence(sample):
    out, _, _ = sample
    merged = icalendar.Calendar.from_ical((out / "calendars" / "athletics.ics").read_bytes())
    events = {str(e["UID"]): e for e in merged.walk("VEVENT")}
    senior = events["evt-20261204-bbb@rschooltoday.example.com"]
    assert int(senior["SEQUENCE"]) == 2
    assert "RRULE" in events["practice-bbb-2026@rschooltoday.example.com"]
    assert str(events["evt-20261204-bjv@rschooltoday.example.com"]["STATUS"]) == "CANCELLED"
    assert merged.walk("VTIMEZONE")
    team = uids(out / "calendars" / "athletics-boys-varsity-basketball.ics")
    assert "evt-20261204-bbb@rschooltoday.example.com" in team and team < set(events)
    lunch = uids(out / "calendars" / "lunch.ics")
    assert "lower-lunch-20261123@menus.millbrookcsd.example.org" in lunch


def test_uids_are_stable_across_builds(sample, tmp_path):
    out, _, content = sample
    again = tmp_path / "again"
    build(content, again)
    for name in ["athletics.ics", "lunch.ics", "athletics-boys-modified-basketball.ics"]:
        first, second = uids(out / "calendars" / name), uids(again / "calendars" / name)
        assert first and first == second


def test_home_page_partials(sample):
    out, _, _ = sample
    home = out / "index.html"
    assert home.is_file(), f"the build wrote no home page: {home} is missing"
    text = text_of(home.read_text("utf-8"))
    assert "Today’s lunch" in text and "Upcoming games" in text
    assert "Baked Ziti with Marinara" in text  # Upper School lunch on 2026-11-23


def test_home_page_on_a_day_off_shows_the_next_menu(tmp_path):
    content = copy_content(tmp_path)
    build(content, tmp_path / "out", site_date="2026-11-26")  # Thanksgiving
    text = text_of((tmp_path / "out" / "index.html").read_text("utf-8"))
    assert "No lunch is served today (Thanksgiving Recess - No School)." in text
    assert "Next menu: Monday, November 30" in text
    assert "Chicken Nuggets" in text  # Lower School lunch on November 30


def test_site_date_shifts_the_weeks_and_the_season(tmp_path):
    content = copy_content(tmp_path)
    out = tmp_path / "out"
    build(content, out, site_date="2026-12-07")
    lunch = text_of((out / "lunch" / "index.html").read_text("utf-8"))
    assert "Upper School (6-12): Week of December 7, 2026" in lunch
    assert "Week of November 23, 2026" not in lunch
    html = (out / "athletics" / "index.html").read_text("utf-8")
    upcoming, results = html.split('id="results"')
    assert "Dec 9" in text_of(upcoming) and "Dec 4" not in text_of(upcoming)
    assert "Dec 4" in text_of(results)


def nutrislice(dish: str) -> bytes:
    items = [{"is_section_title": True, "text": "Chef's Choice"}, {"food": {"name": dish}}]
    return json.dumps({"days": [{"date": "2026-11-23", "menu_items": items}]}).encode()


def feed_site(tmp_path: Path, url: str) -> Path:
    content = copy_content(tmp_path)
    (content / "data" / "lunch" / "feeds.toml").write_text(
        f'[[feed]]\nname = "district-menu"\nurl = "{url}"\nformat = "nutrislice"\n'
        'school = "Annex"\nmeal = "Lunch"\ntimeout = 5\n'
    )
    return content


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [(500, b"Internal Server Error", "HTTP 500"), (200, b"<html>Sign in</html>", "JSON")],
)
def test_bad_feed_falls_back_to_last_good_copy(tmp_path, feed_server, status, body, reason):
    feed_server.routes["/menu.json"] = (200, nutrislice("Harvest Turkey Chili"))
    content = feed_site(tmp_path, feed_server.url("/menu.json"))
    first = tmp_path / "first"
    build(content, first)
    page = text_of((first / "lunch" / "index.html").read_text("utf-8"))
    assert "Harvest Turkey Chili" in page and "could not be refreshed" not in page

    feed_server.routes["/menu.json"] = (status, body)
    second = tmp_path / "second"
    proc = build(content, second)
    page = text_of((second / "lunch" / "index.html").read_text("utf-8"))
    assert "Harvest Turkey Chili" in page
    # Families see the menu's public name, not the feeds.toml id.
    assert "the “Annex lunch” menu could not be refreshed" in page
    assert "district-menu" not in page
    assert "Showing the copy last updated" in page
    log = log_of(proc)
    assert "district-menu" in log and reason in log and "Using the copy fetched" in log
    assert len(feed_server.hits) == 2
