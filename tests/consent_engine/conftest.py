"""Fixtures for the face engine and decision tests: records built directly, no registry."""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def templates() -> dict[str, list[np.ndarray]]:
    """Reference templates of four people, from the shared photos, with the real models."""
    from face_engine.faces import reference_templates

    if not SHARED_FACES.is_dir():
        pytest.fail(f"the shared face photos are missing: expected them at {SHARED_FACES}")
    return {
        person: reference_templates((SHARED_FACES / relative).read_bytes(), relative)
        for person, relative in REFERENCES.items()
    }
