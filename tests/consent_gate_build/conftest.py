"""Session fixtures for the consent gate's build tests (face work is slow: do it once)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import built_once
from tests.consent_gate_build.gate_helpers import REFERENCES, reference_encodings


@pytest.fixture(scope="session")
def encodings(tmp_path_factory) -> dict[str, list[np.ndarray]]:
    """The reference photos' face templates, computed once for the whole run (10 s of face
    work on a busy machine, measured) and read back by the other worker."""

    def make(folder: Path) -> None:
        computed = reference_encodings()
        np.savez(folder / "encodings.npz", **_flat(computed))

    folder = built_once(tmp_path_factory, "gate-encodings", make)
    with np.load(folder / "encodings.npz") as saved:
        found: dict[str, list[tuple[int, np.ndarray]]] = {}
        for name in saved.files:
            key, index = name.rsplit(".", 1)
            found.setdefault(key, []).append((int(index), saved[name]))
    return {key: [t for _, t in sorted(found[key], key=lambda p: p[0])] for key in REFERENCES}


def _flat(encodings: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    return {f"{key}.{i}": t for key, found in encodings.items() for i, t in enumerate(found)}


@pytest.fixture(scope="session")
def face_cache(_session_face_cache) -> Path:
    """The run's face cache (content-addressed, written whole): a photo, and the theme's
    pictures, are examined once for the whole run, both workers and the other folders'
    builds included, not again in each worker's cache of its own."""
    return _session_face_cache
