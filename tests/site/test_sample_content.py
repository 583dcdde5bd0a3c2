"""The sample content agrees with itself: every phone number a page gives is the staff
directory's number for the office it names, and the calendar is this school year's
(2026–27; the sample's "today" is in November 2026)."""

from __future__ import annotations

import re
from datetime import date, datetime

from tests.conftest import ROOT

PAGES = ROOT / "content" / "pages"
PHONE = re.compile(r"\(555\) 014-\d{4}")


def directory() -> dict[str, str]:
    """Role (lower case) -> phone, from the staff directory's tables."""
    roles = {}
    for line in (PAGES / "staff-directory.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) >= 3 and PHONE.search(cells[2]):
            roles[cells[1].lower()] = PHONE.search(cells[2]).group(0)
    return roles


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


def test_the_calendar_is_this_school_year():
    text = (PAGES / "calendar.md").read_text()
    assert text.startswith("Title: School calendar 2026–27")
    days = [
        datetime.strptime(match, "%B %d, %Y").date()
        for match in re.findall(r"(?:January|February|March|April|May|June|July|August|"
                                r"September|October|November|December) \d{1,2}, \d{4}", text)
    ]  # fmt: skip
    assert len(days) > 10
    assert all(date(2026, 8, 1) <= day <= date(2027, 7, 31) for day in days), days
    # The Thanksgiving recess matches the alert and the menus (closed November 25-27).
    assert "November 25–27, 2026 | Thanksgiving recess" in text
