"""The site-wide alert banner: parsing, the active window, and the banner on built pages."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from site_alerts.alerts import (
    AlertError,
    active_alerts,
    alert_from_mapping,
    alert_from_markdown,
    load_alerts,
)

from tests.site.helpers import build, copy_content, log_text, parse

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


# --- the plain module -------------------------------------------------------------------


def test_naive_times_are_school_time_and_window_is_half_open():
    alert = alert_from_mapping(
        {
            "message": "Early dismissal at 11:30",
            "level": "warning",
            "starts": "2026-03-10T06:00",
            "expires": "2026-03-10T15:00",
        },
        TZ,
    )
    assert alert.starts == at("2026-03-10T06:00")
    assert not alert.is_active(at("2026-03-10T05:59"))
    assert alert.is_active(at("2026-03-10T06:00"))
    assert alert.is_active(at("2026-03-10T14:59"))
    assert not alert.is_active(at("2026-03-10T15:00"))
    # The same instant given in UTC compares correctly.
    assert not alert.is_active(datetime.fromisoformat("2026-03-10T20:30+00:00"))


def test_a_bare_expiry_date_lasts_to_the_end_of_that_day():
    alert = alert_from_mapping(
        {"message": "Book fair", "starts": "2026-03-09", "expires": "2026-03-13"}, TZ
    )
    assert alert.is_active(at("2026-03-09T00:00"))
    assert alert.is_active(at("2026-03-13T23:59"))
    assert not alert.is_active(at("2026-03-14T00:00"))


def test_message_text_is_escaped_and_levels_sort_urgent_first():
    info = alert_from_mapping({"message": "Fish & chips <Friday>"}, TZ)
    urgent = alert_from_mapping({"message": "Closed", "level": "URGENT"}, TZ)
    warning = alert_from_mapping({"message": "Delay", "level": "warning"}, TZ)
    assert info.message_html == "Fish &amp; chips &lt;Friday&gt;"
    now = at("2026-01-05T08:00")
    assert [a.level for a in active_alerts([info, warning, urgent], now)] == [
        "urgent",
        "warning",
        "info",
    ]
    assert urgent.heading == "Urgent" and urgent.is_urgent


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"message": "x", "level": "red"}, "level 'red' is unknown; use one of info, warning"),
        ({"message": "x", "expires": "next Tuesday"}, "expires 'next Tuesday' is not a date"),
        ({"message": "  "}, "has no 'message'"),
        ({"message": "x", "start": "2026-01-01"}, "unknown key(s) start"),
        (
            {"message": "x", "starts": "2026-01-02", "expires": "2026-01-01T09:00"},
            "'expires' (2026-01-01 09:00:00-05:00) is not after 'starts'",
        ),
    ],
)
def test_bad_alerts_say_what_to_fix(item, expected):
    with pytest.raises(AlertError, match="^ALERTS setting: ") as caught:
        alert_from_mapping(item, TZ)
    assert expected in str(caught.value)


def test_markdown_alert_file(tmp_path):
    path = tmp_path / "closing.md"
    path.write_text(
        "Title: School closed\nLevel: urgent\nStarts: 2026-02-02T05:00\n"
        "Expires: 2026-02-02\nLink: news/2026/how-we-decide-snow-days/\n"
        "Link_text: How we decide\n\nThe building is **closed** today.\n"
    )
    alert = alert_from_markdown(path, TZ)
    assert alert.title == "School closed"
    assert alert.level == "urgent"
    assert alert.message_html == "The building is <strong>closed</strong> today."
    assert alert.link == "news/2026/how-we-decide-snow-days/"
    assert alert.link_text == "How we decide"
    assert alert.expires == at("2026-02-03T00:00")


def test_one_bad_alert_does_not_hide_the_others(tmp_path):
    (tmp_path / "bad.md").write_text("Level: purple\n\nOops.\n")
    (tmp_path / "good.md").write_text("Level: info\n\nPicture day is Thursday.\n")
    alerts, errors = load_alerts([{"message": "From settings"}, {"level": "info"}], tmp_path, TZ)
    assert [a.message_html for a in alerts] == ["From settings", "Picture day is Thursday."]
    assert len(errors) == 2
    assert errors[0].startswith("ALERTS[1]: the alert has no 'message'")
    assert errors[1].startswith(f"{tmp_path / 'bad.md'}: level 'purple' is unknown")


# --- the built site ---------------------------------------------------------------------

SETTING_ALERTS = [
    {
        "message": "Parent-teacher conferences: sign up by Friday.",
        "level": "info",
        "link": "news/2025/parent-teacher-conferences-fall/",
        "link_text": "Conference details",
        "starts": "2025-11-10",
        "expires": "2025-11-14",
    },
    {
        "message": "Fixed in the past and long gone.",
        "level": "warning",
        "starts": "2025-10-01",
        "expires": "2025-10-02",
    },
]
URGENT_FILE = (
    "Title: School closed today\nLevel: urgent\nStarts: 2025-11-12T05:30\n"
    "Expires: 2025-11-12T18:00\n\nSnow: the school is **closed** on Wednesday, November 12.\n"
)


@pytest.fixture(scope="module")
def alert_content(tmp_path_factory):
    content = copy_content(tmp_path_factory.mktemp("alerts"))
    alerts_dir = content / "alerts"
    if alerts_dir.exists():
        for old in alerts_dir.glob("*.md"):
            old.unlink()
    alerts_dir.mkdir(exist_ok=True)
    (alerts_dir / "closing.md").write_text(URGENT_FILE)
    return content


def build_on(day: str, content, tmp_path):
    out = tmp_path / day / "output"
    proc = build(out, content=content, site_date=day, ALERTS=SETTING_ALERTS)
    return out, proc


def test_banner_on_every_page_while_active(alert_content, tmp_path):
    out, proc = build_on("2025-11-12", alert_content, tmp_path)
    for page in (
        "index.html",
        "about/index.html",
        "news/2026/earth-day-2026/index.html",
        "news/index.html",
        "404.html",
    ):
        html = parse(out / page)
        urgent = html.find("div", role="alert")
        assert len(urgent) == 1, page
        assert "School closed today" in html.text
        assert "Snow: the school is closed on Wednesday, November 12." in html.text
        assert "Parent-teacher conferences: sign up by Friday." in html.text
        assert "Fixed in the past" not in html.text
        # The info alert is a labelled region with a heading, not an ARIA alert.
        regions = [a for a in html.find("section") if "alert-info" in a.get("class", "")]
        assert len(regions) == 1 and regions[0].get("role") is None
        assert html.find("h2", id=regions[0]["aria-labelledby"])
    home = (out / "index.html").read_text()
    assert home.index("alert-urgent") < home.index("alert-info")
    # Site-relative alert links work from any page depth.
    about = parse(out / "about" / "index.html")
    assert about.find("a", href="../news/2025/parent-teacher-conferences-fall/")


def test_no_banner_before_start_or_after_expiry(alert_content, tmp_path):
    for day in ("2025-11-07", "2025-11-15"):
        out, _ = build_on(day, alert_content, tmp_path)
        html = parse(out / "index.html")
        assert not html.find("div", role="alert"), day
        assert "alerts" not in {a.get("class") for _, a in html.tags}, day
        assert "School closed today" not in html.text


def test_info_alert_alone_between_urgent_and_expiry(alert_content, tmp_path):
    out, _ = build_on("2025-11-13", alert_content, tmp_path)
    html = parse(out / "news" / "index.html")
    assert not html.find("div", role="alert")
    assert "Parent-teacher conferences: sign up by Friday." in html.text


def test_an_unreadable_alert_stops_the_build_naming_file_and_reason(tmp_path):
    content = copy_content(tmp_path)
    (content / "alerts" / "broken.md").write_text("Level: info\nExpires: soon\n\nNever shown.\n")
    out = tmp_path / "output"
    proc = build(out, content=content, check=False)
    log = log_text(proc)
    assert proc.returncode == 1, log
    assert "broken.md: expires 'soon' is not a date or time" in log
    assert "Build stopped" in log and "Traceback" not in log
    assert log.count("expires 'soon'") == 1  # one message per problem
    assert not (out / "index.html").exists()


@pytest.mark.parametrize(
    ("moment", "shown"),
    [("2026-01-27T07:00", True), ("2026-01-27T05:00", False), ("2026-01-27T12:30", False)],
)
def test_a_date_time_site_date_previews_the_delay_alert(tmp_path, moment, shown):
    """content/alerts/2026-01-27-delay.md runs 05:30-12:00: a time of day previews it."""
    out = tmp_path / "output"
    build(out, site_date=moment)
    html = parse(out / "index.html")
    assert bool(html.find("div", role="alert")) is shown
    assert ("Two-hour delay" in html.text) is shown


def test_a_bad_site_date_is_a_clear_message(tmp_path):
    proc = build(tmp_path / "output", site_date="27/01/2026", check=False)
    log = log_text(proc)
    assert proc.returncode == 1
    assert "SITE_DATE='27/01/2026' is not a date or a date-time" in log
    assert "2026-01-27T07:00" in log and "Traceback" not in log
