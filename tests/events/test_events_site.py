"""The sample site's calendar as built: /calendar/ with this month's grid, a page per month
and per category, subscriptions, "add to calendar" files, the home page's next events, and
bad event files reported with their file and line while the rest still builds."""

from __future__ import annotations

import re
from pathlib import Path

import icalendar
import pytest

from tests.site.helpers import PRODUCTION_URL, build, copy_content, log_text, parse

TODAY = "2026-11-26"  # Thanksgiving: the sample school year, during a recess
PUBLIC = PRODUCTION_URL.removeprefix("https://")


@pytest.fixture(scope="module")
def site(sample_site) -> Path:
    return sample_site(TODAY)


def items(html: str) -> list[str]:
    """The class attribute of every event entry in the lists of a page."""
    return re.findall(r'<li class="(events-item[^"]*)" id="event-', html)


def test_calendar_page_shows_this_month_as_a_table_with_month_links(site):
    page = parse(site / "calendar" / "index.html")
    (table,) = page.find("table", class_="events-grid")
    assert "<caption>November 2026</caption>" in (site / "calendar/index.html").read_text()
    assert len(page.find("th", scope="col")) == 7
    assert page.find("a", rel="prev", href="../calendar/2026-10/")
    assert page.find("a", rel="next", href="../calendar/2026-12/")
    # The hand-typed table of key dates is gone; the page's own text stays.
    assert "Key dates" not in page.text and "Daily schedule" in page.text
    assert "Thanksgiving Recess - No School" in page.text


def test_every_month_of_the_school_year_has_a_page(site):
    months = sorted(p.parent.name for p in (site / "calendar").glob("20*-*/index.html"))
    assert months[0] <= "2026-09" and months[-1] >= "2027-06"
    december = (site / "calendar" / "2026-12" / "index.html").read_text()
    assert "Winter concert" in december and "Winter Recess - No School" in december
    # The PTA's monthly meeting skips December 8 (Except:) and meets on the 15th instead.
    assert 'id="day-2026-12-15"' in december
    tuesday_8 = december.split('id="day-2026-12-08"')[1].split("<h3")[0]
    assert "PTA meeting" not in tuesday_8 and "Board of Education meeting" in tuesday_8


def test_category_pages_filter_without_script(site):
    for slug in ("school-wide", "pta", "arts", "athletics", "closings"):
        html = (site / "calendar" / slug / "index.html").read_text()
        found = items(html)
        assert found, f"no events on the {slug} page"
        assert all(f"events-cat-{slug}" in item for item in found), slug
        assert 'aria-current="page"' in html
    closings = (site / "calendar" / "closings" / "index.html").read_text()
    # Thanksgiving is in the district calendar and in the menus: listed once.
    assert closings.count(">Thanksgiving Recess - No School<") == 1
    pta = (site / "calendar" / "pta" / "index.html").read_text()
    assert "is-cancelled" in pta and "Cancelled" in pta  # the movie night


def test_subscriptions_per_category_reuse_the_athletics_calendar(site):
    pta = (site / "calendar" / "pta" / "index.html").read_text()
    assert f'href="webcal://{PUBLIC}/calendars/events-pta.ics"' in pta
    athletics = (site / "calendar" / "athletics" / "index.html").read_text()
    assert f'href="webcal://{PUBLIC}/calendars/athletics.ics"' in athletics
    assert not (site / "calendars" / "events-athletics.ics").exists()
    calendar = (site / "calendar" / "index.html").read_text()
    assert f'href="webcal://{PUBLIC}/calendars/events.ics"' in calendar
    pta_feed = icalendar.Calendar.from_ical((site / "calendars/events-pta.ics").read_bytes())
    titles = {str(e["SUMMARY"]) for e in pta_feed.walk("VEVENT")}
    assert "PTA book fair" in titles and "CANCELLED: PTA family movie night" in titles


def test_add_to_calendar_files_exist_for_the_linked_events(site):
    html = (site / "calendar" / "2026-12" / "index.html").read_text()
    links = set(re.findall(r'href="\.\./\.\./(calendars/events/[0-9a-f]+\.ics)" download', html))
    assert len(links) > 10
    for link in links:
        calendar = icalendar.Calendar.from_ical((site / link).read_bytes())
        assert calendar.walk("VEVENT"), link
    concert = html.split('class="events-name">Winter concert<')[1].split("</li>")[0]
    (link,) = re.findall(r'href="\.\./\.\./(calendars/events/[0-9a-f]+\.ics)"', concert)
    (vevent,) = icalendar.Calendar.from_ical((site / link).read_bytes()).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Winter concert"
    assert vevent["DTSTART"].dt.isoformat() == "2026-12-10T18:30:00-05:00"


def test_home_page_lists_the_next_events(site):
    home = parse(site / "index.html")
    assert home.find("section", class_="panel upcoming-events")
    html = (site / "index.html").read_text()
    panel = html.split('id="upcoming-events-heading"')[1].split("</section>")[0]
    assert "Thanksgiving Recess - No School" in panel
    assert "Basketball" not in panel  # games have their own panel


@pytest.fixture(scope="module")
def broken_and_fed(tmp_path_factory):
    """The sample content with a bad event file, a bad event in the district's .ics file
    and a calendar feed from a loopback server, built once: the bad files' test reads this
    build, the feed test builds again after the server breaks (one build fewer than a
    separate first build each: 3.5 s)."""
    from tests.events.test_event_sources import FeedServer

    tmp = tmp_path_factory.mktemp("events-broken")
    server = FeedServer(Path(__file__).with_name("google_export.ics").read_bytes())
    try:
        content = copy_content(tmp)
        (content / "events" / "broken.md").write_text("Title: Potluck\nDate: 2026-12-32\n")
        district = content / "data" / "events" / "district-2026-27.ics"
        district.write_text(
            district.read_text().replace(
                "END:VCALENDAR",
                "BEGIN:VEVENT\r\nUID:oops-1@district\r\nSUMMARY:Broken\r\n"
                "DTSTART:2026XXXX\r\nEND:VEVENT\r\nEND:VCALENDAR",
            )
        )
        toml = content / "data" / "events" / "feeds.toml"
        toml.write_text(
            toml.read_text() + f'\n[[feed]]\nname = "district-calendar"\ntitle = "Clubs calendar"\n'
            f'url = "{server.url}"\nformat = "ics"\ncategory = "arts"\ntimeout = 5\n'
        )
        cache = tmp / "feed-cache"
        first = tmp / "first"
        proc = build(first, content=content, site_date=TODAY, EVENTS_CACHE_PATH=str(cache))
        yield {"server": server, "content": content, "cache": cache, "first": first, "tmp": tmp,
               "log": log_text(proc)}  # fmt: skip
    finally:
        server.close()


def test_bad_event_files_are_reported_and_the_rest_builds(broken_and_fed):
    log, out = broken_and_fed["log"], broken_and_fed["first"]
    assert "broken.md: line 2: Date: '2026-12-32' is not a date" in log
    assert "(UID oops-1@district)" in log and "it was skipped" in log
    assert "Winter concert" in (out / "calendar" / "2026-12" / "index.html").read_text()


def test_district_feed_keeps_its_last_good_copy_and_the_pages_say_so(broken_and_fed):
    server, content, cache = (broken_and_fed[k] for k in ("server", "content", "cache"))
    december = (broken_and_fed["first"] / "calendar" / "2026-12" / "index.html").read_text()
    assert "Robotics club" in december and "could not be refreshed" not in december
    server.body, server.status = b"<html>Service unavailable</html>", 503
    second = broken_and_fed["tmp"] / "second"
    log = log_text(build(second, content=content, site_date=TODAY, EVENTS_CACHE_PATH=str(cache)))
    assert "'district-calendar'" in log and "Using the copy fetched" in log
    for page in ("calendar/index.html", "calendar/2026-12/index.html", "calendar/arts/index.html"):
        html = (second / page).read_text()
        assert "the “Clubs calendar” calendar could not be refreshed" in html, page
    assert "Robotics club" in (second / "calendar" / "2026-12" / "index.html").read_text()
