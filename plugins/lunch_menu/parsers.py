"""Menu parsers: Nutrislice "weeks" JSON, a plain CSV and ICS (one event per day).

Each parser takes the raw bytes, labels (school, meal) for formats that do not carry them,
and a source name for messages. It returns the menu days and a list of problems with single
rows; it raises FeedError when the whole file is unusable.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime

import icalendar
from school_feeds.fetch import FeedError
from school_feeds.ics_check import describe_event, event_problem
from school_feeds.text import clean_text, parse_day

from .model import MenuDay, MenuItem

NO_SCHOOL = re.compile(r"\bno school\b|\bschool closed\b|\bno classes\b|\bholiday\b", re.I)
NUTRIENTS = (
    ("calories", "Calories", ""),
    ("g_protein", "Protein", " g"),
    ("g_carbs", "Carbohydrates", " g"),
    ("g_fat", "Fat", " g"),
    ("mg_sodium", "Sodium", " mg"),
    ("g_fiber", "Fiber", " g"),
)
LABEL_SPLIT = re.compile(r"\s*[;|,]\s*")
BRACKETED_LABELS = re.compile(r"\s*\[(?P<labels>[^\]]+)\]\s*$")

Parsed = tuple[list[MenuDay], list[str]]


def _decode(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedError(
            f"not a UTF-8 text file ({what}): {exc.reason} at byte {exc.start}"
        ) from None


def _number(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return f"{value:g}"


def parse_nutrislice(raw: bytes, labels: dict[str, str], source: str) -> Parsed:
    try:
        data = json.loads(_decode(raw, "Nutrislice JSON"))
    except json.JSONDecodeError as exc:
        raise FeedError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("days"), list):
        raise FeedError('not a Nutrislice menu: expected an object with a "days" list')
    school, meal = labels["school"], labels["meal"]
    days: list[MenuDay] = []
    problems: list[str] = []
    for index, entry in enumerate(data["days"]):
        if not isinstance(entry, dict):
            problems.append(f"days[{index}] is not an object; skipped")
            continue
        try:
            day = date.fromisoformat(str(entry.get("date")))
        except ValueError:
            problems.append(f"days[{index}] has no valid date ({entry.get('date')!r}); skipped")
            continue
        menu = MenuDay(day, school, meal, source=source)
        if entry.get("is_holiday"):
            menu.no_school = True
            menu.note = clean_text(entry.get("holiday_text") or entry.get("text")) or "No school"
        items = [item for item in entry.get("menu_items") or [] if isinstance(item, dict)]
        items.sort(key=lambda item: item.get("position") or 0)
        section = ""
        # A text-only entry (no food) is a section title ("Option 1", "Side Options"), even
        # sent with is_section_title false, when foods follow it; a text-only entry followed
        # by another title or by nothing is a dish the kitchen typed as text.
        typed_title = ""
        for item in items:
            text = clean_text(item.get("text"))
            food = item.get("food") if isinstance(item.get("food"), dict) else None
            if item.get("is_holiday") or (not food and text and NO_SCHOOL.search(text)):
                menu.no_school = True
                menu.note = text or "No school"
                continue
            is_title = item.get("is_section_title") or item.get("is_station_header")
            if typed_title and (is_title or (not food and text)):
                menu.add_item(MenuItem(typed_title), section)
                typed_title = ""
            if is_title:
                section = text
            elif not food and text:
                typed_title = text
            elif food:
                if typed_title:
                    section, typed_title = typed_title, ""
                name = clean_text(food.get("name"))
                if not name:
                    continue
                icons = (food.get("icons") or {}).get("food_icons") or []
                item_labels = tuple(
                    label
                    for label in (
                        clean_text(icon.get("name")) for icon in icons if isinstance(icon, dict)
                    )
                    if label
                )
                info = food.get("rounded_nutrition_info") or {}
                nutrition = tuple(
                    (title, f"{value}{unit}")
                    for key, title, unit in NUTRIENTS
                    if (value := _number(info.get(key))) is not None
                )
                description = clean_text(food.get("description"))
                menu.add_item(MenuItem(name, item_labels, nutrition, description), section)
        if typed_title:
            menu.add_item(MenuItem(typed_title), section)
        if menu.has_items or menu.no_school:
            days.append(menu)
    return days, problems


def parse_csv(raw: bytes, labels: dict[str, str], source: str) -> Parsed:
    text = _decode(raw, "CSV")
    reader = csv.DictReader(io.StringIO(text))
    columns = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    missing = [name for name in ("date", "meal", "item") if name not in columns]
    if missing:
        found = ", ".join(columns) or "nothing"
        raise FeedError(
            f"the CSV header must name the columns date, meal, item (and allergens, school, "
            f"section if used); missing {', '.join(missing)}, found {found}"
        )
    by_key: dict[tuple, MenuDay] = {}
    problems: list[str] = []
    for row in reader:
        line = reader.line_num

        def cell(name: str, row=row) -> str:
            key = columns.get(name)
            return clean_text(row.get(key)) if key else ""

        if not any(cell(name) for name in columns):
            continue
        try:
            day = parse_day(cell("date"))
        except ValueError as exc:
            problems.append(f"line {line}: {exc}; the row was skipped")
            continue
        item, meal = cell("item"), cell("meal") or labels["meal"]
        if not item:
            problems.append(f"line {line}: the item column is empty")
            continue
        school = cell("school") or labels["school"]
        menu = by_key.setdefault((day, school, meal), MenuDay(day, school, meal, source=source))
        if NO_SCHOOL.search(item):
            menu.no_school, menu.note = True, item
            continue
        allergens = tuple(label for label in LABEL_SPLIT.split(cell("allergens")) if label)
        menu.add_item(MenuItem(item, allergens), cell("section"))
    return list(by_key.values()), problems


def _item_lines(description: str) -> list[str]:
    lines = [clean_text(line) for line in description.replace("\\n", "\n").splitlines()]
    lines = [line.lstrip("-•* ").strip() for line in lines if line]
    if len(lines) == 1 and "," in lines[0] and "[" not in lines[0]:
        lines = [part.strip() for part in lines[0].split(",") if part.strip()]
    return lines


def parse_ics(raw: bytes, labels: dict[str, str], source: str) -> Parsed:
    try:
        calendar = icalendar.Calendar.from_ical(_decode(raw, "ICS"))
    except ValueError as exc:
        raise FeedError(f"not a valid iCalendar file: {exc}") from None
    if calendar.name != "VCALENDAR":
        raise FeedError("not a valid iCalendar file: it does not start with BEGIN:VCALENDAR")
    school = labels["school"]
    days: list[MenuDay] = []
    problems: list[str] = []
    for event in calendar.walk("VEVENT"):
        summary = clean_text(event.get("SUMMARY"))
        problem = event_problem(event, required=("DTSTART",))
        if problem:
            problems.append(f"the event {describe_event(event)} {problem}; it was skipped")
            continue
        value = event["DTSTART"].dt
        day = value.date() if isinstance(value, datetime) else value
        meal = "Breakfast" if "breakfast" in summary.lower() else labels["meal"]
        menu = MenuDay(day, school, meal, source=source, uid=clean_text(event.get("UID")))
        description = str(event.get("DESCRIPTION") or "")
        if NO_SCHOOL.search(summary) or str(event.get("STATUS", "")).upper() == "CANCELLED":
            menu.no_school, menu.note = True, summary or "No school"
        section = ""
        for line in _item_lines(description):
            if line.endswith(":"):
                section = line[:-1].strip()
                continue
            match = BRACKETED_LABELS.search(line)
            item_labels: tuple[str, ...] = ()
            if match:
                item_labels = tuple(x for x in LABEL_SPLIT.split(match.group("labels")) if x)
                line = line[: match.start()].strip()
            if NO_SCHOOL.search(line) and not menu.has_items:
                menu.no_school, menu.note = True, line
                continue
            menu.add_item(MenuItem(line, item_labels), section)
        if menu.has_items or menu.no_school:
            days.append(menu)
    return days, problems


PARSERS = {"nutrislice": parse_nutrislice, "csv": parse_csv, "ics": parse_ics}
SUFFIX_FORMATS = {".json": "nutrislice", ".csv": "csv", ".ics": "ics"}
