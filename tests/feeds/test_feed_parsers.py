"""Each feed format parses into the right menus and games (no Pelican)."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from athletics.parsers import describe, parse_csv
from athletics.schedule import LoadResult, SourceEvent, csv_uids, expand, merge_events
from lunch_menu.menus import LoadResult as MenuLoad
from lunch_menu.menus import build_view
from lunch_menu.parsers import parse_csv as parse_menu_csv
from lunch_menu.parsers import parse_ics as parse_menu_ics
from lunch_menu.parsers import parse_nutrislice
from school_feeds.fetch import FeedError
from school_feeds.ics_in import read_ics

from tests.conftest import ROOT

NY = ZoneInfo("America/New_York")
LABELS = {"school": "Upper School", "meal": "Lunch"}
SCHOOL = ["Cedar Hollow School", "Cedar Hollow"]
LUNCH = ROOT / "content" / "data" / "lunch"
ATHLETICS = ROOT / "content" / "data" / "athletics"


def nutrislice_day(day: str, items: list[dict], **extra) -> dict:
    return {"date": day, "menu_items": items, **extra}


def food(name: str, icons: list[str], calories: float | None = None) -> dict:
    return {
        "is_section_title": False,
        "text": "",
        "food": {
            "name": name,
            "icons": {"food_icons": [{"name": icon} for icon in icons]},
            "rounded_nutrition_info": {"calories": calories, "g_protein": 12.0},
        },
    }


def test_nutrislice_sections_labels_nutrition_and_holidays():
    data = {
        "days": [
            nutrislice_day("2026-11-22", []),  # Sunday, nothing published
            nutrislice_day(
                "2026-11-23",
                [
                    {"is_section_title": True, "text": "Option 1", "position": 0},
                    {**food("Cheese Pizza", ["Contains Milk", "Vegetarian"], 290.0), "position": 1},
                    {"is_section_title": True, "text": "Option 2", "position": 2},
                    {**food("Chef Salad", ["Contains Egg"]), "position": 3},
                ],
            ),
            nutrislice_day(
                "2026-11-26",
                [{"text": "Thanksgiving Recess - No School", "is_holiday": True, "food": None}],
            ),
        ]
    }
    days, problems = parse_nutrislice(json.dumps(data).encode(), LABELS, "test.json")
    assert problems == []
    assert [d.day for d in days] == [date(2026, 11, 23), date(2026, 11, 26)]
    monday, thursday = days
    assert [s.title for s in monday.sections] == ["Option 1", "Option 2"]
    pizza = monday.sections[0].items[0]
    assert pizza.name == "Cheese Pizza"
    assert pizza.labels == ("Contains Milk", "Vegetarian")
    assert ("Calories", "290") in pizza.nutrition
    assert thursday.no_school and thursday.note == "Thanksgiving Recess - No School"
    assert (monday.school, monday.meal) == ("Upper School", "Lunch")


def test_sample_nutrislice_week_has_thanksgiving_break():
    raw = (LUNCH / "upper-school-lunch-week-2026-11-23.json").read_bytes()
    days, _ = parse_nutrislice(raw, LABELS, "sample")
    closed = {d.day for d in days if d.no_school}
    assert closed == {date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)}


@pytest.mark.parametrize("raw", [b"<html>502 Bad Gateway</html>", b'{"days": 3}', b"\xff\xfe"])
def test_nutrislice_garbage_is_rejected(raw):
    with pytest.raises(FeedError):
        parse_nutrislice(raw, LABELS, "bad.json")


def test_menu_csv_with_optional_columns_and_bad_rows():
    raw = (
        b"Date,Meal,Item,Allergens,School,Section\n"
        b"2026-11-23,Breakfast,Yogurt Parfait,Milk; Wheat,Lower School,Main\n"
        b"11/24/2026,Breakfast,Oatmeal,,Lower School,\n"
        b"next tuesday,Breakfast,Toast,Wheat,Lower School,\n"
        b"2026-11-26,Breakfast,No School - Thanksgiving,,Lower School,\n"
    )
    days, problems = parse_menu_csv(raw, LABELS, "breakfast.csv")
    assert len(problems) == 1 and "line 4" in problems[0] and "next tuesday" in problems[0]
    parfait = days[0].sections[0]
    assert (parfait.title, parfait.items[0].labels) == ("Main", ("Milk", "Wheat"))
    assert days[1].day == date(2026, 11, 24)
    assert days[2].no_school


def test_menu_csv_without_required_columns_names_them():
    with pytest.raises(FeedError, match="missing meal"):
        parse_menu_csv(b"date,item\n2026-11-23,Pizza\n", LABELS, "x.csv")


def test_menu_ics_one_event_per_day():
    raw = (LUNCH / "lower-school-lunch-2026-11.ics").read_bytes()
    days, problems = parse_menu_ics(raw, {"school": "Lower School", "meal": "Lunch"}, "x.ics")
    assert problems == []
    monday = next(d for d in days if d.day == date(2026, 11, 23))
    assert monday.uid == "lower-lunch-20261123@menus.millbrookcsd.example.org"
    assert [s.title for s in monday.sections] == ["Main", "Sides"]
    assert monday.sections[0].items[0].name == "Chicken Nuggets"
    assert monday.sections[0].items[0].labels == ("Contains Wheat",)
    assert next(d for d in days if d.day == date(2026, 11, 26)).no_school


def test_week_view_marks_no_school_days_and_today():
    raw = (LUNCH / "upper-school-lunch-week-2026-11-23.json").read_bytes()
    days, _ = parse_nutrislice(raw, LABELS, "sample")
    view = build_view(MenuLoad(menus=days), date(2026, 11, 23))
    rows = view.weeks[0].tables[0].rows
    assert [r.day.day for r in rows] == [23, 24, 25, 26, 27]
    assert rows[0].is_today
    assert [bool(r.closed_note) for r in rows] == [False, False, True, True, True]
    assert view.today_lunch and view.today_lunch[0].day == date(2026, 11, 23)


@pytest.mark.parametrize(
    ("summary", "location", "expected"),
    [
        (
            "Track Girls Varsity Cedar Hollow at Northfield High School",
            "Away",
            ("Track", "Varsity", "Girls", "Northfield High School", "away"),
        ),
        ("Varsity Football vs. Central", "", ("Football", "Varsity", "", "Central", "home")),
        ("Boys JV Basketball @ Lakeside", "", ("Basketball", "JV", "Boys", "Lakeside", "away")),
        (
            "Girls Varsity Soccer: Northfield at Cedar Hollow",
            "",
            ("Soccer", "Varsity", "Girls", "Northfield", "home"),
        ),
        (
            "Varsity Football vs. Central",
            "Away",
            ("Football", "Varsity", "", "Central", "away"),
        ),
    ],
)
def test_summaries_as_league_platforms_write_them(summary, location, expected):
    info = describe(summary, location, "", "", SCHOOL, {})
    assert (info.sport, info.level, info.gender, info.opponent, info.home_away) == expected


def test_status_result_and_bus_from_event_text():
    cancelled = describe("Boys JV Basketball vs. Lakeside", "", "", "CANCELLED", SCHOOL, {})
    postponed = describe("POSTPONED - Varsity Soccer vs. Oak Ridge", "", "", "", SCHOOL, {})
    played = describe(
        "Varsity Football at Riverton", "", "Bus departs: 4:45 PM\nResult: W 21-17", "", SCHOOL, {}
    )
    assert cancelled.status == "cancelled"
    assert (postponed.status, postponed.sport, postponed.opponent) == (
        "postponed",
        "Soccer",
        "Oak Ridge",
    )
    assert (played.bus, played.result) == ("4:45 p.m.", "W 21-17")


def ics(*events: str, tz: bool = False) -> bytes:
    zone = (ATHLETICS / "rschooltoday-2026-27.ics").read_text()
    vtimezone = zone[zone.index("BEGIN:VTIMEZONE") : zone.index("END:VTIMEZONE") + 13]
    body = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"])
    if tz:
        body += "\r\n" + vtimezone.replace("\n", "\r\n").replace("\r\r", "\r")
    return (body + "\r\n" + "\r\n".join(events) + "\r\nEND:VCALENDAR\r\n").encode()


def event(uid: str, start: str, summary: str, *extra: str, seq: int = 0) -> str:
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261101T000000Z", f"SEQUENCE:{seq}"]
    lines += [start, f"SUMMARY:{summary}", *extra, "END:VEVENT"]
    return "\r\n".join(lines)


def games_from(*calendars: bytes, labels=None):
    collected = []
    for number, raw in enumerate(calendars):
        calendar = read_ics(raw)[0]
        for component in calendar.walk("VEVENT"):
            collected.append(SourceEvent(component, f"feed{number}", labels or {}, len(collected)))
    result = LoadResult(events=merge_events(collected))
    for raw in calendars:
        result.timezones.extend(read_ics(raw)[0].walk("VTIMEZONE"))
    return expand(
        result, SCHOOL, "America/New_York", date(2026, 9, 1), date(2027, 3, 1), "test.site"
    )


def test_times_across_the_dst_change_show_school_time():
    # 6 p.m. in New York is 22:00 UTC in October (EDT) and 23:00 UTC in November (EST).
    games = games_from(
        ics(
            event("a@x", "DTSTART:20261030T220000Z", "Varsity Football vs. Central"),
            event("b@x", "DTSTART:20261106T230000Z", "Varsity Football vs. Riverton"),
            event("c@x", "DTSTART;TZID=America/New_York:20261102T180000", "Varsity Soccer vs. X"),
            tz=True,
        )
    )
    assert [(g.time_label, g.day.isoformat()) for g in games] == [
        ("6:00 p.m.", "2026-10-30"),
        ("6:00 p.m.", "2026-11-02"),
        ("6:00 p.m.", "2026-11-06"),
    ]
    assert all(g.start.tzinfo == ZoneInfo("America/New_York") for g in games)


def test_weekly_practice_recurs_across_dst_with_exceptions():
    games = games_from(
        ics(
            event(
                "practice@x",
                "DTSTART;TZID=America/New_York:20261026T153000",
                "Boys Varsity Basketball Practice",
                "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4",
                "EXDATE;TZID=America/New_York:20261102T153000",
            ),
            tz=True,
        )
    )
    assert [g.day.isoformat() for g in games] == ["2026-10-26", "2026-11-09", "2026-11-16"]
    assert {g.start.time() for g in games} == {time(15, 30)}
    assert all(g.kind == "practice" and g.recurring for g in games)
    assert {g.uid for g in games} == {"practice@x"}


def test_highest_sequence_wins_across_feeds():
    first = ics(event("g@x", "DTSTART:20261205T000000Z", "Boys Varsity Basketball vs. Lakeside"))
    second = ics(
        event(
            "g@x",
            "DTSTART:20261205T003000Z",
            "Boys Varsity Basketball vs. Lakeside",
            "STATUS:CANCELLED",
            seq=2,
        )
    )
    older_again = ics(
        event("g@x", "DTSTART:20261205T010000Z", "Boys Varsity Basketball vs. Lakeside", seq=1)
    )
    for order in [(first, second, older_again), (second, older_again, first)]:
        games = games_from(*order)
        assert len(games) == 1
        assert games[0].cancelled and games[0].time_label == "7:30 p.m."


def test_athletics_csv_export():
    games, problems = parse_csv((ATHLETICS / "modified-jv-basketball.csv").read_bytes())
    assert problems == []
    first = games[0]
    assert (first.sport, first.gender, first.level, first.opponent) == (
        "Basketball",
        "Boys",
        "Modified",
        "Riverton",
    )
    assert (first.home_away, first.bus, first.result) == ("away", "3:15 p.m.", "W 34-28")
    assert any(g.status == "cancelled" and g.result == "" for g in games)
    assert any(g.start is None for g in games)  # "TBA"


def test_csv_uids_are_stable_and_distinct():
    raw = (ATHLETICS / "modified-jv-basketball.csv").read_bytes()
    games = [(g, "x.csv") for g in parse_csv(raw)[0]]
    first, second = csv_uids(games, "site"), csv_uids(list(games), "site")
    assert first == second and len(set(first)) == len(first)
    # Changing the time of a game keeps its UID, so calendar apps move the event.
    games[0][0].start = time(18, 0)
    assert csv_uids(games, "site")[0] == first[0]


def test_broken_ics_is_rejected_with_reason():
    with pytest.raises(FeedError, match="BEGIN:VCALENDAR"):
        read_ics(b"<html>Service unavailable</html>")
    # One bad event is left out with a reason naming it; the rest of the file is used.
    calendar, problems = read_ics(
        ics(
            "BEGIN:VEVENT\r\nSUMMARY:x\r\nDTSTART:20261101T000000Z\r\nEND:VEVENT",
            event("bad@x", "DTSTART:20261330T190000", "Varsity Football vs. Central"),
            event("good@x", "DTSTART:20261105T230000Z", "Varsity Football vs. Riverton"),
            event("rule@x", "DTSTART:20261106T230000Z", "JV Football", "RRULE:FREQ=SOMETIMES"),
        )
    )
    assert [str(e["UID"]) for e in calendar.walk("VEVENT")] == ["good@x"]
    assert problems == [
        "the event 'x' has no UID; it was skipped",
        "the event 'Varsity Football vs. Central' (UID bad@x) DTSTART '20261330T190000' "
        "is not a valid date or time; it was skipped",
        "the event 'JV Football' (UID rule@x) RRULE 'FREQ=SOMETIMES' cannot be read; "
        "it was skipped",
    ]


def test_game_labels():
    game = games_from(
        ics(event("x@x", "DTSTART;VALUE=DATE:20261205", "Girls Varsity Track at Northfield"))
    )[0]
    assert game.all_day and game.time_label == "Time to be announced"
    assert game.team_slug == "girls-varsity-track"
    assert datetime(2026, 12, 5).date() == game.day
