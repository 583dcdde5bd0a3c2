"""Images over the pixel limit are refused, undecoded, by the engine and the re-encoder alike."""

from __future__ import annotations

import io

import pytest
from face_engine import decision
from face_engine.imaging import MAX_PIXELS
from face_engine.model import WITHHOLD
from PIL import Image
from site_gate.raster import RasterError, reencode

from .conftest import snapshot


@pytest.fixture(scope="module")
def oversized_png() -> bytes:
    side = int(MAX_PIXELS**0.5) + 1
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, "PNG")
    return buffer.getvalue()


def test_engine_withholds_an_oversized_image(oversized_png, settings):
    verdict = decision.decide(oversized_png, snapshot(), settings, path="huge.png")
    assert verdict.verdict == WITHHOLD
    assert "too large to check" in verdict.reasons[0]


def test_reencoder_refuses_an_oversized_image(oversized_png):
    with pytest.raises(RasterError, match="pixel limit"):
        reencode(oversized_png, "huge.png")
