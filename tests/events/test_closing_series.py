"""A closing alert's day cancels that day's occurrence of a recurring series too, not only
one-off events: on the calendar pages (the expanded occurrence) and in the calendar files
(an instance with RECURRENCE-ID and STATUS:CANCELLED beside the series, which keeps its
other weeks), and never twice when the feed already moved or cancelled that instance."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import icalendar
from school_events.assemble import assemble
from school_events.calendars import build_calendars, event_slug
from school_events.settings import CATEGORIES, EventsSettings
from school_events.sources import load_events
from school_feeds.subscribe import Subscription

TZ = "America/New_York"
NY = ZoneInfo(TZ)
LABELS = dict(CATEGORIES)
CLOSED = date(2026, 12, 1)  # a Tuesday
CLOSINGS = {CLOSED: "School closed: snow"}
SERIES = "chess-club@test"
MOVED = "art-club@test"
CLUBS = f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:{SERIES}
DTSTAMP:20261101T000000Z
SEQUENCE:2
DTSTART;TZID=America/New_York:20261103T153000
DTEND;TZID=America/New_York:20261103T163000
RRULE:FREQ=WEEKLY;COUNT=8
SUMMARY:Chess club
END:VEVENT
BEGIN:VEVENT
UID:{MOVED}
DTSTAMP:20261101T000000Z
DTSTART;TZID=America/New_York:20261103T141500
DTEND;TZID=America/New_York:20261103T151500
RRULE:FREQ=WEEKLY;COUNT=8
SUMMARY:Art club
END:VEVENT
BEGIN:VEVENT
UID:{MOVED}
DTSTAMP:20261101T000000Z
RECURRENCE-ID;TZID=America/New_York:20261201T141500
DTSTART;TZID=America/New_York:20261201T120000
DTEND;TZID=America/New_York:20261201T130000
SUMMARY:Art club (early)
END:VEVENT
END:VCALENDAR
"""


def _result(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "clubs.ics").write_text(CLUBS)
    (tmp_path / "data" / "feeds.toml").write_text('[files."clubs.ics"]\ncategory = "arts"\n')
    return load_events(
        tmp_path / "events", tmp_path / "data", tmp_path / "c", TZ, LABELS, "school-wide", "t"
    )


def test_the_closed_days_occurrence_is_cancelled_on_the_page(tmp_path):
    def subscribe(path, name, **values):
        return Subscription(name % values, f"https://x/{path}", f"webcal://x/{path}")

    view, _ = assemble(
        EventsSettings.from_mapping({"TIMEZONE": TZ}),
        datetime(2026, 12, 1, 7, 30, tzinfo=NY),
        _result(tmp_path),
        "t.site",
        subscribe,
        closings=CLOSINGS,
    )
    chess = {e.first_day: e.status for e in view.events if e.uid == SERIES}
    assert chess[CLOSED] == "cancelled"
    assert chess[date(2026, 11, 24)] == chess[date(2026, 12, 8)] == "scheduled"
    art = [e for e in view.events if e.uid == MOVED and e.first_day == CLOSED]
    assert [e.status for e in art] == ["cancelled"]


def test_the_calendar_file_cancels_that_occurrence_and_keeps_the_series(tmp_path):
    result = _result(tmp_path)
    stamp = datetime(2026, 12, 1, 12, tzinfo=UTC)
    everything, per_category, per_event = build_calendars(
        result, [], LABELS, TZ, "Cedar Hollow School", stamp, {"arts"}, closed=CLOSINGS
    )
    for calendar in (everything, per_category["arts"], per_event[event_slug(SERIES)]):
        parsed = icalendar.Calendar.from_ical(calendar.to_ical())
        chess = [e for e in parsed.walk("VEVENT") if str(e["UID"]) == SERIES]
        master = next(e for e in chess if "RECURRENCE-ID" not in e)
        assert "RRULE" in master and "STATUS" not in master  # the other weeks go on
        (instance,) = [e for e in chess if "RECURRENCE-ID" in e]
        assert instance.decoded("RECURRENCE-ID") == datetime(2026, 12, 1, 15, 30, tzinfo=NY)
        assert instance.decoded("DTSTART") == datetime(2026, 12, 1, 15, 30, tzinfo=NY)
        assert instance.decoded("DTEND") == datetime(2026, 12, 1, 16, 30, tzinfo=NY)
        assert str(instance["STATUS"]) == "CANCELLED"
        assert str(instance["SUMMARY"]) == "CANCELLED: Chess club"
        assert int(instance["SEQUENCE"]) == 2  # the series' own: an app replaces that day
        # The moved instance of the other series is cancelled where it is, once.
        art = [e for e in parsed.walk("VEVENT") if str(e["UID"]) == MOVED and "RECURRENCE-ID" in e]
        if art:
            assert len(art) == 1 and str(art[0]["STATUS"]) == "CANCELLED"
    # What a calendar app shows for that day: the occurrence, cancelled.
    import recurring_ical_events

    day = recurring_ical_events.of(everything).at(CLOSED)
    statuses = {str(e["UID"]): str(e.get("STATUS")) for e in day}
    assert statuses == {SERIES: "CANCELLED", MOVED: "CANCELLED"}
    next_week = recurring_ical_events.of(everything).at(date(2026, 12, 8))
    assert {str(e.get("STATUS")) for e in next_week} == {"None"}
