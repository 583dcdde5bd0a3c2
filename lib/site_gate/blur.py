"""Blur faces in the checked pixels before they are published (CONSENT_BLUR).

Given the decoded display frames (``face_engine.imaging.decode_display``) and the face boxes
the verdict blurs (``face_engine.decision``: small unconsented faces beside consented ones),
each face, with a margin for hair, ears and chin, is replaced by a smooth wash of its own
colours: the region is shrunk to BLUR_CELLS x BLUR_CELLS pixels and stretched back, so no
eye, nose or mouth survives for a detector or the encoder to find.
``raster.encode_display`` writes the result; the publish manifest lists its hash.

Nothing here imports Pelican.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from face_engine.imaging import decode_display
from face_engine.model import FaceBox, sha256_bytes
from PIL import Image

from .raster import RasterError, encode_display

# Bump when the blur changes (published bytes change with it).
BLUR_VERSION = "1"
# dlib's face box is tight (brows to lip); the blurred region reaches this share of the box
# side beyond each edge, to cover forehead, hair, ears and chin.
BLUR_MARGIN = 0.5
# The blurred region keeps only this many colour cells per side (then stretched smooth):
# at 3, no detector of the project finds a face in it and its encoding is far from
# everyone's record (tests/consent_gate_build/test_blur.py checks both on published bytes).
BLUR_CELLS = 3


def blur_region(rgb: np.ndarray, box: FaceBox) -> tuple[int, int, int, int]:
    """The pixels (x1, y1, x2, y2) blurred for a face box, inside an image of rgb's size."""
    h, w = rgb.shape[:2]
    pad = BLUR_MARGIN * max(box.width, box.height)
    x1, y1 = max(0, int(box.left - pad)), max(0, int(box.top - pad))
    x2, y2 = min(w, int(np.ceil(box.right + pad))), min(h, int(np.ceil(box.bottom + pad)))
    return x1, y1, x2, y2


def blur_frames(frames: Sequence[Image.Image], boxes: Sequence[FaceBox]) -> list[Image.Image]:
    """The frames with every box blurred in each (a face found in one frame of an animation
    is blurred where it was in all of them); every channel, alpha too, is blurred."""
    import cv2

    out = []
    for frame in frames:
        array = np.array(frame)
        for box in boxes:
            x1, y1, x2, y2 = blur_region(array, box)
            if x2 - x1 < 1 or y2 - y1 < 1:
                continue
            region = np.ascontiguousarray(array[y1:y2, x1:x2])
            cells = cv2.resize(region, (BLUR_CELLS, BLUR_CELLS), interpolation=cv2.INTER_AREA)
            array[y1:y2, x1:x2] = cv2.resize(
                cells, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR
            ).reshape(region.shape)
        out.append(Image.fromarray(array, frame.mode))
    return out


def blurred_bytes(data: bytes, boxes: Sequence[FaceBox], source: str = "") -> bytes:
    """The publishable bytes of an image with `boxes` blurred; RasterError when it cannot
    be decoded (the same decoder the face engine read it with)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            display = decode_display(data)
            display.frames = blur_frames(display.frames, boxes)
            return encode_display(display)
    except Exception as exc:  # Pillow raises many types for damaged files
        raise RasterError(
            f"{source or 'image'}: cannot be blurred and re-encoded "
            f"({exc.__class__.__name__}: {exc}); re-export the photo and rebuild"
        ) from exc


def publishable_blurred(
    file: Path, source_sha256: str, boxes: Sequence[FaceBox], source: str = ""
) -> bytes:
    """The published bytes of `file` (whose bytes hash to `source_sha256`) with `boxes`
    blurred. Not cached: blurred photos are few, and a blur costs one decode and encode."""
    data = file.read_bytes()
    if sha256_bytes(data) != source_sha256:
        raise RasterError(f"{source or file} changed while the gate was checking it")
    return blurred_bytes(data, boxes, source)
