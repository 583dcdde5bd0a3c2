"""A face is matched the same at any angle: each face is also encoded from a copy turned so
its eyes are level (from CenterFace's landmarks), matching takes the worse of the two
views, and a face whose views disagree is unsure, so withheld. With the real models and
real photos from the shared set."""

from __future__ import annotations

import functools
import io
from dataclasses import replace

import numpy as np
import pytest
from face_engine.cache import _face_from_json, _face_to_json
from face_engine.decision import VIEWS_DISAGREE, decide, match_face
from face_engine.faces import detect_faces
from face_engine.model import PUBLISH, WITHHOLD, DetectedFace, FaceBox
from PIL import Image

from .conftest import SHARED_FACES, record, snapshot

GROUP = "groups/obama_and_biden.jpg"


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=92)
    return out.getvalue()


@functools.cache
def _face_crop(relative: str, width: int, pick=max) -> Image.Image:
    """The photo's largest face with its surroundings, scaled so the face is `width` wide
    (made once: three tests turn the same crop)."""
    image = Image.open(SHARED_FACES / relative).convert("RGB")
    found = [f for f in detect_faces(_jpeg(image), encode=False) if f.box.width > 40]
    box = pick(found, key=lambda f: f.box.width).box
    pad = int(box.width * 0.8)
    crop = image.crop((box.left - pad, box.top - pad, box.right + pad, box.bottom + pad))
    factor = width / box.width
    return crop.resize((round(crop.width * factor), round(crop.height * factor)), Image.LANCZOS)


def _tilted_into_group(face: Image.Image, degrees: float) -> tuple[bytes, tuple[int, int]]:
    """The group photo with `face` turned by `degrees` pasted into its lower right corner;
    and where (the centre of the pasted face)."""
    group = Image.open(SHARED_FACES / GROUP).convert("RGB")
    turned = face.rotate(degrees, resample=Image.BICUBIC, expand=True)
    mask = Image.new("L", face.size, 255).rotate(degrees, expand=True)
    x, y = group.width - turned.width - 10, group.height - turned.height - 10
    group.paste(turned, (x, y), mask)
    return _jpeg(group), (x + turned.width // 2, y + turned.height // 2)


def _at(faces, centre):
    return min(
        faces,
        key=lambda f: (
            abs((f.box.left + f.box.right) / 2 - centre[0])
            + abs((f.box.top + f.box.bottom) / 2 - centre[1])
        ),
    )


@pytest.fixture(scope="module")
def registry(templates):
    return snapshot(*(record(person, *encodings) for person, encodings in templates.items()))


def test_an_upright_face_has_one_view_and_matches_as_before(templates, registry, settings):
    data = (SHARED_FACES / "people/biden/biden2.jpg").read_bytes()
    (face,) = [f for f in detect_faces(data) if f.box.width > 60]
    assert face.levelled is face.encoding  # nearly upright: no second view
    verdict = decide(data, snapshot(record("biden", *templates["biden"])), settings)
    assert verdict.verdict == PUBLISH, verdict.reasons


@pytest.mark.parametrize("degrees", [-60, 60])
def test_the_levelled_view_of_a_tilted_face_is_the_upright_face(degrees, templates):
    upright = detect_faces(_jpeg(_face_crop("people/kit_harington/kit3.jpg", 110)))
    upright_distance = min(
        float(np.min(np.linalg.norm(np.stack(templates["kit"]) - f.encoding, axis=1)))
        for f in upright
        if f.encoding is not None
    )
    data, centre = _tilted_into_group(_face_crop("people/kit_harington/kit3.jpg", 110), degrees)
    face = _at(detect_faces(data), centre)
    assert face.levelled is not None and face.levelled is not face.encoding
    levelled = float(np.min(np.linalg.norm(np.stack(templates["kit"]) - face.levelled, axis=1)))
    assert abs(levelled - upright_distance) < 0.05
    # Cached and read back, both views stay.
    again = _face_from_json(_face_to_json(face))
    assert np.array_equal(again.levelled, face.levelled)
    assert np.array_equal(again.encoding, face.encoding)


def test_a_face_whose_views_disagree_is_withheld(templates, registry, settings):
    data, centre = _tilted_into_group(_face_crop("people/kit_harington/kit3.jpg", 110), 63)
    faces = detect_faces(data)
    face = _at(faces, centre)
    result = match_face(face, registry, settings)
    assert not result.ok
    assert "unsure face" in result.reason or "unknown face" in result.reason
    verdict = decide(data, registry, settings, faces=faces)
    assert verdict.verdict == WITHHOLD


def test_views_far_apart_are_unsure_even_when_both_match(templates, settings):
    kit = np.stack(templates["kit"])
    base = templates["kit"][0]
    box = FaceBox(top=0, right=100, bottom=100, left=0)
    # Both views within the tolerance of kit's record, but far apart from each other.
    near = base + 0.001
    drift = base + (templates["obama"][0] - base) * 0.25
    far = float(np.min(np.linalg.norm(kit - drift, axis=1)))
    close = float(np.min(np.linalg.norm(kit - near, axis=1)))
    assert far <= settings.tolerance and far - close > VIEWS_DISAGREE
    face = DetectedFace(box, "centerface", 0.9, encoding=near, levelled=drift)
    result = match_face(face, snapshot(record("kit", *templates["kit"])), settings)
    assert not result.ok and "unsure face" in result.reason, result.reason
    same = DetectedFace(box, "centerface", 0.9, encoding=near, levelled=near)
    assert match_face(same, snapshot(record("kit", *templates["kit"])), settings).ok
    # Before: the view as found alone matched.
    assert match_face(
        replace(face, levelled=None), snapshot(record("kit", *templates["kit"])), settings
    ).ok


@pytest.mark.parametrize(("relative", "degrees"), [("people/alex_lacamoire/alex1.jpg", -60)])
def test_a_tilted_stranger_in_a_group_photo_is_withheld(relative, degrees, registry, settings):
    # Of the shared photos turned by 50-70 degrees, this stranger's face as found came
    # closest to another person's record (0.59 from obama's); the photo's consented
    # people are published upright, so only the stranger withholds it.
    data, centre = _tilted_into_group(_face_crop(relative, 110), degrees)
    faces = detect_faces(data)
    stranger = _at(faces, centre)
    assert stranger.levelled is not stranger.encoding
    result = match_face(stranger, registry, settings)
    assert not result.ok and result.person_id is None, result.reason
    others = [match_face(f, registry, settings) for f in faces if f is not stranger]
    assert {r.person_id for r in others if r.ok} >= {"obama", "biden"}
    assert decide(data, registry, settings, faces=faces).verdict == WITHHOLD
