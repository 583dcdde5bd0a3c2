"""CONSENT_BLUR: a group photo of consented people with one small unconsented face in the
background is published with that face blurred, and the blur holds on the published bytes:
no detector of the project finds a face there and the blurred region matches no one."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from consent_registry.settings import GateSettings
from face_engine import faces as engine
from face_engine.batch import check_files
from face_engine.decision import decide
from face_engine.model import FaceBox, RegistrySnapshot, sha256_bytes
from PIL import Image
from site_gate.blur import blur_region, blurred_bytes

from tests.consent_engine.conftest import TODAY, record
from tests.consent_gate_build.gate_helpers import (
    PEOPLE,
    build_site,
    face_path,
    seed_registry,
    write_article,
)

GROUP = "groups/obama_and_biden.jpg"  # two consented faces of about 150 px
STRANGER = "people/lin_manuel_miranda/lin1.png"  # no record anywhere
STRANGER_SIDE = 56  # pasted face width: 37 % of the consented faces
STRANGER_AT = (590, 150)  # between the two, in the background
# Every detector pass the project has, the optional ones too (rotated copies, HOG upsampled).
EVERY_DETECTOR = replace(engine.DEFAULT_CONFIG, rotations=(-45, 45), hog=True, hog_upsample=1)


def _composite() -> tuple[bytes, tuple[float, float, float, float]]:
    """The group photo with the stranger's head pasted small, and the pasted face box."""
    group = Image.open(face_path(GROUP)).convert("RGB")
    source = face_path(STRANGER).read_bytes()
    (face,) = [f for f in engine.detect_faces(source, encode=False) if f.box.width > 100]
    box = face.box
    head = Image.open(io.BytesIO(source)).convert("RGB")
    pad = 0.45 * box.width
    head = head.crop((box.left - pad, box.top - pad, box.right + pad, box.bottom + pad))
    scale = STRANGER_SIDE / box.width
    head = head.resize((round(head.width * scale), round(head.height * scale)), Image.LANCZOS)
    x, y = STRANGER_AT[0] - head.width // 2, STRANGER_AT[1] - head.height // 2
    group.paste(head, (x, y))
    out = io.BytesIO()
    group.save(out, "JPEG", quality=92)
    half = STRANGER_SIDE / 2
    return out.getvalue(), (
        STRANGER_AT[0] - half,
        STRANGER_AT[1] - half,
        STRANGER_AT[0] + half,
        STRANGER_AT[1] + half,
    )


def _inside(box, area) -> bool:
    """Whether the centre of `box` (a FaceBox or x1, y1, x2, y2) lies in `area`."""
    if not isinstance(box, FaceBox):
        box = FaceBox(top=box[1], right=box[2], bottom=box[3], left=box[0])
    cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    return area[0] <= cx <= area[2] and area[1] <= cy <= area[3]


def _distance(templates, encoding) -> float:
    return float(np.min(np.linalg.norm(np.stack(templates) - encoding, axis=1)))


@pytest.fixture(scope="module")
def scene(encodings):
    data, stranger_box = _composite()
    stranger = engine.reference_templates(face_path(STRANGER).read_bytes(), STRANGER)
    return data, stranger_box, stranger


@pytest.fixture(scope="module")
def cache(face_cache) -> Path:
    """The run's face cache: the same composite is searched for faces once, and the build
    finds the theme's pictures searched already (the cache is content-addressed, and no
    test here is about a cold cache)."""
    return face_cache


_EVERY_FOUND: dict[str, list] = {}


def _every_detector(data: bytes) -> list:
    """The faces every detector finds in `data`, searched once per distinct bytes: the
    build publishes the very bytes blurred_bytes() gives, and a search with every detector
    takes 5-10 s on a busy machine."""
    key = sha256_bytes(data)
    if key not in _EVERY_FOUND:
        _EVERY_FOUND[key] = engine.detect_faces(data, config=EVERY_DETECTOR)
    return _EVERY_FOUND[key]


def _settings(cache: Path, blur: bool) -> GateSettings:
    base = GateSettings.from_mapping({"CONSENT_BLUR": blur})
    return replace(base, cache_dir=cache, workers=1)


def _snapshot(encodings, *extra) -> RegistrySnapshot:
    records = [record(key, *encodings[key]) for key in ("obama", "biden")]
    return RegistrySnapshot(tuple(records + list(extra)), {}, TODAY, "blur-test")


def test_the_stranger_withholds_the_photo_unless_blur_is_on(scene, encodings, cache):
    data, stranger_box, _ = scene
    snapshot = _snapshot(encodings)
    off = decide(data, snapshot, _settings(cache, False), "group.jpg")
    assert not off.publish and not off.blurred
    on = decide(data, snapshot, _settings(cache, True), "group.jpg")
    assert on.publish, on.reasons
    (blurred,) = on.blurred
    assert _inside(blurred, stranger_box)
    assert any("blurred" in reason for reason in on.reasons)
    assert sum(face.ok for face in on.faces) == 2


def test_a_never_publish_stranger_is_never_blurred_into_the_photo(scene, encodings, cache):
    data, _, stranger = scene
    child = record("S9", *stranger, never_publish=True)
    verdict = decide(data, _snapshot(encodings, child), _settings(cache, True), "group.jpg")
    assert not verdict.publish and not verdict.blurred
    assert any("never-publish" in reason for reason in verdict.reasons)


def test_no_detector_finds_the_blurred_face_and_it_matches_no_one(scene, encodings, cache):
    data, stranger_box, stranger = scene
    verdict = decide(data, _snapshot(encodings), _settings(cache, True), "group.jpg")
    published = blurred_bytes(data, verdict.blurred, "group.jpg")
    (box,) = verdict.blurred
    before = engine.load_frames(data)[0]
    after = engine.load_frames(published)[0]
    area = blur_region(after, box)

    # Before the blur every detector finds the stranger and the encoder knows her ...
    assert any(
        _inside(f.box, stranger_box) for f in engine.detect_faces(data, config=EVERY_DETECTOR)
    )
    dlib_box = np.array([box.left, box.top, box.right, box.bottom], dtype=float)
    (own,) = engine._encode_boxes(before, [dlib_box])
    assert _distance(stranger, own) < 0.55
    # ... after it, on the published bytes, none finds a face there ...
    found = _every_detector(published)
    assert not [f for f in found if _inside(f.box, area)], found
    assert len(found) >= 2  # the consented faces are still there
    # Not even an unmerged detection of any single detector.
    candidates, _ = engine.find_candidates(after, EVERY_DETECTOR)
    assert not [c.detector for c in candidates if _inside(tuple(c.original), area)]
    # ... and the blurred region, encoded where the face was, is far from everyone.
    (blurred,) = engine._encode_boxes(after, [dlib_box])
    everyone = [stranger, *encodings.values()]
    assert min(_distance(t, blurred) for t in everyone) > 0.6


def test_the_build_publishes_the_blurred_photo_and_publish_agrees(
    scene, encodings, tmp_path, cache
):
    data, stranger_box, stranger = scene
    content = tmp_path / "content"
    (content / "images").mkdir(parents=True)
    (content / "images" / "assembly.jpg").write_bytes(data)
    write_article(content, "assembly", "The assembly.", image="images/assembly.jpg")
    keys = [k for k in PEOPLE if k in ("obama", "biden")]
    registry = seed_registry(tmp_path / "registry", encodings, people=keys)
    build = build_site(content, tmp_path, "blur", registry, cache, extra={"CONSENT_BLUR": True})
    entry = build.image("images/assembly.jpg")
    assert entry["verdict"] == "publish", entry["reasons"]
    assert len(entry["blurred"]) == 1
    assert any(reason.startswith("blurred face at") for reason in entry["reasons"])
    published = (build.output / "images" / "assembly.jpg").read_bytes()
    assert published != data
    found = _every_detector(published)
    assert not [f for f in found if _inside(f.box, stranger_box)], found
    # A rebuild does not copy the unchanged photo, yet blurs the same pixels from it.
    rebuild = build_site(
        content,
        tmp_path,
        "blur",
        registry,
        cache,
        extra={"CONSENT_BLUR": True},
        debug=True,
    )
    assert "images/assembly.jpg is up to date, not copying" in rebuild.log
    assert (rebuild.output / "images" / "assembly.jpg").read_bytes() == published

    # The publish-time re-check (same function, same cached faces) keeps it up.
    settings = replace(GateSettings.from_mapping({"CONSENT_BLUR": True}), cache_dir=cache)
    with registry.open() as opened:
        snapshot = opened.snapshot(TODAY)
    source = content / "images" / "assembly.jpg"
    (again,) = check_files(
        [build.output / "images" / "assembly.jpg"],
        snapshot,
        replace(settings, workers=1),
        progress=False,
        hashes=[sha256_bytes(source.read_bytes())],
    )
    assert again.publish and len(again.blurred) == 1
