"""The review queue and the office's views through Flask's test client, against a real
registry and a real face cache holding the last build's faces (fixed templates: the real
detectors run in test_office_browser.py): paging and filters, tags that survive another
photo's button, thumbnails kept by hash, matching against the records as they are now,
and approvals that say who every face is."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta

import numpy as np
from consent_registry.registry import Registry
from face_engine.cache import FaceCache
from face_engine.model import DetectedFace, FaceBox, sha256_bytes
from PIL import Image

from tests.consent_office.conftest import csrf_of, sign_in

BOX = FaceBox(20, 120, 120, 20)
BUILT_AT = "2026-11-26T06:00:00+00:00"


def template(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.1, 128)


def near(seed: int) -> np.ndarray:
    """A face of the person of `seed` as a photo shows them (0.05 from their template)."""
    noise = np.random.default_rng(seed + 10_000).normal(0, 1, 128)
    return template(seed) + noise / np.linalg.norm(noise) * 0.05


def photo_bytes(n: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (160, 160), (n % 256, n // 256 % 256, 90)).save(out, "PNG")
    return out.getvalue()


def withheld(office, n: int, faces: list, pages=("news/a/index.html",), built=None) -> dict:
    """Photo n in the content folder and the face cache, withheld by the build; `faces`
    are (encoding, person id the build recognised)."""
    data = photo_bytes(n)
    path = office.content / "images" / f"p{n}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    sha = sha256_bytes(data)
    boxes = [FaceBox(BOX.top, BOX.right + 130 * i, BOX.bottom, BOX.left + 130 * i)
             for i in range(len(faces))]  # fmt: skip
    FaceCache(office.settings.gate.cache_dir).put(
        sha, [DetectedFace(b, "test", 0.9, e) for b, (e, _p) in zip(boxes, faces, strict=True)],
        encoded=True,
    )  # fmt: skip
    return {
        "path": f"images/p{n}.png",
        "output_path": f"images/p{n}.png",
        "sha256": sha,
        "verdict": built or "withhold",
        "kind": "raster",
        "reasons": ["unknown face"],
        "pages": list(pages),
        "faces": [
            {
                "box": {"top": b.top, "right": b.right, "bottom": b.bottom, "left": b.left},
                "person_id": p,
                "ok": False,
                "reason": f"{p}: consent revoked" if p else "unknown face",
            }
            for b, (_e, p) in zip(boxes, faces, strict=True)
        ],
    }


def write_report(office, images: list[dict]) -> None:
    office.report.parent.mkdir(parents=True, exist_ok=True)
    office.report.write_text(json.dumps({"generated_at": BUILT_AT, "images": images}))


def registry(office) -> Registry:
    return Registry.open(office.registry, office.key_file)


def sections(html: str) -> list[str]:
    return re.findall(r'<section class="photo" id="photo-([0-9a-f]{64})"', html)


def test_the_queue_is_paged_and_filtered_by_person_article_and_reason(client, office):
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)])
        r.add("S2", "Ben Okafor", [template(2)], expires=datetime.now(UTC).date() + timedelta(1))
        r.revoke("S2")
    images = [withheld(office, n, [(template(1000 + n), None)]) for n in range(50)]
    # One where the gate finds Ana (and an unknown face), one showing Ben, withdrawn since.
    images.append(withheld(office, 50, [(near(1), None), (template(3000), None)],
                           pages=["news/sports-day/index.html"]))  # fmt: skip
    images.append(withheld(office, 51, [(template(2), "S2")]))
    write_report(office, images)
    sign_in(client)
    first = client.get("/review").get_data(as_text=True)
    assert len(sections(first)) == 24
    assert "52 withheld photos" in first and "page 1 of 3" in first
    assert 'loading="lazy"' in first
    last = client.get("/review?page=3").get_data(as_text=True)
    assert len(sections(last)) == 4
    assert set(sections(first)).isdisjoint(sections(last))
    # By person: the face matched against Ana's record now, or the build's Ben.
    (ana,) = sections(client.get("/review?person=S1").get_data(as_text=True))
    assert ana == images[50]["sha256"]
    (ben,) = sections(client.get("/review?person=S2").get_data(as_text=True))
    assert ben == images[51]["sha256"]
    # By article, and by reason.
    by_article = client.get("/review?article=news/sports-day/index.html").get_data(as_text=True)
    assert sections(by_article) == [images[50]["sha256"]]
    withdrawn = client.get("/review?reason=withdrawn").get_data(as_text=True)
    assert sections(withdrawn) == [images[51]["sha256"]]
    assert "Ben Okafor: consent revoked" in withdrawn
    assert len(sections(client.get("/review?reason=not-on-file&page=2").get_data(as_text=True)))


def test_tags_typed_for_one_photo_survive_another_photos_button(client, office):
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)])
    a = withheld(office, 1, [(template(500), None)])
    b = withheld(office, 2, [(template(501), None)])
    write_report(office, [a, b])
    sign_in(client)
    token = csrf_of(client.get("/review").get_data(as_text=True))
    form = {
        "csrf_token": token,
        "shown": [a["sha256"], b["sha256"]],
        f"tag-{a['sha256']}-1": "S1",
        f"tag-{b['sha256']}-1": "",
        f"reason-{b['sha256']}": "not a school photo",
        "do": f"keep:{b['sha256']}",
    }
    assert client.post("/review", data=form).status_code == 303
    page = client.get("/review").get_data(as_text=True)
    assert sections(page) == [a["sha256"]]  # B kept withheld
    assert f'name="tag-{a["sha256"]}-1" list="people" value="S1"' in page  # A's tag kept


def test_a_refused_form_shows_every_typed_value_again(client, office):
    a = withheld(office, 1, [(template(500), None)])
    b = withheld(office, 2, [(template(501), None)])
    write_report(office, [a, b])
    sign_in(client)
    token = csrf_of(client.get("/review").get_data(as_text=True))
    form = {
        "csrf_token": token,
        "shown": [a["sha256"], b["sha256"]],
        f"tag-{a['sha256']}-1": "S99",
        f"who-{b['sha256']}-1": "a visiting parent",
        f"reason-{b['sha256']}": "family agreed",
        "do": f"approve:{b['sha256']}",
    }
    refused = client.post("/review", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "there is no record &#39;S99&#39;" in html
    assert 'value="S99"' in html and 'value="a visiting parent"' in html
    assert 'value="family agreed"' in html
    with registry(office) as r:
        assert r.approvals() == {}


def test_thumbnails_are_kept_in_memory_by_hash(client, office):
    image = withheld(office, 7, [(template(7), None)])
    write_report(office, [image])
    sign_in(client)
    first = client.get(f"/thumb/{image['sha256']}")
    assert first.status_code == 200 and first.mimetype == "image/jpeg"
    (office.content / "images" / "p7.png").unlink()  # no second read of the file
    again = client.get(f"/thumb/{image['sha256']}")
    assert again.status_code == 200 and again.data == first.data


def test_the_queue_matches_the_builds_faces_against_the_records_now(client, office):
    # The build knew nobody; Ana's record is added afterwards, Ben's withdrawn.
    with registry(office) as r:
        r.add("S2", "Ben Okafor", [template(2)])
    image = withheld(office, 1, [(near(1), None), (template(77), None)])
    ben = withheld(office, 2, [(near(2), "S2")])
    write_report(office, [image, ben])
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)])
        r.revoke("S2")
    sign_in(client)
    page = client.get("/review").get_data(as_text=True)
    assert "Face 1: Ana Gómez: consent on file" in page
    assert "Ana Gómez&#39;s record changed after the build" in page
    assert "The build is older than 2 records" in page
    assert "Ben Okafor: consent revoked" in page
    assert "Face 1: not on file" not in page.split(ben["sha256"])[-1]
    # "Photos showing this student" knows the photo Ana was added after.
    record = client.get("/records/S1").get_data(as_text=True)
    assert "images/p1.png" in record and "older than this record" in record
    assert "images/p2.png" in client.get("/records/S2").get_data(as_text=True)


def test_a_photo_a_new_record_now_covers_leaves_the_queue(client, office):
    image = withheld(office, 1, [(near(1), None)])
    write_report(office, [image])
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)])
    sign_in(client)
    assert sections(client.get("/review").get_data(as_text=True)) == []
    assert "published at the next build" in client.get("/records/S1").get_data(as_text=True)


def test_an_approval_says_who_every_unmatched_face_is(client, office):
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)])
    image = withheld(office, 1, [(near(1), None), (template(77), None)])
    write_report(office, [image])
    sha = image["sha256"]
    sign_in(client)
    token = csrf_of(client.get("/review").get_data(as_text=True))
    base = {"csrf_token": token, "shown": [sha], f"reason-{sha}": "family agreed",
            "do": f"approve:{sha}", f"tag-{sha}-1": "S1"}  # fmt: skip
    refused = client.post("/review", data=base)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "face 2 (not on file) matches no record with consent" in html
    assert "Closest records:" in html and "Ana Gómez (S1" in html
    with registry(office) as r:
        assert r.approvals() == {}
    done = client.post("/review", data={**base, f"who-{sha}-2": "a visiting grandparent"})
    assert done.status_code == 303
    with registry(office) as r:
        (approval,) = r.approvals().values()
        entries = [e for e in r.audit_log() if e.action == "tag-face"]
    assert approval.shows == ("S1",)
    assert approval.not_student == "face 2: a visiting grandparent"
    assert any(e.details.get("not_student") == "a visiting grandparent" for e in entries)
    assert sections(client.get("/review").get_data(as_text=True)) == []


def test_real_faces_of_the_last_build_matched_against_a_record_added_since(
    client, office, monkeypatch
):
    """The real face engine: the build scanned a group photo before Rose had a record; the
    queue matches its cached faces against her record as it is now, with no new scan."""
    from face_engine import faces as engine

    from tests.conftest import SHARED_FACES

    group = (SHARED_FACES / "groups" / "kit_and_rose.jpg").read_bytes()
    path = office.content / "images" / "group.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(group)
    sha = sha256_bytes(group)
    found = engine.detect_faces(group, encode=True, source="group.jpg")  # what the build did
    assert sum(f.encoding is not None for f in found) == 2  # Kit and Rose (and a speck)
    FaceCache(office.settings.gate.cache_dir).put(sha, found, encoded=True)
    boxes = [{"top": f.box.top, "right": f.box.right, "bottom": f.box.bottom,
              "left": f.box.left} for f in found]  # fmt: skip
    write_report(office, [{
        "path": "images/group.jpg", "output_path": "images/group.jpg", "sha256": sha,
        "verdict": "withhold", "kind": "raster", "reasons": ["unknown faces"],
        "pages": ["news/a/index.html"],
        "faces": [{"box": b, "person_id": None, "ok": False, "reason": "unknown face"}
                  for b in boxes],
    }])  # fmt: skip
    rose = (SHARED_FACES / "people" / "rose_leslie" / "rose2.jpg").read_bytes()
    with registry(office) as r:
        r.add("S2", "Rose Leslie", engine.reference_templates(rose, "rose2.jpg"))
    monkeypatch.setattr(engine, "detect_faces", None)  # no scan: the face cache is read
    sign_in(client)
    page = client.get("/review").get_data(as_text=True)
    assert page.count("Rose Leslie: consent on file") == 1
    assert "not on file" in page  # Kit: no record
    assert "Closest records:" in page and "Rose Leslie (S2" in page
