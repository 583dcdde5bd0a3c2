"""Session fixtures for the consent gate's build tests (face work is slow: do it once)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.consent_gate_build.gate_helpers import reference_encodings


@pytest.fixture(scope="session")
def encodings() -> dict[str, np.ndarray]:
    return reference_encodings()


@pytest.fixture(scope="session")
def face_cache(tmp_path_factory) -> Path:
    """One face cache for every build in the session: the same photo is examined once."""
    return tmp_path_factory.mktemp("face-cache")
