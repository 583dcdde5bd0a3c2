"""Fixtures for the search tests: the face encodings and face cache of the gate's builds."""

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
    return tmp_path_factory.mktemp("face-cache")
