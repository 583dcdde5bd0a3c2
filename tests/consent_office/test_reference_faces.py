"""Choosing the face of a reference photo (`reference_templates(face=...)`, `consent add
--face N`), with the real detectors on the shared photos."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from consent_cli.cli import main
from face_engine import faces
from PIL import Image

from tests.conftest import SHARED_FACES

KIT_AND_ROSE = SHARED_FACES / "groups" / "kit_and_rose.jpg"


def _jpeg(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def _rgb(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def portrait_with_tiny_face() -> bytes:
    """obama1.jpg with a second, 40 px face (a photo on the wall behind him) in a corner."""
    portrait = _rgb(SHARED_FACES / "people" / "obama" / "obama1.jpg").copy()
    small = _rgb(SHARED_FACES / "people" / "biden" / "biden2.jpg")
    small = cv2.resize(small, (110, 110), interpolation=cv2.INTER_AREA)
    portrait[20:130, 20:130] = small
    return _jpeg(portrait)


def _distance(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return min(float(np.linalg.norm(x - y)) for x in a for y in b)


def test_two_faces_are_numbered_left_to_right_and_picked_by_number():
    data = KIT_AND_ROSE.read_bytes()
    found = faces.reference_faces(data, "kit_and_rose.jpg")
    usable = [f for f in found if f.usable]
    assert len(usable) == 2, found
    assert [f.box.left for f in found] == sorted(f.box.left for f in found)
    with pytest.raises(faces.FaceError, match="choose the student's face with --face N"):
        faces.reference_templates(data, "kit_and_rose.jpg", face="auto")
    with pytest.raises(faces.FaceError, match="faces found"):
        faces.reference_templates(data, "kit_and_rose.jpg")  # the default is unchanged
    kit = faces.reference_templates(
        (SHARED_FACES / "people" / "kit_harington" / "kit1.jpg").read_bytes()
    )
    rose = faces.reference_templates(
        (SHARED_FACES / "people" / "rose_leslie" / "rose1.jpg").read_bytes()
    )
    picked = {f.number: faces.reference_templates(data, face=f.number) for f in usable}
    # Each chosen face is one of the two people, and the two choices are different people.
    who = {
        n: "kit" if _distance(t, kit) < _distance(t, rose) else "rose" for n, t in picked.items()
    }
    assert sorted(who.values()) == ["kit", "rose"]
    for number, templates in picked.items():
        own = kit if who[number] == "kit" else rose
        assert _distance(templates, own) < 0.55


def test_portrait_with_a_tiny_face_enrols_the_portrait(portrait_with_tiny_face):
    found = faces.reference_faces(portrait_with_tiny_face)
    assert len(found) == 2 and sum(f.usable for f in found) == 1, found
    auto = faces.auto_face(found)
    assert auto is not None and auto.side == max(f.side for f in found)
    with pytest.raises(faces.FaceError):
        faces.reference_templates(portrait_with_tiny_face)  # the default refuses, as before
    templates = faces.reference_templates(portrait_with_tiny_face, face="auto")
    obama = faces.reference_templates(
        (SHARED_FACES / "people" / "obama" / "obama1.jpg").read_bytes()
    )
    assert _distance(templates, obama) < 0.3


def test_a_blurred_photo_is_refused_with_the_reason():
    sharp = _rgb(SHARED_FACES / "people" / "kit_harington" / "kit1.jpg")
    blurred = _jpeg(cv2.GaussianBlur(sharp, (0, 0), 4))
    (face,) = faces.reference_faces(blurred)
    assert face.problem and "blurred" in face.problem
    with pytest.raises(faces.FaceError, match="too blurred"):
        faces.reference_templates(blurred, "kit-blurred.jpg", face="auto")


def test_consent_add_takes_the_portrait_and_asks_for_a_choice_between_people(
    tmp_path, monkeypatch, capsys, portrait_with_tiny_face
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSENT_REGISTRY", str(tmp_path / "registry.sqlite3"))
    monkeypatch.setenv("CONSENT_KEY_FILE", str(tmp_path / "consent.key"))
    portrait = tmp_path / "portrait.jpg"
    portrait.write_bytes(portrait_with_tiny_face)
    assert main(["add", "S1", "--name", "Barack Obama", "--photo", str(portrait)]) == 0
    assert "Added consent for S1" in capsys.readouterr().out

    group = str(KIT_AND_ROSE)
    assert main(["add", "S2", "--name", "Kit Harington", "--photo", group]) == 1
    assert "--face N" in capsys.readouterr().err
    numbers = [f.number for f in faces.reference_faces(KIT_AND_ROSE.read_bytes()) if f.usable]
    assert main(["add", "S2", "--name", "Kit Harington", "--photo", group, "--face", "99"]) == 1
    assert "choose a face from 1 to" in capsys.readouterr().err
    args = ["add", "S2", "--name", "Kit Harington", "--photo", group]
    assert main([*args, "--face", str(numbers[0])]) == 0
    assert "Added consent for S2" in capsys.readouterr().out
