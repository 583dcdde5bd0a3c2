"""Fixtures for the consent registry and `consent` command tests.

Unit tests replace the face engine with `fake_faces`: a "photo" is a small text file whose
content names the template it stands for (``FACE:<seed>``), or ``NOFACE`` / ``TWOFACES``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

CONSENT_SCRIPT = Path(sys.executable).parent / "consent"


def fake_encoding(seed: int) -> np.ndarray:
    """A 128-d template like dlib's (values in about -0.3..0.3), different per seed."""
    return np.random.default_rng(seed).normal(0.0, 0.1, 128)


def write_photo(path: Path, seed: int | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = seed if isinstance(seed, str) else f"FACE:{seed}"
    path.write_text(content, encoding="ascii")
    return path


@pytest.fixture
def fake_faces(monkeypatch):
    """Replace face_engine.faces.reference_templates; returns the list of sources encoded."""
    from face_engine import faces

    calls: list[str] = []

    def reference_templates(image_bytes: bytes, source: str = "", face=None) -> list[np.ndarray]:
        calls.append(source)
        text = image_bytes.decode("ascii", "replace")
        if text == "NOFACE":
            raise faces.FaceError(f"no face found in {source}: use a clear, front-facing photo")
        if text == "TWOFACES":
            raise faces.FaceError(f"2 faces found in {source}: use a photo of the student alone")
        if not text.startswith("FACE:"):
            raise faces.FaceError(f"{source} is not an image")
        return [fake_encoding(int(text[5:]))]

    monkeypatch.setattr(faces, "reference_templates", reference_templates)
    return calls


@pytest.fixture
def paths(tmp_path, monkeypatch) -> dict[str, Path]:
    """A registry and key file in a temporary folder, also set in the environment so that
    nothing in a test can touch a real registry."""
    registry = tmp_path / "office" / "registry.sqlite3"
    key_file = tmp_path / "keys" / "consent.key"
    # `consent` reads pelicanconf.py of the current folder: not the project's in tests.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSENT_REGISTRY", str(registry))
    monkeypatch.setenv("CONSENT_KEY_FILE", str(key_file))
    return {"registry": registry, "key_file": key_file, "root": tmp_path}


@pytest.fixture
def registry(paths):
    from consent_registry.registry import Registry

    with Registry.open(paths["registry"], paths["key_file"]) as opened:
        yield opened
