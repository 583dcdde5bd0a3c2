"""The staff directory as built from the sample CSV: departments in order, a page per
department, mailto:/tel: links, a bad row reported with its file and line, and staff photos
checked by the consent gate like any other image (a face without consent is withheld)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.site.helpers import build, copy_content, log_text, parse

PHOTO_WITH_FACE = Path("people/obama/obama1.jpg")  # in the shared faces; no consent on file


@pytest.fixture(scope="module")
def built(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("staff")
    content = copy_content(tmp)
    staff = content / "data" / "staff"
    (staff / "photos").mkdir()
    # A drawing with no face in it, and a real face of someone with no consent record.
    drawing = Image.new("RGB", (192, 192), "#1e5631")
    ImageDraw.Draw(drawing).rectangle((48, 48, 144, 144), fill="#f2c14e")
    drawing.save(staff / "photos" / "logo-tile.png")
    faces = request.config.rootpath.parent / "shared" / "faces"
    if not (faces / PHOTO_WITH_FACE).is_file():
        pytest.fail(f"the shared face photos are missing: expected {faces / PHOTO_WITH_FACE}")
    shutil.copy(faces / PHOTO_WITH_FACE, staff / "photos" / "newcomer.jpg")
    csv = staff / "staff.csv"
    csv.write_text(
        csv.read_text()
        + "Ada Tile,Office volunteer,Office and leadership,atile@cedarhollow.example.org,"
        + "(555) 014-2200,photos/logo-tile.png\n"
        + "Ben Newcomer,Substitute teacher,Upper School (6-12),bnewcomer@cedarhollow.example.org,"
        + "(555) 014-2200,photos/newcomer.jpg\n"
        + "Broken Row,Aide,Lower School (K-5),not-an-email,(555) 014-2200,\n"
    )
    out = tmp / "output"
    log = log_text(build(out, content=content))
    report = json.loads((out.parent / "output.report.json").read_text())
    lines = csv.read_text().splitlines()
    return out, log, report, len(lines)


def test_departments_in_the_order_of_the_file_with_contact_links(built):
    out, *_ = built
    page = parse(out / "staff-directory" / "index.html")
    headings = re.findall(
        r'<h2 id="department-([a-z0-9-]+)">', (out / "staff-directory/index.html").read_text()
    )
    assert headings[:3] == ["office-and-leadership", "student-support", "lower-school-k-5"]
    assert "food-service" in headings and "transportation" in headings
    assert page.find("a", href="mailto:aruiz@cedarhollow.example.org")
    assert page.find("a", href="tel:+15550142201")
    # The names on other pages of the sample site are the directory's.
    for name in ("Peter Lindqvist", "Owen Byrne", "Carla Nunes", "Gail Whitford"):
        assert name in page.text
    assert "(555) 014-2240" in page.text  # food service, as on the lunch page


def test_a_page_per_department_shows_that_department_only(built):
    out, *_ = built
    food = parse(out / "staff-directory" / "food-service" / "index.html")
    assert "Peter Lindqvist" in food.text and "Angela Ruiz" not in food.text
    assert food.find("a", href="tel:+15550142240")
    (current,) = [a for _, a in food.tags if a.get("aria-current") == "page" and "href" in a]
    assert current["href"].endswith("staff-directory/food-service/")
    assert len(list((out / "staff-directory").glob("*/index.html"))) == 8


def test_bad_row_is_reported_with_file_and_line(built):
    out, log, _, last_line = built
    assert f"staff.csv: line {last_line}: Broken Row: 'not-an-email' is not an email" in log
    assert "Broken Row" not in (out / "staff-directory/index.html").read_text()


def test_staff_photos_go_through_the_consent_gate(built):
    out, _, report, _ = built
    images = {entry["path"]: entry for entry in report["images"]}
    drawing = images["staff-directory/photos/logo-tile.png"]
    assert drawing["verdict"] == "publish"
    assert (out / "staff-directory/photos/logo-tile.png").is_file()
    face = images["staff-directory/photos/newcomer.jpg"]
    assert face["verdict"] == "withhold" and face["faces"]
    assert not (out / "staff-directory/photos/newcomer.jpg").exists()
    upper = (out / "staff-directory/upper-school-6-12/index.html").read_text()
    assert "newcomer.jpg" not in upper and 'class="photo-withheld"' in upper
    assert "Ben Newcomer" in upper  # the person is still listed, with the placeholder
