"""A real Nutrislice week's shape: section titles sent as title-only entries with
`is_section_title: false` ("Option 1", "Option 2 - Potato Bar", "Side Options") are headings,
not dishes, on the page and in lunch.ics; the vendor's marketing text under each dish is
"more" away; and at 375 px today's menus (both schools) fit two phone screens, a school's
week eight."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from lunch_menu.parsers import parse_nutrislice

from tests.site.helpers import build, copy_content, serve

SCHOOL_DAY = "2026-11-30T07:30"  # a Monday
MONDAY = date(2026, 11, 30)
PHONE = {"width": 375, "height": 667}
TITLES = ("Option 1", "Option 2 - Potato Bar", "Side Options")
BLURB = (
    "Our chef-inspired recipe is made from scratch with wholesome, locally sourced "
    "ingredients your students will love. Packed with flavor and served hot every day, it "
    "meets USDA meal pattern requirements and is a cafeteria favorite across the district!"
)
ICONS = [
    {"id": 1, "name": "Contains Milk", "synced_name": "milk", "help_text": "Contains milk",
     "type": "allergen"},
    {"id": 2, "name": "Contains Wheat", "synced_name": "wheat", "help_text": "Contains wheat",
     "type": "allergen"},
]  # fmt: skip
SECTIONS = {
    "Option 1": ["Chicken Tenders with Honey Mustard", "Whole Grain Dinner Roll"],
    "Option 2 - Potato Bar": ["Baked Potato", "Chili Con Carne", "Shredded Cheddar Cheese"],
    "Side Options": ["Steamed Broccoli", "Garden Salad", "Fresh Apple Slices", "Chilled Pears"],
}


def _entry(day: date, position: int, text: str = "", food: dict | None = None) -> dict:
    return {
        "id": 74900000 + position,
        "date": day.isoformat(),
        "position": position,
        "is_section_title": False,  # as the vendor sends it, titles included
        "bold": bool(text),
        "featured": False,
        "text": text,
        "no_line_break": False,
        "blank_line": False,
        "food": food,
        "is_holiday": False,
        "is_station_header": False,
        "station_id": None,
        "menu_id": 4471,
        "category": "entree",
        "image": None,
    }


def _food(food_id: int, name: str) -> dict:
    return {
        "id": food_id,
        "name": name,
        "description": BLURB,
        "subtext": "",
        "image_url": None,
        "hoverpic": None,
        "price": None,
        "ingredients": "",
        "food_category": "entree",
        "rounded_nutrition_info": {"calories": 310, "g_fat": 9, "mg_sodium": 480},
        "serving_size_info": {"serving_size_amount": "1", "serving_size_unit": "each"},
        "has_nutrition_info": True,
        "icons": {"food_icons": ICONS, "myplate_icons": []},
    }


def vendor_week(monday: date) -> dict:
    days = []
    for offset in range(5):
        day = monday + timedelta(days=offset)
        items, position = [], 0
        for title, foods in SECTIONS.items():
            items.append(_entry(day, position, text=title))
            position += 1
            for name in foods:
                items.append(_entry(day, position, food=_food(9500000 + position, name)))
                position += 1
        items.append(_entry(day, position, food=_food(9600000, "1% Low Fat Milk")))
        days.append(
            {"date": day.isoformat(), "has_unpublished_menus": False, "menu_info": {},
             "menu_items": items}
        )  # fmt: skip
    return {"start_date": monday.isoformat(), "menu_type_id": 4471, "days": days}


def test_title_only_entries_are_sections_not_dishes():
    raw = json.dumps(vendor_week(MONDAY)).encode()
    days, problems = parse_nutrislice(raw, {"school": "Upper", "meal": "Lunch"}, "week.json")
    assert not problems
    monday = days[0]
    assert [s.title for s in monday.sections] == list(TITLES)
    dishes = [item.name for s in monday.sections for item in s.items]
    assert not set(TITLES) & set(dishes)
    assert "Baked Potato" in [i.name for i in monday.sections[1].items]
    assert "1% Low Fat Milk" in [i.name for i in monday.sections[2].items]


def test_text_only_entries_without_foods_after_them_stay_dishes():
    week = vendor_week(MONDAY)
    day = week["days"][0]
    day["menu_items"] = [_entry(MONDAY, 0, text="Pizza Day"), _entry(MONDAY, 1, text="Salad")]
    days, _ = parse_nutrislice(json.dumps(week).encode(), {"school": "U", "meal": "Lunch"}, "w")
    assert [item.name for s in days[0].sections for item in s.items] == ["Pizza Day", "Salad"]


@pytest.fixture(scope="module")
def vendor_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("vendor-lunch")
    content = copy_content(root)
    lunch = content / "data" / "lunch"
    for old in lunch.glob("upper-school-lunch-week-*.json"):
        old.unlink()
    for monday in (MONDAY - timedelta(days=7), MONDAY, MONDAY + timedelta(days=7)):
        path = lunch / f"upper-school-lunch-week-{monday.isoformat()}.json"
        path.write_text(json.dumps(vendor_week(monday), indent=1))
    output = root / "output"
    build(output, content=content, site_date=SCHOOL_DAY, PLUGINS=["lunch_menu"])
    return output


def test_page_and_calendar_show_titles_as_headings(vendor_site):
    html = (vendor_site / "lunch" / "index.html").read_text()
    for title in TITLES:
        assert f'class="lunch-section">{title}</h' in html
        assert f'class="lunch-item">{title}<' not in html
    assert 'class="lunch-blurb"' in html and '<details class="lunch-more">' in html
    calendar = Calendar.from_ical((vendor_site / "calendars" / "lunch.ics").read_bytes())
    descriptions = [
        str(event.get("description")) for event in calendar.walk("VEVENT")
        if "Chilled Pears" in str(event.get("description"))
    ]  # fmt: skip
    assert descriptions
    for text in descriptions:
        assert "Option 2 - Potato Bar:" in text
        assert "- Option 1" not in text and "- Side Options" not in text


@pytest.mark.browser
def test_phone_length_of_today_and_the_week(vendor_site, browser):
    for base in serve(vendor_site):
        context = browser.new_context(viewport=PHONE)
        try:
            page = context.new_page()
            page.goto(f"{base}/lunch/")
            facts = page.evaluate(
                """() => {
                  const h = el => el.getBoundingClientRect().height;
                  const today = [...document.querySelectorAll("tr.is-today")];
                  // One school's week: the table a family reads.
                  const weeks = [...document.querySelector(".lunch-week")
                                 .querySelectorAll("table")].map(h);
                  return {today: today.reduce((sum, el) => sum + h(el), 0),
                          rows: today.length, week: Math.max(...weeks)};
                }"""
            )
            print(f"375 px: today {facts['today']:.0f} px, week {facts['week']:.0f} px")
            assert facts["rows"] >= 1
            assert facts["today"] <= 2 * PHONE["height"], facts
            assert facts["week"] <= 8 * PHONE["height"], facts
            # The blurb waits behind "more", which opens it in full.
            blurb = page.locator(".lunch-blurb").first
            assert not blurb.is_visible()
            page.locator("details.lunch-more summary").first.click()
            assert blurb.is_visible()
            assert "chef-inspired" in blurb.inner_text()
        finally:
            context.close()


def test_fixture_uses_the_vendor_field_names():
    # The fields the parser reads, as Nutrislice names them (a guard for the fixture).
    entry = vendor_week(MONDAY)["days"][0]["menu_items"][1]
    assert {"is_section_title", "is_station_header", "position", "text", "food"} <= set(entry)
    assert {"id", "name", "description", "icons", "rounded_nutrition_info"} <= set(entry["food"])


if __name__ == "__main__":  # pragma: no cover - writes a sample week for a look
    Path("vendor-week.json").write_text(json.dumps(vendor_week(MONDAY), indent=1))
