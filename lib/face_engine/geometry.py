"""Box and image geometry of the face engine: CenterFace boxes to dlib's convention,
overlaps between boxes, resizing, rotating and mapping boxes between a view and the photo.
"""

from __future__ import annotations

import logging

import numpy as np

from .config import (
    CENTERFACE_TO_DLIB,
)
from .model import FaceBox

log = logging.getLogger(__name__)


def centerface_to_dlib(box: np.ndarray, conversion: dict[str, float] | None = None) -> np.ndarray:
    """Convert a CenterFace box to the square, tighter box dlib's landmark model expects."""
    c = conversion or CENTERFACE_TO_DLIB
    x1, y1, x2, y2 = box[:4]
    w = x2 - x1
    cx, cy, side = x1 + c["cx"] * w, y1 + c["cy"] * (y2 - y1), c["side"] * w
    return np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def resize(rgb: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(rgb, size, interpolation=interp)


def rotate(rgb: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate counter-clockwise by `degrees` onto an enlarged canvas; return it and the
    2x3 matrix mapping original pixel coordinates into it."""
    import cv2

    h, w = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(h * sin + w * cos + 0.5), int(h * cos + w * sin + 0.5)
    matrix[0, 2] += new_w / 2 - w / 2
    matrix[1, 2] += new_h / 2 - h / 2
    rotated = cv2.warpAffine(
        rgb, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return rotated, matrix


def share_inside(a: np.ndarray, b: np.ndarray) -> float:
    """The share of box a's area inside box b."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1])
    return ix * iy / area if area > 0 else 0.0


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """IoU, or the share of the smaller box inside the larger (duplicates of one face)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    if smaller <= 0:
        return 0.0
    return max(iou(a, b), inter / smaller * 0.75)


def invert(matrix: np.ndarray) -> np.ndarray:
    full = np.vstack([matrix, [0, 0, 1]])
    return np.linalg.inv(full)[:2]


def map_box(box: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = box
    corners = np.array([[x1, y1, 1], [x2, y1, 1], [x1, y2, 1], [x2, y2, 1]]) @ matrix.T
    # The axis-aligned box around a rotated square overstates its size; shrink to the same area.
    cx, cy = corners[:, 0].mean(), corners[:, 1].mean()
    side = (x2 - x1) / 2
    return np.array([cx - side, cy - side, cx + side, cy + side])


def to_facebox(box: np.ndarray, shape: tuple[int, ...]) -> FaceBox:
    h, w = shape[:2]
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    return FaceBox(top=max(0, y1), right=min(w, x2), bottom=min(h, y2), left=max(0, x1))
