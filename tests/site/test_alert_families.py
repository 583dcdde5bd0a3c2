"""Alerts that families read: a Spanish text for every alert (the English shown and marked
when it is missing), a closing alert (`Closes: school`) that marks that day's lunch, games
and events as cancelled on the pages and in the calendars, and a future alert listed in the
build's log with its start time."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from site_alerts.alerts import (
    AlertError,
    alert_from_mapping,
    alert_from_markdown,
    closed_days,
    future_alerts,
)

from tests.site.helpers import build, copy_content, log_text

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
CLOSED = date(2026, 12, 1)  # a Tuesday with lunch menus and basketball games
SCHOOL_DAY = "2026-12-01T07:30"
PLUGINS = ["site_alerts", "lunch_menu", "athletics", "school_events", "site_i18n"]

SNOW_DAY = """Title: School closed: snow
Level: urgent
Closes: school
Starts: 2026-12-01T05:00
Expires: 2026-12-01T18:00
Title-es: Escuela cerrada por nieve
Text-es: La escuela está **cerrada** hoy por la nieve. No hay clases ni actividades.

Cedar Hollow School is **closed** today because of snow. There are no classes or activities.
"""
ENGLISH_ONLY = """Title: Picture day forms
Level: info
Starts: 2026-11-20

Picture day order forms are due Friday.
"""
LATER = """Title: Winter concert parking
Level: warning
Starts: 2026-12-10T07:00

Park in the lower lot for the winter concert.
"""
BOOK_FAIR = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:book-fair-2026@test
DTSTAMP:20261101T000000Z
DTSTART;TZID=America/New_York:20261201T150000
DTEND;TZID=America/New_York:20261201T170000
SUMMARY:Book fair
END:VEVENT
END:VCALENDAR
"""


def day_of(event) -> date:
    start = event.decoded("DTSTART")
    return start.astimezone(ZONE).date() if isinstance(start, datetime) else start


def write_alert(folder, name: str, text: str):
    path = folder / name
    path.write_text(text)
    return path


def test_spanish_text_and_the_english_marked_when_missing(tmp_path):
    alert = alert_from_markdown(write_alert(tmp_path, "snow.md", SNOW_DAY), TZ)
    title, html, translated = alert.in_lang("es")
    assert translated and title == "Escuela cerrada por nieve"
    assert html.startswith("La escuela está <strong>cerrada</strong> hoy por la nieve.")
    assert alert.in_lang("en")[0] == "School closed: snow"
    english = alert_from_markdown(write_alert(tmp_path, "forms.md", ENGLISH_ONLY), TZ)
    assert english.in_lang("es") == ("Picture day forms", english.message_html, False)
    assert english.missing_languages(["es"]) == ["es"]
    setting = alert_from_mapping(
        {"message": "Early dismissal", "message_es": "Salida temprano", "title_es": "Aviso"}, TZ
    )
    assert setting.in_lang("es") == ("Aviso", "Salida temprano", True)
    with pytest.raises(AlertError, match="Text-es"):
        alert_from_mapping({"message": "x", "title_es": "Solo título"}, TZ)


def test_closing_days_and_future_alerts(tmp_path):
    snow = alert_from_markdown(write_alert(tmp_path, "snow.md", SNOW_DAY), TZ)
    later = alert_from_markdown(write_alert(tmp_path, "later.md", LATER), TZ)
    assert list(closed_days([snow, later], TZ)) == [CLOSED]
    now = datetime(2026, 12, 1, 7, 30, tzinfo=ZONE)
    assert future_alerts([snow, later], now) == [later]
    with pytest.raises(AlertError, match="Closes"):
        alert_from_mapping({"message": "x", "closes": "district", "starts": "2026-12-01"}, TZ)


@pytest.fixture(scope="module")
def closed_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("closing")
    content = copy_content(root)
    alerts = content / "alerts"
    write_alert(alerts, "2026-12-01-snow.md", SNOW_DAY)
    write_alert(alerts, "2026-11-20-forms.md", ENGLISH_ONLY)
    write_alert(alerts, "2026-12-10-parking.md", LATER)
    (content / "data" / "events" / "book-fair.ics").write_text(BOOK_FAIR)
    output = root / "output"
    proc = build(output, content=content, site_date=SCHOOL_DAY, PLUGINS=PLUGINS)
    return output, log_text(proc)


def test_spanish_pages_show_the_spanish_alert(closed_site):
    output, _ = closed_site
    spanish = (output / "es" / "index.html").read_text()
    assert "Escuela cerrada por nieve" in spanish
    assert "La escuela está <strong>cerrada</strong>" in spanish
    # The English-only alert is shown in English, marked as such.
    assert "Este aviso aún no está traducido" in spanish
    assert 'lang="en">Picture day forms' in spanish
    english = (output / "index.html").read_text()
    assert "School closed: snow" in english and "Escuela cerrada" not in english


def test_a_closing_marks_lunch_games_and_events(closed_site):
    output, _ = closed_site
    home = (output / "index.html").read_text()
    assert "No lunch is served today" in home
    lunch = Calendar.from_ical((output / "calendars" / "lunch.ics").read_bytes())
    today = [e for e in lunch.walk("VEVENT") if e.decoded("DTSTART") == CLOSED]
    assert today and all("School closed: snow" in str(e.get("DESCRIPTION")) for e in today)
    assert all("Scrambled Eggs" not in str(e.get("DESCRIPTION")) for e in today)

    games = Calendar.from_ical((output / "calendars" / "athletics.ics").read_bytes())
    closed_games = [e for e in games.walk("VEVENT") if day_of(e) == CLOSED]
    assert closed_games
    for game in closed_games:
        assert str(game.get("STATUS")) == "CANCELLED"
        assert str(game.get("SUMMARY")).startswith("CANCELLED: ")
    athletics = (output / "athletics" / "index.html").read_text()
    assert "Cancelled" in athletics

    events = Calendar.from_ical((output / "calendars" / "events.ics").read_bytes())
    fair = [e for e in events.walk("VEVENT") if "Book fair" in str(e.get("SUMMARY"))]
    assert fair and all(str(e.get("STATUS")) == "CANCELLED" for e in fair)


def test_the_build_lists_a_future_alert_and_a_missing_translation(closed_site):
    _, log = closed_site
    assert "2026-12-10-parking.md" in log and "2026-12-10 07:00" in log
    assert "2026-11-20-forms.md has no es text" in log
