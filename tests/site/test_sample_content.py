"""The sample content agrees with itself: every phone number a page gives is the staff
directory's number for the office it names, and the calendar is this school year's
(2026–27; the sample's "today" is in November 2026)."""

from __future__ import annotations

import re
from datetime import date

from school_events.expand import expand
from school_events.settings import CATEGORIES
from school_events.sources import load_events
from staff_directory.directory import load_directory

from tests.conftest import ROOT

CONTENT = ROOT / "content"
PAGES = CONTENT / "pages"
PHONE = re.compile(r"\(555\) 014-\d{4}")


def directory() -> dict[str, str]:
    """Role (lower case) -> phone, from the staff directory's CSV."""
    staff = load_directory(CONTENT / "data" / "staff")
    assert staff.problems == []
    return {m.role.lower(): m.phone for d in staff.departments for m in d.members if m.phone}


def test_every_phone_number_in_the_pages_is_in_the_staff_directory():
    known = set(directory().values())
    for page in PAGES.glob("*.md"):
        for number in PHONE.findall(page.read_text()):
            assert number in known, f"{page.name}: {number} is not in the staff directory"


def test_offices_are_called_on_their_own_numbers():
    roles = directory()
    food = roles["food service manager"]
    transport = roles["transportation director"]
    lunch = (PAGES / "lunch.md").read_text()
    assert food in lunch and transport not in lunch
    contact = (PAGES / "contact.md").read_text()
    assert f"food service office, {food}" in contact
    assert f"transportation office, {transport}" in contact
    athletics = (PAGES / "athletics.md").read_text()
    assert food not in athletics


def test_the_calendar_is_this_school_year(tmp_path):
    labels = dict(CATEGORIES)
    result = load_events(
        CONTENT / "events", CONTENT / "data" / "events", tmp_path, "America/New_York", labels,
        "school-wide", "test.site",
    )  # fmt: skip
    assert result.problems == []
    events = expand(result, "America/New_York", date(2026, 1, 1), date(2028, 1, 1), labels)
    assert len(events) > 10
    days = [e.first_day for e in events] + [e.last_day for e in events]
    assert all(date(2026, 8, 1) <= day <= date(2027, 7, 31) for day in days), sorted(days)
    # The Thanksgiving recess matches the alert and the menus (closed November 25-27).
    (recess,) = [e for e in events if "Thanksgiving" in e.title]
    assert (recess.first_day, recess.last_day) == (date(2026, 11, 25), date(2026, 11, 27))
    assert recess.category == "closings"
    assert (PAGES / "calendar.md").read_text().startswith("Title: School calendar 2026–27")
