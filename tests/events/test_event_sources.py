"""Reading events: a Google Calendar export (time zone, weekly series with an exception, a
moved and a cancelled instance, an all-day multi-day event, an event in UTC, a broken event),
an Outlook export, Markdown event files, and a district feed that falls back to its last
good copy."""

from __future__ import annotations

import shutil
import threading
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from school_events.expand import expand
from school_events.settings import CATEGORIES
from school_events.sources import EventFileError, load_events, read_event_file

HERE = Path(__file__).resolve().parent
TZ = "America/New_York"
NY = ZoneInfo(TZ)
LABELS = dict(CATEGORIES)
SERIES = "5f1k2d9s0b7q3r8m4n6p@google.com"


def load(folder: Path, **kwargs):
    return load_events(
        folder / "events", folder / "data", folder / "cache", TZ, LABELS, "school-wide",
        "test.site", **kwargs,
    )  # fmt: skip


def occurrences(result, start=date(2026, 10, 1), end=date(2027, 1, 31)):
    return sorted(expand(result, TZ, start, end, LABELS), key=lambda e: e.sort_key)


@pytest.fixture
def google(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    shutil.copy(HERE / "google_export.ics", tmp_path / "data" / "clubs.ics")
    return tmp_path


def test_weekly_series_keeps_its_local_time_across_the_clock_change(google):
    robotics = [e for e in occurrences(load(google)) if e.uid == SERIES]
    assert robotics[0].start == datetime(2026, 10, 13, 15, 30, tzinfo=NY)
    assert robotics[0].start.utcoffset().total_seconds() == -4 * 3600  # EDT
    nov17 = next(e for e in robotics if e.first_day == date(2026, 11, 17))
    assert (nov17.start.hour, nov17.start.minute) == (15, 30)
    assert nov17.start.utcoffset().total_seconds() == -5 * 3600  # EST after November 1
    assert nov17.when == "3:30 p.m. – 5:00 p.m."
    assert all(e.recurring for e in robotics)


def test_exdate_moved_and_cancelled_instances(google):
    robotics = [e for e in occurrences(load(google)) if e.uid == SERIES]
    days = [e.first_day for e in robotics]
    # UNTIL is 23:59:59 on December 15, school time: the 15th is the last meeting.
    assert days == [
        date(2026, 10, 13), date(2026, 10, 20), date(2026, 10, 27),  # Nov 3: EXDATE
        date(2026, 11, 12),  # the Nov 10 meeting moved to Thursday at 4
        date(2026, 11, 17), date(2026, 11, 24), date(2026, 12, 1), date(2026, 12, 8),
        date(2026, 12, 15),
    ]  # fmt: skip
    moved = robotics[3]
    assert moved.title == "Robotics club (moved to Thursday)"
    assert moved.start == datetime(2026, 11, 12, 16, 0, tzinfo=NY)
    assert moved.location == "Library"
    cancelled = next(e for e in robotics if e.first_day == date(2026, 11, 24))
    assert cancelled.cancelled and cancelled.status_label == "Cancelled"
    assert [e.first_day for e in robotics if e.cancelled] == [date(2026, 11, 24)]


def test_all_day_multi_day_event_spans_its_days(google):
    recess = next(e for e in occurrences(load(google)) if e.title == "Winter recess")
    assert recess.all_day and recess.multi_day
    assert (recess.first_day, recess.last_day) == (date(2026, 12, 24), date(2027, 1, 1))
    assert recess.touches(date(2026, 12, 31)) and not recess.touches(date(2027, 1, 2))
    assert recess.when == "Through Friday, January 1, 2027"


def test_utc_event_is_shown_in_school_time(google):
    board = next(e for e in occurrences(load(google)) if e.title.startswith("Board"))
    # 00:00 UTC on December 9 is 7 p.m. on December 8 in Millbrook.
    assert board.start == datetime(2026, 12, 8, 19, 0, tzinfo=NY)
    assert board.first_day == date(2026, 12, 8)
    assert board.location == "District Office, 40 Mill Street, Millbrook"


def test_broken_event_is_skipped_with_a_problem_naming_file_and_uid(google):
    result = load(google)
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert "clubs.ics" in problem and "UID 9x9x9x9x9broken@google.com" in problem
    assert "skipped" in problem
    assert all(e.uid != "9x9x9x9x9broken@google.com" for e in occurrences(result))
    # The rest of the file is still there.
    assert len({e.uid for e in occurrences(result)}) == 3


def test_title_saying_no_school_is_a_closing_whatever_the_feed_says(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "district.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:mlk@d\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20270118\r\n"
        "SUMMARY:Martin Luther King Jr. Day - No School\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:concert@d\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;VALUE=DATE:20270120\r\nCATEGORIES:Arts\r\nSUMMARY:Band night\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    (tmp_path / "data" / "feeds.toml").write_text('[files."district.ics"]\ncategory = "pta"\n')
    events = {e.uid: e for e in occurrences(load(tmp_path), end=date(2027, 2, 1))}
    assert events["mlk@d"].category == "closings"
    assert events["concert@d"].category == "arts"  # the event's own CATEGORIES


# --- Markdown event files -----------------------------------------------------------------


def write_event(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "events"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_markdown_weekly_event_with_exceptions(tmp_path):
    write_event(
        tmp_path,
        "read-with-me.md",
        "Title: Read with me\nDate: 2026-11-03 8:15 AM\nEnd: 8:45 AM\nLocation: Library\n"
        "Repeat: FREQ=WEEKLY;BYDAY=TU,TH\nUntil: 2026-11-19\nExcept: 2026-11-12\n\n"
        "Stories before the bell.\n",
    )
    result = load(tmp_path)
    assert result.problems == []
    events = occurrences(result)
    assert [e.first_day.day for e in events] == [3, 5, 10, 17, 19]
    assert events[0].start == datetime(2026, 11, 3, 8, 15, tzinfo=NY)
    assert events[0].when == "8:15 a.m. – 8:45 a.m."
    assert events[0].description == "Stories before the bell."
    assert events[0].category == "school-wide"
    # The UID comes from the file name: the same in every build.
    assert len({e.uid for e in events}) == 1
    assert events[0].uid == occurrences(load(tmp_path))[0].uid


def test_readme_and_set_aside_files_are_not_events(tmp_path):
    write_event(tmp_path, "README.md", "# How to add an event\n")
    write_event(tmp_path, "_draft-concert.md", "Title: Concert\nDate: 2026-12-10\n")
    write_event(tmp_path, "fair.md", "Title: Fair\nDate: 2026-12-10\n")
    result = load(tmp_path)
    assert result.problems == [] and [e.title for e in occurrences(result)] == ["Fair"]


def test_markdown_multi_day_event_ends_on_the_day_written(tmp_path):
    write_event(
        tmp_path,
        "book-fair.md",
        "Title: Book fair\nDate: 12/07/2026\nEnd: 12/11/2026\nCategory: PTA\n",
    )
    (fair,) = occurrences(load(tmp_path))
    assert (fair.first_day, fair.last_day) == (date(2026, 12, 7), date(2026, 12, 11))
    assert fair.category == "pta" and fair.category_label == "PTA"


def test_markdown_timed_event_over_several_days(tmp_path):
    write_event(
        tmp_path,
        "play.md",
        "Title: Winter play\nDate: 2027-01-28 7:00 PM\nEnd: 2027-01-30 9:30 PM\nCategory: Arts\n",
    )
    (play,) = occurrences(load(tmp_path), end=date(2027, 2, 28))
    assert play.multi_day and (play.first_day, play.last_day) == (
        date(2027, 1, 28),
        date(2027, 1, 30),
    )
    assert play.when == "7:00 p.m. until Saturday, January 30 at 9:30 p.m."


def test_misspelt_line_is_reported_and_the_event_kept(tmp_path):
    path = write_event(
        tmp_path, "fair.md", "Title: Fair\nDate: 2026-12-10\nLocaton: Gym\nColor: red\n"
    )
    result = load(tmp_path)
    assert [e.title for e in occurrences(result)] == ["Fair"]
    assert result.problems[0].startswith(
        f"{path}: line 3: Locaton: is not a line the calendar reads (did you mean Location:?)"
    )
    assert result.problems[1].startswith(f"{path}: line 4: Color: is not a line")
    assert len(result.problems) == 2


def test_markdown_cancelled_event(tmp_path):
    write_event(
        tmp_path,
        "movie.md",
        "Title: Movie night\nDate: 2026-12-04 18:00\nCategory: pta\nStatus: Cancelled\n",
    )
    (movie,) = occurrences(load(tmp_path))
    assert movie.cancelled and movie.when == "6:00 p.m."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Title Winter concert\nDate: 2026-12-10\n", "line 1: 'Title Winter concert'"),
        ("Title: Concert\nDate: 2026-13-10\n", "line 2: Date: '2026-13-10' is not a date"),
        ("Title: Concert\nDate: 2026-12-10 25:00\n", "line 2: Date: '25:00' is not a time"),
        ("Date: 2026-12-10\n", "no Title: line"),
        ("Title: Concert\nDate: 2026-12-10\nCategory: Music\n", "line 3: Category: 'Music'"),
        (
            "Title: Concert\nDate: 2026-12-10 18:00\nEnd: 2026-12-09 18:00\n",
            "line 3: End: '2026-12-09 18:00' is not after Date: '2026-12-10 18:00'",
        ),
        ("Title: Club\nDate: 2026-12-10\nExcept: 2026-12-17\n", "line 3: Until: and Except:"),
        ("Title: Club\nDate: 2026-12-10\nRepeat: fortnightly\n", "line 3: Repeat:"),
        ("Title: Club\nDate: 2026-12-10\nStatus: maybe\n", "line 3: Status:"),
    ],
)
def test_bad_markdown_event_names_the_line_and_is_skipped(tmp_path, text, expected):
    write_event(tmp_path, "good.md", "Title: Good\nDate: 2026-12-01\n")
    path = write_event(tmp_path, "bad.md", text)
    with pytest.raises(EventFileError) as caught:
        read_event_file(path, NY, "t", LABELS, "school-wide")
    assert expected in str(caught.value)
    result = load(tmp_path)
    assert len(result.problems) == 1
    assert result.problems[0].startswith(f"{path}: ") and expected in result.problems[0]
    assert [e.title for e in occurrences(result, start=date(2026, 11, 1))] == ["Good"]


# --- A district feed with the last good copy ------------------------------------------------


class FeedServer:
    """A loopback server whose answer the test changes: the feed, or an error page."""

    def __init__(self, body: bytes) -> None:
        self.body, self.status = body, 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the name http.server calls
                self.send_response(owner.status)
                self.send_header("Content-Type", "text/calendar")
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/district.ics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_district_feed_falls_back_to_the_last_good_copy(tmp_path):
    server = FeedServer((HERE / "google_export.ics").read_bytes())
    try:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "feeds.toml").write_text(
            f'[[feed]]\nname = "district"\ntitle = "District calendar"\nurl = "{server.url}"\n'
            'format = "ics"\ncategory = "school-wide"\ntimeout = 5\n'
        )
        fresh = load(tmp_path)
        assert [s.stale for s in fresh.sources] == [False]
        assert len({e.uid for e in occurrences(fresh)}) == 3
        # The server now answers with an error page: the cached copy is used, and the
        # source says it is stale (the calendar page shows a notice with its date).
        server.body, server.status = b"<html>Service unavailable</html>", 503
        stale = load(tmp_path)
        (source,) = stale.sources
        assert source.stale and source.updated is not None
        assert source.label == "District calendar"
        assert len({e.uid for e in occurrences(stale)}) == 3
        # Garbage with status 200 is refused the same way, and does not replace the copy.
        server.status = 200
        again = load(tmp_path)
        assert again.sources[0].stale and "BEGIN:VCALENDAR" in again.sources[0].error
        assert len({e.uid for e in occurrences(again)}) == 3
    finally:
        server.close()


def test_outlook_export_with_a_windows_time_zone_name(tmp_path):
    (tmp_path / "data").mkdir()
    shutil.copy(HERE / "outlook_export.ics", tmp_path / "data" / "district.ics")
    result = load(tmp_path)
    assert result.problems == []
    workshops = occurrences(result)
    # "Eastern Standard Time" is Outlook's name for New York's zone, summer time included.
    assert workshops[0].start == datetime(2026, 10, 28, 19, 0, tzinfo=NY)
    assert workshops[0].start.utcoffset().total_seconds() == -4 * 3600
    assert [e.first_day.day for e in workshops] == [28, 4, 11, 18, 2, 9]  # not Nov 25
    assert all(e.when == "7:00 p.m. – 8:00 p.m." for e in workshops)
    assert workshops[0].description == ""
