"""Athletics parsers: ICS feeds as league platforms publish them, and CSV exports.

ICS files are read by school_feeds.ics_in (icalendar; recurrence by recurring-ical-events).
Here: reading CSV exports, and reading a SUMMARY such as
"Track Girls Varsity Cedar Hollow at Northfield High School" or "Varsity Football vs. Central"
into sport, level, opponent and home/away.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time

from school_feeds.fetch import FeedError
from school_feeds.text import clean_text, parse_day, time_label

SPORTS = [
    "Track & Field", "Track and Field", "Indoor Track", "Outdoor Track", "Cross Country",
    "Swimming & Diving", "Swimming and Diving", "Field Hockey", "Ice Hockey", "Flag Football",
    "Unified Basketball", "Football", "Soccer", "Basketball", "Volleyball", "Baseball",
    "Softball", "Track", "Wrestling", "Swimming", "Swim", "Tennis", "Golf", "Lacrosse", "Hockey",
    "Cheerleading", "Cheer", "Bowling", "Skiing", "Alpine Skiing", "Nordic Skiing", "Gymnastics",
    "Rowing", "Fencing", "Esports", "Ultimate", "Rifle", "Water Polo", "Dance",
]  # fmt: skip
LEVELS = {
    "varsity": "Varsity", "v": "Varsity", "jv": "JV", "j.v.": "JV", "junior varsity": "JV",
    "freshman": "Freshman", "frosh": "Freshman", "9th grade": "Freshman", "modified": "Modified",
    "middle school": "Middle School", "ms": "Middle School", "8th grade": "8th Grade",
    "7th grade": "7th Grade", "c-team": "C Team", "c team": "C Team",
}  # fmt: skip
GENDERS = {
    "boys": "Boys", "boys'": "Boys", "men's": "Boys", "mens": "Boys", "girls": "Girls",
    "girls'": "Girls", "women's": "Girls", "womens": "Girls", "coed": "Coed", "co-ed": "Coed",
    "unified": "Unified",
}  # fmt: skip

CANCELLED = re.compile(r"\bcancel+ed\b", re.I)
POSTPONED = re.compile(r"\bpostponed\b", re.I)
STATUS_MARKERS = re.compile(
    r"[\[(]?\s*\b(?:cancel+ed|postponed|rescheduled)\b\s*[\])]?\s*[:\-–—]?\s*", re.I
)
HOME_AWAY_MARKER = re.compile(r"\s*[\[(]\s*(home|away)\s*[\])]\s*", re.I)
SEPARATOR = re.compile(r"\s+(vs\.?|versus|v\.|at|@)\s+", re.I)
PRACTICE = re.compile(r"\bpractice\b|\bconditioning\b|\bopen gym\b|\bweight room\b", re.I)
RESULT_LINE = re.compile(r"^\s*(?:result|score|final)\s*:\s*(?P<value>.+)$", re.I | re.M)
BUS_LINE = re.compile(
    r"^\s*(?:bus(?:\s+(?:departure|departs|leaves|time))?|departure|dismissal)\s*:?\s*"
    r"(?P<value>\d{1,2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?)\s*$",
    re.I | re.M,
)


@dataclass
class Parsed:
    """What a SUMMARY/LOCATION/DESCRIPTION says about an event."""

    sport: str = ""
    level: str = ""
    gender: str = ""
    opponent: str = ""
    home_away: str = ""
    kind: str = "game"
    status: str = "scheduled"
    result: str = ""
    bus: str = ""


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def is_our_school(text: str, school_names: list[str]) -> bool:
    norm = _norm(text)
    return bool(norm) and any(
        norm == _norm(name) or norm.startswith(_norm(name) + " ") for name in school_names if name
    )


def _take(words: str, vocabulary: list[str] | dict[str, str]) -> tuple[str, str]:
    """Find the longest vocabulary entry in `words` (whole words); return (value, rest)."""
    keys = sorted(vocabulary, key=len, reverse=True)
    for key in keys:
        match = re.search(rf"(?<![\w']){re.escape(key)}(?![\w'])", words, re.I)
        if match:
            value = vocabulary[key] if isinstance(vocabulary, dict) else key
            rest = (words[: match.start()] + " " + words[match.end() :]).strip(" -–—:,")
            return value, re.sub(r"\s+", " ", rest)
    return "", words


def parse_time(value: str) -> time | None:
    value = value.strip().lower().replace(".", "")
    for fmt in ("%I:%M %p", "%I:%M%p", "%I %p", "%I%p", "%H:%M"):
        try:
            return datetime.strptime(value, fmt).time()
        except ValueError:
            continue
    return None


# Times without a.m./p.m. ("3:30" in a spreadsheet): school games are afternoons and
# evenings, so 1:00-11:59 means p.m. (with a warning asking for the a.m./p.m.); 12:xx is
# the noon hour and 13:00-23:59 is a 24-hour time, both taken as written.
AFTERNOON_HOURS = range(1, 12)
HAS_MERIDIEM = re.compile(r"[ap]\.?\s*m\.?$", re.I)
# time_label formats a datetime; to show a time of day it only carries the time. A fixed
# day, not the clock's: the build's "today" has one home (school_feeds.site_date).
ANY_DAY = date(2000, 1, 1)


def parse_game_time(value: str) -> tuple[time | None, str | None]:
    """A game time from a data file and, for a time read by the afternoon rule, a warning."""
    parsed = parse_time(value)
    if parsed is None or HAS_MERIDIEM.search(value.strip()):
        return parsed, None
    if parsed.hour in AFTERNOON_HOURS:
        afternoon = parsed.replace(hour=parsed.hour + 12)
        shown = time_label(datetime.combine(ANY_DAY, afternoon))
        return afternoon, (
            f"{value!r} has no a.m. or p.m.; read as {shown} (games without a.m./p.m. "
            "between 1:00 and 11:59 are afternoon or evening games). Write 4:30 PM or "
            "10:00 AM to be sure"
        )
    return parsed, None


def _bus_label(value: str) -> str:
    """A bus departure as shown; the afternoon rule of parse_game_time applies."""
    parsed, _ = parse_game_time(value)
    return time_label(datetime.combine(ANY_DAY, parsed)) if parsed else clean_text(value)


def describe(
    summary: str,
    location: str,
    description: str,
    status: str,
    school_names: list[str],
    labels: dict[str, str],
) -> Parsed:
    info = Parsed()
    text = clean_text(summary)
    if status.upper() == "CANCELLED" or CANCELLED.search(text):
        info.status = "cancelled"
    elif POSTPONED.search(text) or POSTPONED.search(status):
        info.status = "postponed"
    text = STATUS_MARKERS.sub(" ", text).strip(" -–—:")
    marker = HOME_AWAY_MARKER.search(text)
    if marker:
        info.home_away = marker.group(1).lower()
        text = (text[: marker.start()] + " " + text[marker.end() :]).strip()
    if PRACTICE.search(text):
        info.kind = "practice"

    left, sep, right = text, "", ""
    match = SEPARATOR.search(text)
    if match:
        left, sep, right = text[: match.start()], match.group(1).lower(), text[match.end() :]
    info.sport, rest = _take(left, SPORTS)
    info.level, rest = _take(rest, LEVELS)
    info.gender, rest = _take(rest, GENDERS)
    if not info.sport:  # "Central at Cedar Hollow - Boys Soccer": team words on the right
        info.sport, right = _take(right, SPORTS)
        info.level, right = _take(right, LEVELS)
        info.gender, right = _take(right, GENDERS)
    info.sport = info.sport or labels.get("sport", "")
    info.level = info.level or labels.get("level", "")
    info.gender = info.gender or labels.get("gender", "")
    rest = PRACTICE.sub("", rest).strip(" -–—:,") if info.kind == "practice" else rest
    right = right.strip(" -–—:,")

    if sep in {"at", "@"}:
        if right and is_our_school(right, school_names) and rest:
            info.opponent, guess = rest, "home"
        else:
            info.opponent, guess = right, "away"
    elif sep:
        if is_our_school(right, school_names) and rest:
            info.opponent, guess = rest, "away"
        else:
            info.opponent, guess = right, "home"
    else:
        info.opponent, guess = ("" if is_our_school(rest, school_names) else rest), ""
    place = _norm(location)
    if place in {"home", "away"}:
        info.home_away = info.home_away or place
    elif location and is_our_school(location, school_names):
        info.home_away = info.home_away or "home"
    info.home_away = info.home_away or guess

    result = RESULT_LINE.search(description or "")
    info.result = clean_text(result.group("value")) if result else ""
    bus = BUS_LINE.search(description or "")
    info.bus = _bus_label(bus.group("value")) if bus else ""
    return info


# CSV exports: header spellings vary between platforms.
CSV_COLUMNS = {
    "date": ("date", "game date", "event date"),
    "time": ("time", "start time", "game time"),
    "sport": ("sport", "activity"),
    "level": ("level", "team level"),
    "gender": ("gender",),
    "opponent": ("opponent", "opponents", "vs", "versus"),
    "home_away": ("home/away", "home away", "h/a", "home or away", "site"),
    "location": ("location", "facility", "venue", "place"),
    "bus": ("bus departure", "bus", "bus time", "departure", "dismissal"),
    "result": ("result", "score", "results"),
    "status": ("status",),
    "uid": ("uid", "id", "event id", "game id"),
}
REQUIRED_CSV = ("date", "sport", "opponent")


@dataclass
class CsvGame:
    line: int
    day: date
    start: time | None
    sport: str
    level: str
    gender: str
    opponent: str
    home_away: str
    location: str
    bus: str
    result: str
    status: str
    uid: str


def parse_csv(raw: bytes) -> tuple[list[CsvGame], list[str]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedError(f"not a UTF-8 text file: {exc.reason} at byte {exc.start}") from None
    reader = csv.DictReader(io.StringIO(text))
    headers = {
        re.sub(r"[\s_\-]+", " ", (name or "").strip().lower()): name
        for name in reader.fieldnames or []
    }
    columns = {}
    for key, spellings in CSV_COLUMNS.items():
        columns[key] = next((headers[s] for s in spellings if s in headers), None)
    missing = [key for key in REQUIRED_CSV if columns[key] is None]
    if missing:
        found = ", ".join(headers) or "nothing"
        raise FeedError(
            "the CSV header must name at least the columns date, sport and opponent "
            f"(and time, level, home/away, location, bus departure, result if used); "
            f"missing {', '.join(missing)}, found {found}"
        )
    games, problems = [], []
    for row in reader:

        def cell(key: str, row=row) -> str:
            return clean_text(row.get(columns[key])) if columns[key] else ""

        if not any(clean_text(value) for value in row.values() if isinstance(value, str)):
            continue
        line = reader.line_num
        try:
            day = parse_day(cell("date"))
        except ValueError as exc:
            problems.append(f"line {line}: {exc}; the row was skipped")
            continue
        raw_time = cell("time")
        start, time_warning = parse_game_time(raw_time) if raw_time else (None, None)
        if time_warning:
            problems.append(f"line {line}: {time_warning}")
        if raw_time and start is None and raw_time.lower() not in {"tba", "tbd"}:
            problems.append(f"line {line}: {raw_time!r} is not a time (use 4:30 PM); shown as TBA")
        if not cell("sport"):
            problems.append(f"line {line}: the sport column is empty")
            continue
        # "Boys Basketball" in the sport column names the gender too.
        gender, sport = _take(cell("sport"), GENDERS)
        gender = GENDERS.get(cell("gender").lower(), cell("gender")) or gender
        known, rest = _take(sport, SPORTS)
        sport = known if known and not rest else sport
        status_text = f"{cell('status')} {cell('result')}"
        status = (
            "cancelled"
            if CANCELLED.search(status_text)
            else "postponed"
            if POSTPONED.search(status_text)
            else "scheduled"
        )
        result = (
            "" if status != "scheduled" and not re.search(r"\d", cell("result")) else cell("result")
        )
        home_away = _norm(cell("home_away"))
        home_away = {"h": "home", "a": "away", "n": ""}.get(home_away, home_away)
        games.append(
            CsvGame(
                line, day, start, sport, LEVELS.get(cell("level").lower(), cell("level")),
                gender, cell("opponent"),
                home_away if home_away in {"home", "away"} else "", cell("location"),
                _bus_label(cell("bus")) if cell("bus") else "", result, status, cell("uid"),
            )
        )  # fmt: skip
    return games, problems
