"""Lunch rules: allergens in the nine major US allergens apart from diet labels, unknown
labels and school names warned about, a revised file wins over an older one (with a warning
naming both), and date errors that list the accepted formats."""

from __future__ import annotations

import os
from datetime import date

from lunch_menu.allergens import MAJOR_ALLERGENS, sort_labels
from lunch_menu.menus import load_menus
from lunch_menu.model import MenuItem
from lunch_menu.parsers import parse_csv

TZ = "America/New_York"
DEFAULTS = {"school": "Cedar Hollow School", "meal": "Lunch"}
HEADER = "date,meal,item,allergens,school\n"


def test_labels_are_sorted_into_allergens_and_diet_labels():
    labels = sort_labels(["Contains Milk", "Wheat", "Vegetarian", "Soy", "Milk", "Egg", "Dairy"])
    assert labels.allergens == ("Milk", "Eggs", "Wheat", "Soybeans")
    assert labels.diets == ("Vegetarian",)
    assert labels.unknown == ()
    assert len(MAJOR_ALLERGENS) == 9
    item = MenuItem("Milk", ("Milk", "Contains Milk"))
    assert item.allergens == ("Milk",)  # not "Milk (Milk)" twice over
    assert MenuItem("Pad thai", ("Peanut", "Tree Nut", "Gluten Free")).allergens == (
        "Tree nuts",
        "Peanuts",
    )
    assert MenuItem("Pad thai", ("Peanut", "Gluten-Free")).diets == ("Gluten free",)


def write(folder, name: str, text: str, mtime: int | None = None):
    path = folder / name
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def load(folder, schools=()):
    return load_menus(
        folder, folder / ".cache", DEFAULTS, TZ, [date(2026, 11, 30)], schools=schools
    )


def test_unknown_allergen_and_school_are_warned_once_each(tmp_path):
    write(
        tmp_path,
        "menu.csv",
        HEADER
        + "2026-11-30,Lunch,Pasta,Milk; Celery,Upper School\n"
        + "2026-11-30,Lunch,Soup,Celery,Upper School\n"
        + "2026-12-01,Lunch,Salad,Vegan,Uper School\n",
    )
    result = load(tmp_path, schools=("Upper School", "Lower School"))
    celery = [p for p in result.problems if "'Celery'" in p]
    assert len(celery) == 1 and "2 items" in celery[0] and "menu.csv" in celery[0]
    assert "nine major allergens" in celery[0]
    typo = [p for p in result.problems if "'Uper School'" in p]
    assert len(typo) == 1 and "LUNCH_SCHOOLS" in typo[0]
    assert not [p for p in result.problems if "'Upper School'" in p]
    pasta = result.menus[0].sections[0].items[0]
    assert pasta.allergens == ("Milk", "Celery")  # still shown, as written


def test_without_lunch_schools_any_school_is_accepted(tmp_path):
    write(tmp_path, "menu.csv", HEADER + "2026-11-30,Lunch,Pasta,Milk,Anywhere\n")
    assert load(tmp_path).problems == []


def test_the_newer_file_wins_for_the_same_school_meal_and_day(tmp_path):
    write(tmp_path, "a-revised.csv", HEADER + "2026-11-30,Lunch,Tacos,,Upper\n", mtime=2_000_000)
    write(tmp_path, "b-original.csv", HEADER + "2026-11-30,Lunch,Pizza,,Upper\n", mtime=1_000_000)
    result = load(tmp_path)
    assert [m.sections[0].items[0].name for m in result.menus] == ["Tacos"]
    (warning,) = result.problems
    assert "a-revised.csv" in warning and "b-original.csv" in warning
    assert "using a-revised.csv, the newer file" in warning
    assert "Lunch menu of Upper on Monday, November 30, 2026" in warning


def test_date_errors_list_the_accepted_formats():
    raw = (HEADER + "30.11.2026,Lunch,Tacos,,Upper\n").encode()
    days, problems = parse_csv(raw, DEFAULTS, "menu.csv")
    assert days == []
    (problem,) = problems
    assert problem.startswith("line 2: '30.11.2026' is not a date")
    assert "YYYY-MM-DD" in problem and "MM/DD/YYYY" in problem and "MM/DD/YY" in problem


def test_a_month_view_per_month_with_menus(tmp_path):
    from tests.feeds.conftest import build
    from tests.feeds.test_feed_site import copy_content, text_of

    content = copy_content(tmp_path)
    out = tmp_path / "out"
    build(content, out)
    lunch = (out / "lunch" / "index.html").read_text("utf-8")
    assert 'href="../lunch/2026-11/"' in lunch and 'href="../lunch/2026-12/"' in lunch
    november = text_of((out / "lunch" / "2026-11" / "index.html").read_text("utf-8"))
    assert "Menus for November 2026" in november
    for week in ("November 16", "November 23", "November 30"):  # weeks with menus only
        assert f"Week of {week}, 2026" in november
    assert "Week of November 9, 2026" not in november
    assert "No school (Thanksgiving Recess - No School)" in november
    assert "Week of December 7, 2026" not in november
    december = text_of((out / "lunch" / "2026-12" / "index.html").read_text("utf-8"))
    assert "Week of December 7, 2026" in december and "Week of November 16" not in december


def test_a_bad_event_in_a_menu_calendar_is_skipped_not_the_file():
    from lunch_menu.parsers import parse_ics

    raw = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
        b"BEGIN:VEVENT\r\nUID:m1@x\r\nDTSTART;VALUE=DATE:20261130\r\nSUMMARY:Lunch\r\n"
        b"DESCRIPTION:Tacos [Contains Milk]\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:m2@x\r\nDTSTART;VALUE=DATE:20261131\r\nSUMMARY:Lunch\r\n"
        b"DESCRIPTION:Pizza\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    days, problems = parse_ics(raw, DEFAULTS, "lunch.ics")
    assert [d.day for d in days] == [date(2026, 11, 30)]
    assert problems == [
        "the event 'Lunch' (UID m2@x) DTSTART '20261131' is not a valid date or time; "
        "it was skipped"
    ]
