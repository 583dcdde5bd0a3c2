"""Bad input in real builds: malformed files, script injection, embeds, time zones."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import ROOT
from tests.feeds.conftest import build

EMBED_PAGE = """Title: Feeds test page
Slug: feeds-test
Embed: https://cedar-hollow.gobound.com/schedule title="Bound schedule"

[embed https://millbrook.nutrislice.com/menu/upper?mode=browse&amp;x=1 title="Upper School menu"]

[embed https://tracker.example.com/widget title="Tracker widget"]

[embed title="Schedule widget"]
<iframe src="https://www.rschooltoday.com/cal?id=7" onload="alert('frame')" width="700"></iframe>
<script>alert('snippet')</script>
[/embed]

[lunch-week 2026-11-30 school="Lower School (K-5)" level=3]

[team-schedule varsity-soccer]

[team-schedule no-such-team]

[upcoming-games limit=2]

Written as code, a shortcode stays text: `[lunch-today]`.
"""

# Game times in UTC on either side of the DST change on 2026-11-01: both are 6 p.m. at school.
DST_ICS = "\r\n".join(
    [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN",
        "BEGIN:VEVENT", "UID:dst-1@test", "DTSTAMP:20261001T000000Z",
        "DTSTART:20261030T220000Z", "SUMMARY:Varsity Soccer vs. Lakeside", "END:VEVENT",
        "BEGIN:VEVENT", "UID:dst-2@test", "DTSTAMP:20261001T000000Z",
        "DTSTART:20261106T230000Z", "SUMMARY:Varsity Soccer vs. Riverton", "END:VEVENT",
        "BEGIN:VEVENT", "UID:inject@test", "DTSTAMP:20261001T000000Z",
        "DTSTART:20261125T230000Z",
        "SUMMARY:Varsity Soccer vs. <script>alert('summary')</script>",
        "LOCATION:\"><img src=x onerror=alert('location')>",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
)  # fmt: skip

INJECT_CSV = (
    "date,meal,item,allergens,school\n"
    "2026-11-24,Lunch,<script>alert('menu')</script>Pizza,"
    "<img src=x onerror=alert('label')>,Annex\n"
)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def extras(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("extras")
    content = tmp / "content"
    shutil.copytree(ROOT / "content", content, ignore=shutil.ignore_patterns("gallery"))
    (content / "pages" / "feeds-test.md").write_text(EMBED_PAGE)
    (content / "data" / "athletics" / "test-dst.ics").write_text(DST_ICS)
    (content / "data" / "lunch" / "inject.csv").write_text(INJECT_CSV)
    (content / "data" / "athletics" / "inject.csv").write_text(
        "date,time,sport,level,opponent\n"
        "2026-12-01,4:00 PM,\"&quot;><script>alert('sport')</script>\",Varsity,Central\n"
    )
    proc = build(content, tmp / "out")
    return tmp / "out", re.sub(r"\s+", " ", proc.stdout + proc.stderr)


def all_html(out) -> str:
    return "\n".join(p.read_text("utf-8") for p in out.rglob("*.html"))


def test_allowed_embeds_become_titled_iframes_with_a_link(extras):
    out, _ = extras
    html = (out / "feeds-test" / "index.html").read_text("utf-8")
    assert (
        '<iframe src="https://millbrook.nutrislice.com/menu/upper?mode=browse&amp;x=1" '
        'title="Upper School menu"'
    ) in html
    assert '<a href="https://millbrook.nutrislice.com/menu/upper?mode=browse&amp;x=1">' in html
    assert '<iframe src="https://www.rschooltoday.com/cal?id=7" title="Schedule widget"' in html
    assert 'width="700"' in html
    # The Embed: metadata field is merged after the text.
    assert '<iframe src="https://cedar-hollow.gobound.com/schedule" title="Bound schedule"' in html


def test_disallowed_host_is_a_link_and_a_warning(extras):
    out, log = extras
    html = (out / "feeds-test" / "index.html").read_text("utf-8")
    assert '<a href="https://tracker.example.com/widget">Tracker widget</a>' in html
    assert 'iframe src="https://tracker.example.com' not in html
    assert "pages/feeds-test.md" in log and "'tracker.example.com' is not in" in log


def test_script_in_an_embed_snippet_is_removed(extras):
    out, _ = extras
    html = (out / "feeds-test" / "index.html").read_text("utf-8")
    assert "alert('snippet')" not in html and "alert('frame')" not in html
    assert "onload" not in html and "<script" not in html


def test_script_in_feed_text_is_inert(extras):
    out, _ = extras
    html = all_html(out)
    assert "<script>alert(" not in html
    team = next((out / "athletics").glob("*script*/index.html")).read_text("utf-8")
    assert "&lt;script&gt;alert(&#39;sport&#39;)&lt;/script&gt;</h1>" in team
    assert "<title>Varsity andquotscriptalert('sport')/script – Athletics" in team
    assert "<img src=x onerror" not in html and '<img src="x"' not in html
    lunch = (out / "lunch" / "index.html").read_text("utf-8")
    assert "&lt;script&gt;alert(&#39;menu&#39;)&lt;/script&gt;Pizza" in lunch
    soccer = (out / "athletics" / "varsity-soccer" / "index.html").read_text("utf-8")
    assert "vs. &lt;script&gt;alert(&#39;summary&#39;)&lt;/script&gt;" in soccer


def test_shortcodes_render_menus_and_schedules(extras):
    out, log = extras
    html = (out / "feeds-test" / "index.html").read_text("utf-8")
    text = text_of(html)
    assert "<h3>Week of November 30, 2026</h3>" in html
    assert "Lower School (K-5): Week of November 30, 2026" in text
    assert "Upper School (6-12)" not in text  # school="..." filter
    assert "Varsity Soccer schedule" in text and "vs. Lakeside" in text
    assert "no-such-team" in log and "pages/feeds-test.md" in log
    assert "<code>[lunch-today]</code>" in html


def test_game_times_across_the_dst_change(extras):
    out, _ = extras
    html = (out / "athletics" / "varsity-soccer" / "index.html").read_text("utf-8")
    assert '<time datetime="2026-10-30T18:00:00-04:00">6:00 p.m.</time>' in html
    assert '<time datetime="2026-11-06T18:00:00-05:00">6:00 p.m.</time>' in html


def test_malformed_files_warn_by_name_and_the_site_still_builds(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content, ignore=shutil.ignore_patterns("gallery"))
    lunch, athletics = content / "data" / "lunch", content / "data" / "athletics"
    (lunch / "typo-menu.csv").write_text("day,food\n2026-11-23,Pizza\n")
    (lunch / "cut-off-week.json").write_text('{"days": [{"date": "2026-11-23", "menu_')
    (lunch / "notes.docx").write_bytes(b"PK\x03\x04")
    (athletics / "broken.ics").write_text("BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\n")
    (athletics / "results.csv").write_text("when,who\n2026-11-23,Central\n")
    (athletics / "feeds.toml").write_text('[[feed]]\nname = "x"\nformat = "ics"\n')
    proc = build(content, tmp_path / "out")
    log = re.sub(r"\s+", " ", proc.stdout + proc.stderr)
    assert proc.returncode == 0
    for name, problem in [
        ("typo-menu.csv", "missing date, meal, item, found day, food"),
        ("cut-off-week.json", "not valid JSON"),
        ("notes.docx", "the file type '.docx' is not one of"),
        ("broken.ics", "not a valid iCalendar file"),
        ("results.csv", "missing date, sport, opponent"),
        ("feeds.toml", "needs both name"),
    ]:
        assert re.search(rf"{re.escape(name)}[^\n]*{re.escape(problem)}", log), (name, log)
    lunch_page = text_of((tmp_path / "out" / "lunch" / "index.html").read_text("utf-8"))
    assert "Baked Ziti with Marinara" in lunch_page  # the good files still count
    assert (tmp_path / "out" / "athletics" / "varsity-football" / "index.html").exists()
