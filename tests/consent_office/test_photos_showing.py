"""The photos showing a person and what happens to each when their consent ends: one rule
(``site_gate.review.photos_showing``) for `consent revoke`/`remove`/`never-publish` and the
workspace's record pages, on the build's report as it is read (``site_gate.report``) and
on the workspace's view of it matched against the records now."""

from __future__ import annotations

from datetime import UTC, datetime

from face_engine.model import Approval
from site_gate.report import ReportFace, ReportImage
from site_gate.review import Showing, photos_showing

from tests.consent_office.conftest import sign_in
from tests.consent_office.test_review_queue import registry, template, withheld, write_report

APPROVED_AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
TAKEN_DOWN = "taken down from the website at the next publish"


def image(name: str, verdict: str, people: list[str | None], pages=()) -> ReportImage:
    faces = tuple(ReportFace({}, p, verdict == "publish", "") for p in people)
    return ReportImage(name * 8, "", f"images/{name}.jpg", verdict, "raster", (), pages, faces)


def approval(name: str, shows: tuple[str, ...], label: str = "") -> Approval:
    return Approval(name * 8, "Ms Lee", "event photo", APPROVED_AT, shows, label)


BUILD = [
    image("play", "publish", ["S1"], ("news/play/index.html",)),
    image("blur", "withhold", ["S1", None]),
    image("grou", "publish", [None, None], ("news/group/index.html",)),
    image("logo", "publish", []),
    image("othr", "publish", ["S2"]),
]
APPROVALS = [
    approval("grou", ("S1",)),
    approval("trip", ("S1", "S2"), label="trip.jpg"),
    approval("olds", ("S1",)),  # no label: named by its hash
    approval("oth2", ("S2",)),
]


def test_the_build_s_photos_of_a_person_and_what_happens_to_each():
    found = photos_showing(BUILD, "S1", APPROVALS)
    assert found == [
        Showing("images/play.jpg", ("news/play/index.html",), TAKEN_DOWN, "play" * 8, True),
        Showing("images/blur.jpg", (), "already withheld; it stays off the website", "blur" * 8),
        Showing(
            "images/grou.jpg",
            ("news/group/index.html",),
            f"{TAKEN_DOWN} (the approval by Ms Lee no longer holds)",
            "grou" * 8,
            True,
        ),
        Showing(
            "trip.jpg",
            (),
            "approved by Ms Lee on 2026-11-20: withheld wherever it is used, " + TAKEN_DOWN,
            "trip" * 8,
            built=False,
        ),
        Showing(
            f"image {('olds' * 8)[:12]}…",
            (),
            "approved by Ms Lee on 2026-11-20: withheld wherever it is used, " + TAKEN_DOWN,
            "olds" * 8,
            built=False,
        ),
    ]
    assert photos_showing(BUILD, "S9", APPROVALS) == []


def test_the_verdict_now_changes_what_is_said():
    now = {"play" * 8: "withhold", "blur" * 8: "publish"}
    fates = {s.sha256[:4]: s.fate for s in photos_showing(BUILD, "S1", [], now=now)}
    assert fates == {
        "play": "published by the last build; withheld now, taken down at the next publish",
        "blur": "withheld by the last build; published at the next build while they keep consent",
    }


def test_the_record_page_says_what_the_shared_rule_says(client, office):
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)])
        r.approve("ab" * 32, "Ms Lee", "trip photo", shows=["S1"], label="trip.jpg")
        at = r.approvals()["ab" * 32].at
    write_report(office, [withheld(office, 1, [(template(1), "S1")])])
    sign_in(client)
    page = client.get("/records/S1").get_data(as_text=True)
    assert "images/p1.png" in page
    assert (
        f"trip.jpg</strong>: approved by Ms Lee on {at:%Y-%m-%d}: withheld wherever it is "
        "used, taken down from the website at the next publish"
    ) in page
