"""Bad input never stops the build silently, and never stops it for one bad feed row: a bad
event or CSV row is skipped with one warning naming the file and line (or UID); a page,
article or alert that cannot be read stops the build, naming the file and the reason."""

from __future__ import annotations

from tests.site.helpers import build, copy_content, log_text

GOOD_DATE = "DTSTART;TZID=America/New_York:20261030T190000"
BAD_DATE = "DTSTART;TZID=America/New_York:20261330T190000"


def test_a_bad_feed_event_and_csv_row_are_skipped_with_one_warning_each(tmp_path):
    content = copy_content(tmp_path)
    ics = content / "data" / "athletics" / "rschooltoday-2026-27.ics"
    text = ics.read_text()
    assert GOOD_DATE in text
    ics.write_text(text.replace(GOOD_DATE, BAD_DATE, 1))
    csv = content / "data" / "athletics" / "modified-jv-basketball.csv"
    csv.write_text(csv.read_text() + "2026-11-31,4:30 PM,Boys Basketball,JV,Lakeside,Home,,,\n")
    bad_line = len(csv.read_text().splitlines())
    out = tmp_path / "output"
    proc = build(out, content=content, site_date="2026-11-26", check=False)
    log = log_text(proc)
    assert proc.returncode == 0, log
    assert "Traceback" not in log
    uid = "evt-20261030-fb@rschooltoday.example.com"
    event_warning = (
        f"rschooltoday-2026-27.ics: the event 'Varsity Football Cedar Hollow at Northfield "
        f"High School' (UID {uid}) DTSTART '20261330T190000' is not a valid date or time; "
        "it was skipped"
    )
    assert event_warning in log
    assert log.count(uid) == 1
    row_warning = f"modified-jv-basketball.csv: line {bad_line}: '2026-11-31' is not a date"
    assert row_warning in log and log.count("'2026-11-31'") == 1
    # The rest of that file, and the site, went out.
    assert (out / "athletics" / "varsity-football" / "index.html").is_file()
    assert (out / "calendars" / "athletics.ics").is_file()
    assert uid not in (out / "calendars" / "athletics.ics").read_text()


def test_a_markdown_file_with_a_broken_header_stops_the_build(tmp_path):
    content = copy_content(tmp_path)
    story = content / "articles" / "2026-11-20-coat-drive.md"
    story.write_text("Title Winter coat drive\nDate: 2026-11-20\n\nBring coats to the office.\n")
    out = tmp_path / "output"
    proc = build(out, content=content, check=False)
    log = log_text(proc)
    assert proc.returncode == 1, log
    assert (
        "content/articles/2026-11-20-coat-drive.md: cannot be read: line 1: "
        "'Title Winter coat drive' is not a `Key: value` header line; a colon is missing "
        "(write `Title: Winter coat drive`)"
    ) in log
    assert "Build stopped" in log and "Traceback" not in log
    assert log.count("2026-11-20-coat-drive.md") == 1  # Pelican's own notice is replaced
    assert not (out / "index.html").exists()


def test_a_page_without_a_title_stops_the_build(tmp_path):
    content = copy_content(tmp_path)
    (content / "pages" / "bus-routes.md").write_text("Slug: bus-routes\n\nRoute 6 leaves at 7.\n")
    proc = build(tmp_path / "output", content=content, check=False)
    log = log_text(proc)
    assert proc.returncode == 1
    assert "content/pages/bus-routes.md: cannot be read: the header has no `Title:` line" in log


def test_the_sample_site_builds_without_warnings(tmp_path):
    """Real warnings are not drowned: the sample content builds without any (the SITEURL
    notice for feeds used to come with every build)."""
    proc = build(tmp_path / "output", content=copy_content(tmp_path), site_date="2026-11-26")
    log = log_text(proc)
    assert "SITEURL" not in log
    warnings = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if "WARNING" in line
        # The fall-festival photos are copied in by `make demo` only (git-ignored), and
        # tests run without a consent registry: both are the consent gate's own notices.
        and "images/gallery/" not in line
        and "no consent registry" not in line
    ]
    assert warnings == [], "\n".join(warnings)
