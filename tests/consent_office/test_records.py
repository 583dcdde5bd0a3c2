"""Records in the workspace through Flask's test client, with the face engine replaced by
fixed templates (the real detectors run in test_office_browser.py): the look-alike
warning, editing details only, the plain reasons of the review queue, a damaged registry
on the home page, and the CSV exports."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
from datetime import UTC, date, datetime

import numpy as np
import pytest
from consent_office.photos import Face, plain_reason
from consent_registry.registry import Person, Registry
from face_engine import faces
from face_engine.model import FaceBox

from tests.conftest import SHARED_FACES
from tests.consent_office.conftest import csrf_of, sign_in


def template(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.1, 128)


@pytest.fixture
def one_face(monkeypatch):
    """Every uploaded "photo" holds one clear face whose template is seeded by its bytes."""

    def reference_faces(data: bytes, source: str = ""):
        return [faces.ReferenceFace(1, FaceBox(10, 110, 110, 10), 100, 500.0, None)]

    def reference_templates(data: bytes, source: str = "", *, face=None):
        assert face == 1
        return [template(int(data))]

    monkeypatch.setattr(faces, "reference_faces", reference_faces)
    monkeypatch.setattr(faces, "reference_templates", reference_templates)
    monkeypatch.setattr("consent_office.photos.thumbnail", lambda data, boxes: b"jpeg")


def add_through_pages(client, person_id: str, name: str, seed: int, **extra):
    token = csrf_of(client.get("/records/new").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "person_id": person_id,
        "name": name,
        "role": "student",
        "scopes": "website",
        "photos": (io.BytesIO(str(seed).encode()), "photo.jpg"),
    }
    step = client.post("/records/new", data=data, content_type="multipart/form-data")
    assert step.status_code == 303, step.get_data(as_text=True)
    faces_page = step.headers["Location"]
    page = client.get(faces_page).get_data(as_text=True)
    assert 'value="1" checked' in page  # the only clear face is chosen for the office
    return client.post(faces_page, data={"csrf_token": token, "face-0": "1", **extra})


def test_look_alike_is_warned_and_confirmed_only_on_purpose(client, office, one_face):
    sign_in(client)
    assert add_through_pages(client, "S1", "Alex Rivera", 5).status_code == 303
    twin = add_through_pages(client, "S2", "Sam Rivera", 5)  # the same face
    html = twin.get_data(as_text=True)
    assert twin.status_code == 400 and "This face is already on file" in html
    assert "matches the record of" in html and "Alex Rivera (S1)" in html
    assert 'name="lookalike_of" value="S1"' in html
    with Registry.open(office.registry, office.key_file) as registry:
        assert registry.get("S2") is None
    confirmed = add_through_pages(client, "S2", "Sam Rivera", 5, lookalike_of="S1")
    assert confirmed.status_code == 303
    with Registry.open(office.registry, office.key_file) as registry:
        assert registry.get("S2").lookalikes == ("S1",)
        entry = [e for e in registry.audit_log("S2") if e.action == "add"][0]
    assert entry.actor == "m.chen" and entry.details["confirmed_lookalike_of"] == ["S1"]


def test_editing_details_keeps_the_face_templates(client, office, one_face):
    sign_in(client)
    add_through_pages(client, "S1", "Alex Rivera", 5)
    form = client.get("/records/S1/edit").get_data(as_text=True)
    token = csrf_of(form)
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    saved = client.post(
        "/records/S1/edit",
        data={
            "csrf_token": token,
            "version": version,
            "name": "Alex Rivera-Lee",
            "role": "student",
            "grade": "6",
            "scopes": ["website", "newsletter"],
            "expires": "2099-06-30",
        },
        content_type="multipart/form-data",
    )
    assert saved.status_code == 303, saved.get_data(as_text=True)
    with Registry.open(office.registry, office.key_file) as registry:
        person = registry.get("S1")
    assert (person.name, person.grade, person.templates) == ("Alex Rivera-Lee", "6", 1)
    assert person.scopes == ("newsletter", "website") and person.expires == date(2099, 6, 30)
    past = client.post(
        "/records/S1/edit",
        data={"csrf_token": token, "name": "A", "expires": "2001-01-01"},
        content_type="multipart/form-data",
    )
    assert past.status_code == 400 and "is in the past" in past.get_data(as_text=True)


def person(**changes) -> Person:
    values = dict(
        person_id="S7",
        name="Rose Leslie",
        role="student",
        grade="5",
        scopes=("website",),
        expires=None,
        status="active",
        never_publish=False,
        templates=1,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    values.update(changes)
    return Person(**values)


def test_plain_reasons_for_each_face():
    box = {"top": 0, "right": 1, "bottom": 1, "left": 0}
    today = date(2026, 11, 26)
    revoked = {"S7": person(status="revoked")}
    recognised = Face(1, box, "S7", False, "S7: consent revoked")
    assert (
        plain_reason(recognised, revoked, today, {"S7": "2026-11-20"})
        == "Rose Leslie: consent revoked on 2026-11-20"
    )
    expired = {"S7": person(expires=date(2026, 9, 1))}
    assert (
        plain_reason(recognised, expired, today, {}) == "Rose Leslie: consent expired on 2026-09-01"
    )
    unknown = Face(2, box, None, False, "unknown face (closest record at distance 0.68)")
    assert plain_reason(unknown, {}, today, {}) == "not on file"
    small = Face(3, box, None, False, "face too small/blurred to match (22 px, under 40 px)")
    assert plain_reason(small, {}, today, {}) == "too small to check"
    gone = Face(4, box, "S9", False, "S9: consent revoked")
    assert plain_reason(gone, {}, today, {}) == "S9: no longer on file"


def test_a_damaged_registry_is_named_on_the_home_page_and_sign_in_still_works(client, office):
    with Registry.open(office.registry, office.key_file) as registry:
        for n in range(40):
            registry.add(f"S{n}", f"Student {n}", [template(100 + n)])
    size = office.registry.stat().st_size
    with open(office.registry, "r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\x00\xff" * ((size - size // 2) // 2))
    assert sign_in(client).status_code == 303
    home = client.get("/").get_data(as_text=True)
    assert "damaged: restore from backup" in home
    records = client.get("/records")
    assert records.status_code == 503 and "damaged: restore from backup" in records.get_data(
        as_text=True
    )


def test_audit_and_expiring_download_as_csv(client, office):
    from datetime import timedelta

    soon = date.today() + timedelta(days=12)
    with Registry.open(office.registry, office.key_file) as registry:
        registry.add("S1", "Zoë Adams", [template(1)], expires=soon, actor="Ms Lee")
        registry.add("S2", "Later Student", [template(2)], expires=soon + timedelta(days=90))
    sign_in(client)
    expiring = client.get("/expiring.csv")
    assert expiring.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(expiring.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [["id", "name", "grade", "expires"], ["S1", "Zoë Adams", "", soon.isoformat()]]
    audit = list(csv.reader(io.StringIO(client.get("/audit.csv").get_data(as_text=True)[1:])))
    assert audit[0] == ["at", "who", "action", "person", "details"]
    assert audit[2][1:4] == ["Ms Lee", "add", "S1"]


def test_thumbnails_come_from_the_content_folder_by_hash(client, office, tmp_path):

    photo = office.content / "images" / "deep" / "trip.jpg"
    photo.parent.mkdir(parents=True)
    shutil.copyfile(SHARED_FACES / "people/obama/obama_small.jpg", photo)
    sha = hashlib.sha256(photo.read_bytes()).hexdigest()
    office.report.parent.mkdir(parents=True)
    office.report.write_text(
        json.dumps(
            {
                "generated_at": "2026-11-26T06:00:00+00:00",
                "images": [
                    {
                        "output_path": "images/deep/trip.jpg",
                        "sha256": sha,
                        "verdict": "withhold",
                        "faces": [{"box": {"top": 50, "right": 200, "bottom": 150, "left": 100}}],
                    }
                ],
            }
        )
    )
    assert client.get(f"/thumb/{sha}").status_code == 401
    sign_in(client)
    original = photo.read_bytes()
    photo.write_bytes(b"changed since the build")
    assert client.get(f"/thumb/{sha}").status_code == 404  # only the exact file the gate saw
    photo.write_bytes(original)
    thumb = client.get(f"/thumb/{sha}")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert thumb.headers["Cache-Control"] == "no-store, private"
    assert client.get("/thumb/" + "0" * 64).status_code == 404


def test_bulk_actions_on_the_review_queue(client, office):
    with Registry.open(office.registry, office.key_file) as registry:
        registry.add("S1", "Ana Gómez", [template(1)])
        registry.add("S2", "Ben Okafor", [template(2)])
    box = {"top": 0, "right": 10, "bottom": 10, "left": 0}

    def withheld(n: int, person_id=None) -> dict:
        face = {"box": box, "person_id": person_id, "ok": False, "reason": "unknown face"}
        return {"output_path": f"images/{n}.jpg", "sha256": f"{n:064x}", "verdict": "withhold",
                "faces": [face]}  # fmt: skip

    images = [withheld(1), withheld(2), withheld(3, "S2"), withheld(4)]
    office.report.parent.mkdir(parents=True)
    office.report.write_text(json.dumps({"generated_at": "today", "images": images}))
    sign_in(client)
    queue = client.get("/review").get_data(as_text=True)
    token = csrf_of(queue)
    sha = [i["sha256"] for i in images]
    # The face the gate recognised is offered as that person's; the others are empty.
    assert f'name="tag-{sha[2]}-1" list="people" value="S2"' in queue
    assert f'name="tag-{sha[0]}-1" list="people" value=""' in queue

    # Bulk approve: each selected photo with its tags; a face that matches no record and
    # that nobody said who it is stops the whole batch (all or nothing).
    form = {"csrf_token": token, "do": "approve", "image": sha[:3], "reason": "class photos"}
    form[f"tag-{sha[0]}-1"] = "S1"
    refused = client.post("/review", data=form)
    with Registry.open(office.registry, office.key_file) as registry:
        assert registry.approvals() == {}
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "nothing was approved" in page
    assert "images/2.jpg: face 1 (not on file) matches no record with consent" in page
    form[f"who-{sha[1]}-1"] = "a visiting parent"
    client.post("/review", data=form)
    with Registry.open(office.registry, office.key_file) as registry:
        approvals = registry.approvals()
    assert {s: a.shows for s, a in approvals.items()} == {
        sha[0]: ("S1",),
        sha[1]: (),  # not a student: a visiting parent
        sha[2]: ("S2",),  # the face the gate recognised is named without a tag
    }
    # Bulk keep withheld: the photo leaves the queue; the home page counts what is left.
    client.post("/review", data={"csrf_token": token, "do": "keep", "image": [sha[3]]})
    page = client.get("/review").get_data(as_text=True)
    assert "0 withheld photos" in page and "1 kept withheld earlier" in page
    assert '<span class="count">0</span> photos waiting' in client.get("/").get_data(as_text=True)
    # A photo no longer in the report, or a tag naming no record, changes nothing.
    gone = client.post("/review", data={"csrf_token": token, "do": "keep", "image": ["f" * 64]})
    assert "no longer waiting" in gone.get_data(as_text=True)
    images.append(withheld(5))
    office.report.write_text(json.dumps({"generated_at": "today", "images": images}))
    bad = {"csrf_token": token, "do": f"tag:{sha[3][:-1]}5", f"tag-{sha[3][:-1]}5-1": "S99"}
    assert "there is no record &#39;S99&#39;" in client.post("/review", data=bad).get_data(
        as_text=True
    )


def test_an_id_already_on_file_is_refused_before_any_photo_is_read(client, office, one_face):
    sign_in(client)
    add_through_pages(client, "S1", "Alex Rivera", 5)
    token = csrf_of(client.get("/records/new").get_data(as_text=True))
    again = client.post(
        "/records/new",
        data={
            "csrf_token": token,
            "person_id": "S1",
            "name": "Someone Else",
            "photos": (io.BytesIO(b"6"), "photo.jpg"),
        },  # fmt: skip
        content_type="multipart/form-data",
    )
    assert again.status_code == 400
    assert "S1 is already in the registry (Alex Rivera)" in again.get_data(as_text=True)
    with Registry.open(office.registry, office.key_file) as registry:
        registry.revoke("S1", actor="m.chen")
    edit = client.get("/records/S1/edit").get_data(as_text=True)
    assert "keeps it withdrawn" in edit and "Give consent again" in edit  # its own form


def test_never_publish_and_remove_are_audited_with_the_office_users_name(client, office):
    with Registry.open(office.registry, office.key_file) as registry:
        registry.add("S1", "Ana Gómez", [template(1)])
        registry.add("S2", "Ben Okafor", [template(2)])
    sign_in(client)
    confirm = client.get("/records/S1/never-publish").get_data(as_text=True)
    assert "Mark never publish: Ana Gómez (S1)" in confirm
    token = csrf_of(confirm)

    def version(person_id: str) -> str:  # as the confirmation page carries it
        page = client.get(f"/records/{person_id}/remove").get_data(as_text=True)
        return re.search(r'name="version" value="(\d+)"', page).group(1)

    form = {"csrf_token": token, "version": version("S1")}
    assert client.post("/records/S1/never-publish", data=form).status_code == 303
    form = {"csrf_token": token, "version": version("S2")}
    removed = client.post("/records/S2/remove", data=form)
    assert removed.status_code == 200 and "Removed: Ben Okafor" in removed.get_data(as_text=True)
    with Registry.open(office.registry, office.key_file) as registry:
        assert registry.get("S1").never_publish and registry.get("S2") is None
        done = [(e.action, e.person_id, e.actor) for e in registry.audit_log()[-2:]]
    assert done == [("never-publish", "S1", "m.chen"), ("remove", "S2", "m.chen")]
    again = client.post(
        "/records/S1/never-publish", data={"csrf_token": token, "version": version("S1")}
    )
    assert again.status_code == 409 and "already marked never-publish" in again.get_data(
        as_text=True
    )
