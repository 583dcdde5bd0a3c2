"""Calendar subscriptions (webcal:// with an https fallback and steps per platform, one
calendar per team, sport and level on every event, the same cancelled/postponed marks from
every source), the rule for game times without a.m./p.m., and removed teams' pages."""

from __future__ import annotations

import shutil
from datetime import time

import icalendar
import pytest
from athletics.parsers import parse_csv, parse_game_time

from tests.feeds.conftest import build
from tests.feeds.test_feed_site import copy_content, log_of

PUBLIC = "www.cedarhollow.example.org"


@pytest.fixture(scope="module")
def sample(feed_sample):
    # The session's feed-plugin build of the sample content (the same copy, plugins and
    # day this module built for itself before: 3.5 s a run saved).
    return feed_sample


def events(path) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT"))


def test_pages_offer_webcal_with_an_https_fallback_and_steps(sample):
    out, _, _ = sample
    pages = {
        "lunch/index.html": "calendars/lunch.ics",
        "athletics/index.html": "calendars/athletics.ics",
        "athletics/varsity-football/index.html": "calendars/athletics-varsity-football.ics",
    }
    for page, calendar in pages.items():
        html = (out / page).read_text("utf-8")
        assert f'href="webcal://{PUBLIC}/{calendar}"' in html, page
        assert f"https://{PUBLIC}/{calendar}</code>" in html, page
        for platform in ("iPhone", "Android or Google Calendar", "Outlook"):
            assert f"<strong>{platform}" in html, (page, platform)
        google = "https://calendar.google.com/calendar/render?cid=webcal%3A%2F%2F"
        assert google in html, page
        assert (out / calendar).is_file()


def test_every_team_with_a_page_has_its_own_calendar(sample):
    out, _, _ = sample
    teams = [p.parent.name for p in (out / "athletics").glob("*/index.html")]
    teams = [t for t in teams if t not in {"home-games", "away-games"}]
    assert len(teams) >= 8
    for team in teams:
        assert (out / "calendars" / f"athletics-{team}.ics").is_file(), team


def test_subscribed_events_carry_sport_level_and_status(sample):
    out, _, _ = sample
    merged = events(out / "calendars" / "athletics.ics")
    for event in merged:
        categories = [str(c) for c in event["CATEGORIES"].cats]
        assert categories and categories[0] in str(event["SUMMARY"]), event["SUMMARY"]
    # The CSV row marked "Cancelled" and the ICS event with STATUS:CANCELLED read alike.
    cancelled = [e for e in merged if str(e.get("STATUS")) == "CANCELLED"]
    assert len(cancelled) >= 2
    assert all(str(e["SUMMARY"]).startswith("CANCELLED: ") for e in cancelled)
    sources = {str(e["UID"]).endswith("rschooltoday.example.com") for e in cancelled}
    assert sources == {True, False}, "cancelled games from both the ICS and the CSV file"
    postponed = [e for e in merged if str(e["SUMMARY"]).startswith("POSTPONED: ")]
    assert postponed and not any("(Postponed)" in str(e["SUMMARY"]) for e in postponed)
    team = events(out / "calendars" / "athletics-girls-jv-basketball.ics")
    assert all("Girls JV Basketball" in str(e["SUMMARY"]) for e in team)
    assert any("JV" in [str(c) for c in e["CATEGORIES"].cats] for e in team)


@pytest.mark.parametrize(
    ("written", "read", "warned"),
    [
        ("3:30", time(15, 30), True),
        ("11:59", time(23, 59), True),
        ("1:00", time(13, 0), True),
        ("12:15", time(12, 15), False),
        ("18:00", time(18, 0), False),
        ("10:00 AM", time(10, 0), False),
        ("4:30 p.m.", time(16, 30), False),
    ],
)
def test_times_without_am_pm_are_afternoon_games(written, read, warned):
    parsed, warning = parse_game_time(written)
    assert parsed == read
    assert bool(warning) is warned
    if warning:
        assert f"{written!r} has no a.m. or p.m." in warning and "Write 4:30 PM" in warning


def test_csv_time_rule_is_warned_with_the_line():
    raw = (
        b"date,time,sport,level,opponent,home/away\n"
        b"2026-12-01,3:30,Boys Basketball,JV,Lakeside,Home\n"
        b"2026-12-02,3:30 PM,Boys Basketball,JV,Riverton,Away\n"
    )
    games, problems = parse_csv(raw)
    assert [g.start for g in games] == [time(15, 30), time(15, 30)]
    assert len(problems) == 1 and problems[0].startswith("line 2: '3:30' has no a.m. or p.m.")


def test_pages_of_removed_teams_are_not_published(tmp_path, feed_sample):
    # The first build is the session's build of the same content, copied with its feed
    # cache (the athletics revisions): the same folders a first `make html` leaves.
    first = feed_sample[0].parent
    for name in ("content", "out", ".cache"):
        if (first / name).exists():
            shutil.copytree(first / name, tmp_path / name, symlinks=True)
    content, out = tmp_path / "content", tmp_path / "out"
    team = out / "athletics" / "boys-modified-basketball" / "index.html"
    calendar = out / "calendars" / "athletics-boys-modified-basketball.ics"
    assert team.is_file() and calendar.is_file()
    csv = content / "data" / "athletics" / "modified-jv-basketball.csv"
    csv.write_text(
        "\n".join(line for line in csv.read_text().splitlines() if "Modified" not in line) + "\n"
    )
    proc = build(content, out)  # into the same output folder, as `make html` does
    assert not team.exists() and not team.parent.exists()
    assert not calendar.exists()
    assert (out / "athletics" / "girls-jv-basketball" / "index.html").is_file()
    html = (out / "athletics" / "index.html").read_text("utf-8")
    assert "boys-modified-basketball" not in html
    assert "Traceback" not in log_of(proc)


LEAGUE_ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//league//EN\r\n"
    b"X-WR-CALNAME:Mid-Hudson League\r\n"
    b"BEGIN:VEVENT\r\nUID:league-1@example.org\r\nDTSTAMP:20261101T000000Z\r\n"
    b"DTSTART:20261202T230000Z\r\nSUMMARY:Girls Varsity Soccer vs. Lakeside\r\nEND:VEVENT\r\n"
    b"END:VCALENDAR\r\n"
)


def test_a_stale_feed_notice_shows_the_schedules_public_name(tmp_path, feed_server):
    content = copy_content(tmp_path)
    feed_server.routes["/league.ics"] = (200, LEAGUE_ICS)
    (content / "data" / "athletics" / "feeds.toml").write_text(
        f'[[feed]]\nname = "lg-feed-7"\nurl = "{feed_server.url("/league.ics")}"\n'
        'format = "ics"\ntimeout = 5\n'
    )
    build(content, tmp_path / "first")
    feed_server.routes["/league.ics"] = (500, b"Internal Server Error")
    proc = build(content, tmp_path / "second")
    page = (tmp_path / "second" / "athletics" / "index.html").read_text("utf-8")
    assert "the “Mid-Hudson League” schedule could not be refreshed" in page
    assert "lg-feed-7" not in page
    assert "lg-feed-7" in log_of(proc)  # the webmaster's log names the feeds.toml entry
