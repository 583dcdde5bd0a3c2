"""Fixtures for the face engine and decision tests: records built directly, no registry."""

from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from consent_registry.settings import GateSettings
from face_engine.model import ConsentRecord, RegistrySnapshot
from PIL import Image

SHARED_FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
TODAY = date(2026, 3, 1)
REFERENCES = {
    "obama": "people/obama/obama1.jpg",
    "biden": "people/biden/biden1.jpg",
    "kit": "people/kit_harington/kit1.jpg",
    "rose": "people/rose_leslie/rose1.jpg",
}


def record(person_id: str, *encodings: np.ndarray, **changes) -> ConsentRecord:
    base = ConsentRecord(
        person_id=person_id,
        name=person_id.title(),
        role="student",
        scopes=frozenset({"website"}),
        expires=None,
        revoked=False,
        never_publish=False,
        encodings=tuple(encodings),
    )
    return replace(base, **changes)


def snapshot(*records: ConsentRecord, approvals: dict | None = None) -> RegistrySnapshot:
    return RegistrySnapshot(tuple(records), approvals or {}, TODAY, "test")


def png_bytes(colour: tuple[int, int, int] = (200, 180, 160), size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def settings(tmp_path: Path) -> GateSettings:
    return replace(GateSettings.from_mapping({}), cache_dir=tmp_path / "cache", workers=1)


# The networks' outputs for pixels already seen in this run: CenterFace's boxes (by the
# pixels and the threshold) and dlib's encodings (by the pixels and the boxes). These tests
# search the same photo, tile, face or PDF page again and again (in another test, with
# another setting, through `decide` and then `check_files`); what was seen before reuses the
# outputs, and all the rest (tiling, second looks, merging, levelling, caches, the verdict)
# runs as before. Both networks are pure functions of their inputs.
_BOXES_SEEN: dict[tuple, list] = {}
_ENCODINGS_SEEN: dict[tuple, list] = {}


def _pixels(rgb: np.ndarray) -> tuple:
    pixels = np.ascontiguousarray(rgb)
    return hashlib.blake2b(pixels.data, digest_size=16).digest(), pixels.shape, pixels.dtype.str


def _reusing_centerface(network):
    def centerface_landmarks(rgb: np.ndarray, threshold: float):
        key = (_pixels(rgb), threshold)
        if key not in _BOXES_SEEN:
            _BOXES_SEEN[key] = network(rgb, threshold)
        return [(box.copy(), score, marks.copy()) for box, score, marks in _BOXES_SEEN[key]]

    centerface_landmarks.network = network
    return centerface_landmarks


def _reusing_encoder(network):
    def _encode_boxes(image: np.ndarray, boxes: list[np.ndarray]):
        key = (_pixels(image), np.asarray(boxes, dtype=np.float64).tobytes())
        if key not in _ENCODINGS_SEEN:
            _ENCODINGS_SEEN[key] = network(image, boxes)
        return [encoding.copy() for encoding in _ENCODINGS_SEEN[key]]

    _encode_boxes.network = network
    return _encode_boxes


@contextlib.contextmanager
def networks_reused():
    """CenterFace (`detectors.centerface_landmarks`, also under the name `faces` imported)
    and dlib's encoder (`faces._encode_boxes`) reusing their outputs."""
    from face_engine import detectors, faces

    def network(function):
        return getattr(function, "network", function)  # not the reusing one around it

    centerface = _reusing_centerface(network(detectors.centerface_landmarks))
    encoder = _reusing_encoder(network(faces._encode_boxes))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(detectors, "centerface_landmarks", centerface)
        patch.setattr(faces, "centerface_landmarks", centerface)
        patch.setattr(faces, "_encode_boxes", encoder)
        yield


@pytest.fixture(scope="module", autouse=True)
def _networks_reused():
    # Per module, so that nothing outside these tests runs with it.
    with networks_reused():
        yield


@pytest.fixture(scope="module")
def shared_photos() -> Path:
    """The shared face photos, for module fixtures (the suite's `shared_faces` is per test)."""
    if not SHARED_FACES.is_dir():
        pytest.fail(f"the shared face photos are missing: expected them at {SHARED_FACES}")
    return SHARED_FACES


@pytest.fixture(scope="session")
def templates() -> dict[str, list[np.ndarray]]:
    """Reference templates of four people, from the shared photos, with the real models."""
    from face_engine.faces import reference_templates

    if not SHARED_FACES.is_dir():
        pytest.fail(f"the shared face photos are missing: expected them at {SHARED_FACES}")
    with networks_reused():
        return {
            person: reference_templates((SHARED_FACES / relative).read_bytes(), relative)
            for person, relative in REFERENCES.items()
        }
