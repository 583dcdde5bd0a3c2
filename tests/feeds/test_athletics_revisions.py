"""Calendar changes that phones pick up: a game whose time, place, title or status changed
gets SEQUENCE + 1 and a new DTSTAMP in the subscribed calendars; an unchanged game keeps
both, build after build; the feed's title is the page's clean title; a home game that the
feed places only at "Home" is at the school's field."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import icalendar
from athletics.revisions import Revisions

from tests.feeds.conftest import build
from tests.site.helpers import copy_content

T1 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
T3 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def game(start: str, sequence: int = 0) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", "game-1@test")
    event.add("sequence", sequence)
    event.add("dtstamp", datetime(2009, 1, 1, tzinfo=UTC))
    event.add("dtstart", datetime.fromisoformat(start))
    event.add("summary", "Varsity Soccer vs. Lakeview")
    return event


def test_sequence_and_stamp_move_only_when_the_game_changes(tmp_path):
    path = tmp_path / "revisions.json"
    first = game("2026-12-01T16:00:00+00:00")
    revisions = Revisions(path)
    revisions.apply(first, T1)
    revisions.save()
    assert first.decoded("DTSTAMP") == T1  # not the feed's 2009 stamp
    assert first.decoded("SEQUENCE") == 0

    same = game("2026-12-01T16:00:00+00:00")
    revisions = Revisions(path)  # the next build reads what this one published
    revisions.apply(same, T2)
    revisions.save()
    assert same.decoded("DTSTAMP") == T1 and same.decoded("SEQUENCE") == 0

    moved = game("2026-12-01T18:00:00+00:00")  # the feed kept SEQUENCE 0
    revisions = Revisions(path)
    revisions.apply(moved, T3)
    revisions.save()
    assert moved.decoded("SEQUENCE") == 1 and moved.decoded("DTSTAMP") == T3
    assert revisions.changed == 1

    again = game("2026-12-01T18:00:00+00:00")
    revisions = Revisions(path)
    revisions.apply(again, T3.replace(day=25))
    assert again.decoded("SEQUENCE") == 1 and again.decoded("DTSTAMP") == T3


def test_a_damaged_revisions_file_starts_over_with_a_warning(tmp_path, caplog):
    path = tmp_path / "revisions.json"
    path.write_text("{not json")
    event = game("2026-12-01T16:00:00+00:00", sequence=3)
    Revisions(path).apply(event, T1)
    assert event.decoded("SEQUENCE") == 3
    assert "cannot be read" in caplog.text


def _games(output):
    calendar = icalendar.Calendar.from_ical((output / "calendars" / "athletics.ics").read_bytes())
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_rebuilds_raise_the_sequence_of_the_changed_game_only(tmp_path):
    content = copy_content(tmp_path)
    feed = content / "data" / "athletics" / "rschooltoday-2026-27.ics"
    first = tmp_path / "first"
    build(content, first)
    before = _games(first)
    second = tmp_path / "second"
    build(content, second)
    assert {uid: (e["SEQUENCE"], e["DTSTAMP"].to_ical()) for uid, e in _games(second).items()} == {
        uid: (e["SEQUENCE"], e["DTSTAMP"].to_ical()) for uid, e in before.items()
    }
    # The feed moves one game by an hour without raising its SEQUENCE.
    text = feed.read_text()
    old = "DTSTART;TZID=America/New_York:20261201T180000"
    assert old in text
    feed.write_text(text.replace(old, "DTSTART;TZID=America/New_York:20261201T190000", 1))
    third = tmp_path / "third"
    build(content, third, site_date="2026-11-24")
    after = _games(third)
    changed = [uid for uid in after if after[uid]["SEQUENCE"] != before[uid]["SEQUENCE"]]
    assert len(changed) == 1
    moved = after[changed[0]]
    assert int(moved["SEQUENCE"]) == int(before[changed[0]]["SEQUENCE"]) + 1
    assert moved.decoded("DTSTAMP") > before[changed[0]].decoded("DTSTAMP")
    shutil.rmtree(tmp_path / "first", ignore_errors=True)


def test_feed_titles_are_the_page_titles_and_home_is_the_school_field(tmp_path):
    content = copy_content(tmp_path)
    csv = content / "data" / "athletics" / "modified-jv-basketball.csv"
    csv.write_text(csv.read_text() + "2026-12-03,4:00 PM,Boys Basketball,Modified,"
                   "Lakeview   Academy,Home,Home,,\n")  # fmt: skip
    output = tmp_path / "out"
    build(content, output)
    games = _games(output)
    for event in games.values():
        summary = str(event["SUMMARY"])
        assert "  " not in summary, summary
        assert str(event.get("LOCATION", "")).strip().lower() != "home"
    (lakeview,) = [e for e in games.values() if "Lakeview" in str(e["SUMMARY"])]
    assert str(lakeview["LOCATION"]) == "Cedar Hollow School"
    team = (output / "athletics" / "home-games" / "index.html").read_text()
    assert str(lakeview["SUMMARY"]) == "Boys Modified Basketball vs. Lakeview Academy"
    assert 'data-label="Event">vs. Lakeview Academy<' in team  # the same title on the page
    row = team.split("vs. Lakeview Academy<")[1].split("</tr>")[0]
    assert 'data-label="Location">Cedar Hollow School<br>' in row
