"""The month grid, the lists, closings from the menus, athletics games as events, and the
calendar files (series kept whole, one per category, one per event)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
from school_events.calendars import build_calendars, event_slug
from school_events.expand import closings_from_menus, events_from_games, expand
from school_events.model import Event
from school_events.settings import CATEGORIES
from school_events.sources import load_events
from school_events.view import Category, build_view, month_grid

HERE = Path(__file__).resolve().parent
TZ = "America/New_York"
NY = ZoneInfo(TZ)
LABELS = dict(CATEGORIES)
TODAY = date(2026, 11, 26)


def event(title: str, start, end=None, category="school-wide", **kwargs) -> Event:
    return Event(f"{title}@t", title, start, end, category, LABELS[category], **kwargs)


def test_november_2026_grid_starts_on_sunday_and_places_multi_day_events():
    recess = event("Thanksgiving", date(2026, 11, 25), date(2026, 11, 28), "closings")
    concert = event("Concert", datetime(2026, 11, 19, 18, 30, tzinfo=NY))
    grid = month_grid(date(2026, 11, 1), [recess, concert], TODAY)
    assert grid.label == "November 2026" and grid.slug == "2026-11"
    assert len(grid.weeks) == 5 and all(len(week) == 7 for week in grid.weeks)
    first = grid.weeks[0][0]
    assert first.day == date(2026, 11, 1) and first.day.weekday() == 6  # a Sunday
    last_week = grid.weeks[-1]
    assert last_week[1].day == date(2026, 11, 30) and not last_week[2].in_month
    cells = {cell.day: cell for week in grid.weeks for cell in week if cell.in_month}
    assert [e.title for e in cells[date(2026, 11, 26)].events] == ["Thanksgiving"]
    assert cells[date(2026, 11, 26)].today
    assert cells[date(2026, 11, 28)].events == []  # DTEND is exclusive
    assert [e.title for e in cells[date(2026, 11, 19)].events] == ["Concert"]
    # A day with events links to its heading in the list, or (when it only continues an
    # event listed earlier) to that event's entry.
    assert cells[date(2026, 11, 19)].target == "day-2026-11-19"
    assert cells[date(2026, 11, 27)].target == recess.anchor
    # The list lists the recess once, on its first day.
    assert [(g.day.day, [e.title for e in g.events]) for g in grid.days] == [
        (19, ["Concert"]),
        (25, ["Thanksgiving"]),
    ]


def test_view_links_months_and_fills_categories():
    pta = event("PTA meeting", datetime(2026, 12, 8, 18, 30, tzinfo=NY), category="pta")
    past = event("Old", datetime(2026, 10, 1, 18, 30, tzinfo=NY), category="pta")
    game = event("Game", datetime(2026, 11, 30, 16, 0, tzinfo=NY), category="athletics")
    categories = [Category(slug, label) for slug, label in CATEGORIES]
    view = build_view(
        [pta, past, game],
        TODAY,
        datetime(2026, 11, 26, 12, tzinfo=NY),
        (date(2026, 9, 15), date(2027, 1, 10)),
        categories,
        [],
    )
    assert [m.slug for m in view.months] == ["2026-09", "2026-10", "2026-11", "2026-12", "2027-01"]
    november = view.current_month
    assert november.previous.slug == "2026-10" and november.next.slug == "2026-12"
    assert view.months[0].previous is None and view.months[-1].next is None
    assert [e.title for g in view.category("pta").days for e in g.events] == ["PTA meeting"]
    # The home page leaves games to the athletics panel.
    assert [e.title for e in view.home_events] == ["PTA meeting"]


def test_home_panel_shows_a_repeating_event_once():
    weekly = [
        Event("club@t", "Club", datetime(2026, 12, d, 15, tzinfo=NY), None, "arts", "Arts")
        for d in (1, 8, 15)
    ]
    concert = event("Concert", datetime(2026, 12, 10, 18, tzinfo=NY), category="arts")
    view = build_view(
        [*weekly, concert],
        TODAY,
        datetime(2026, 11, 26, 12, tzinfo=NY),
        (date(2026, 11, 1), date(2026, 12, 31)),
        [Category(slug, label) for slug, label in CATEGORIES],
        [],
    )
    assert [(e.title, e.first_day.day) for e in view.home_events] == [("Club", 1), ("Concert", 10)]


@dataclass
class Menu:
    day: date
    no_school: bool
    note: str = ""
    sections: list = field(default_factory=list)

    @property
    def has_items(self) -> bool:
        return False


def test_closings_from_menus_join_days_in_a_row_and_skip_covered_days():
    menus = [
        Menu(date(2026, 11, 25), True, "Thanksgiving Recess - No School"),
        Menu(date(2026, 11, 26), True, "Thanksgiving Recess - No School"),
        Menu(date(2026, 11, 27), True, "Thanksgiving Recess - No School"),
        Menu(date(2027, 1, 15), True, "Snow day"),  # Friday
        Menu(date(2027, 1, 18), True, "Snow day"),  # Monday: the weekend joins them
        Menu(date(2026, 11, 3), True, ""),
    ]
    closings = closings_from_menus(menus, "t.site", covered={date(2026, 11, 3)})
    assert [(c.first_day, c.last_day, c.title) for c in closings] == [
        (date(2026, 11, 25), date(2026, 11, 27), "Thanksgiving Recess - No School"),
        (date(2027, 1, 15), date(2027, 1, 18), "Snow day"),
    ]
    assert all(c.category == "closings" and c.all_day for c in closings)
    # The UID depends on the dates only: a rebuild updates the same event.
    assert closings[0].uid == closings_from_menus(menus, "t.site", set())[1].uid


def test_a_day_with_lunch_served_at_one_school_is_not_a_closing():
    class Served(Menu):
        @property
        def has_items(self) -> bool:
            return True

    menus = [Menu(date(2026, 11, 3), True, "No School"), Served(date(2026, 11, 3), False)]
    assert closings_from_menus(menus, "t.site", set()) == []


@dataclass
class Game:
    uid: str
    start: object
    team_name: str
    title: str
    status: str = "scheduled"
    home_away: str = "home"
    location: str = ""
    kind: str = "game"
    source: str = "league.ics"
    recurring: bool = False


def test_games_become_athletics_events_and_practices_stay_out():
    games = [
        Game("g1", datetime(2026, 12, 4, 18, tzinfo=NY), "Boys JV Basketball", "at Lakeside",
             "cancelled", "away"),
        Game("p1", datetime(2026, 12, 5, 9, tzinfo=NY), "Wrestling", "Practice", kind="practice"),
    ]  # fmt: skip
    (game,) = events_from_games(games, lambda g: "athletics/boys-jv-basketball/")
    assert game.title == "Boys JV Basketball at Lakeside"
    assert game.category == "athletics" and game.cancelled
    assert game.end == game.start + timedelta(hours=2)
    assert game.link == "athletics/boys-jv-basketball/" and game.description == "Away game"


def test_calendars_keep_the_series_whole_and_file_events_by_category(tmp_path):
    (tmp_path / "data").mkdir()
    shutil.copy(HERE / "google_export.ics", tmp_path / "data" / "clubs.ics")
    (tmp_path / "data" / "feeds.toml").write_text('[files."clubs.ics"]\ncategory = "arts"\n')
    result = load_events(
        tmp_path / "events", tmp_path / "data", tmp_path / "c", TZ, LABELS, "school-wide", "t"
    )
    closing = event("Snow day", date(2027, 1, 15), date(2027, 1, 16), "closings")
    stamp = datetime(2026, 11, 26, tzinfo=UTC)
    everything, per_category, per_event = build_calendars(
        result, [closing], LABELS, TZ, "Cedar Hollow School", stamp, {"arts", "closings"}
    )
    series = "5f1k2d9s0b7q3r8m4n6p@google.com"
    robotics = icalendar.Calendar.from_ical(per_event[event_slug(series)].to_ical())
    parts = robotics.walk("VEVENT")
    # The master with its rule and exception, the moved and the cancelled instance.
    assert len(parts) == 3
    master = next(p for p in parts if "RECURRENCE-ID" not in p)
    assert "RRULE" in master and "EXDATE" in master
    cancelled = next(p for p in parts if str(p.get("STATUS")) == "CANCELLED")
    assert str(cancelled["SUMMARY"]).startswith("CANCELLED: ")
    assert [str(tz["TZID"]) for tz in robotics.walk("VTIMEZONE")] == ["America/New_York"]
    assert str(robotics["X-WR-CALNAME"]) == "Robotics club"
    # Every event of the file is an arts event; the closing has its own calendar.
    arts_uids = {str(e["UID"]) for e in per_category["arts"].walk("VEVENT")}
    assert series in arts_uids and closing.uid not in arts_uids
    assert [str(e["SUMMARY"]) for e in per_category["closings"].walk("VEVENT")] == ["Snow day"]
    assert len(everything.walk("VEVENT")) == len(result.events) + 1
    # The expanded view and the files agree on which events exist.
    shown = {e.uid for e in expand(result, TZ, date(2026, 10, 1), date(2027, 2, 1), LABELS)}
    assert shown <= {str(e["UID"]) for e in everything.walk("VEVENT")}


def test_assemble_merges_games_and_closings_and_reuses_the_athletics_subscription(tmp_path):
    from school_events.assemble import assemble
    from school_events.settings import EventsSettings
    from school_feeds.subscribe import Subscription

    class Athletics:
        games = [Game("g1@t", datetime(2026, 12, 1, 18, tzinfo=NY), "Girls Varsity Basketball",
                      "at Riverton", home_away="away")]  # fmt: skip
        subscription = Subscription("all games", "https://x/a.ics", "webcal://x/a.ics")

        def team_url(self, game):
            return "athletics/girls-varsity-basketball/"

    class Lunch:
        menus = [Menu(date(2026, 11, 25), True, "Thanksgiving Recess - No School"),
                 Menu(date(2027, 1, 15), True, "Snow day")]  # fmt: skip

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "district.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:tg@d\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20261125\r\n"
        "DTEND;VALUE=DATE:20261128\r\nSUMMARY:Thanksgiving Recess - No School\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    result = load_events(
        tmp_path / "events", tmp_path / "data", tmp_path / "c", TZ, LABELS, "school-wide", "t"
    )
    config = EventsSettings.from_mapping({"TIMEZONE": TZ})
    links = []

    def subscribe(path, name, **values):
        links.append(path)
        return Subscription(name % values, f"https://x/{path}", f"webcal://x/{path}")

    view, derived = assemble(
        config,
        datetime(2026, 11, 26, 12, tzinfo=NY),
        result,
        "t.site",
        subscribe,
        athletics=Athletics(),
        lunch=Lunch(),
    )
    # The lunch closing on the 25th is the district's recess already: only the snow day.
    assert [(e.title, e.category) for e in derived] == [
        ("Girls Varsity Basketball at Riverton", "athletics"),
        ("Snow day", "closings"),
    ]
    assert view.category("athletics").subscription.name == "all games"
    assert view.category("athletics").calendar_path == ""
    assert "calendars/events-athletics.ics" not in links
    assert "calendars/events-pta.ics" in links and "calendars/events.ics" in links
    assert all(e.ics_url.startswith("calendars/events/") for e in view.events)
    assert view.current_month.url == "calendar/2026-11/"
    assert [e.title for e in view.events if e.category == "closings"] == [
        "Thanksgiving Recess - No School",
        "Snow day",
    ]


def test_google_html_descriptions_become_plain_text():
    from school_events.expand import plain_description

    text = (
        "Bring a <b>laptop</b> &amp; charger<br>Room 214<br/>"
        '<a href="https://example.org/signup">Sign up here</a><p>Parents welcome</p>'
    )
    assert plain_description(text) == (
        "Bring a laptop & charger\nRoom 214\nSign up here\n\nParents welcome"
    )
    # Plain text with something that only looks like markup is kept as written.
    assert plain_description("Grades 3 < 5 & up\r\nBring water") == (
        "Grades 3 < 5 & up\nBring water"
    )
