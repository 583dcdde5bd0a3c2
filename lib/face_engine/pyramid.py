"""Where CenterFace looks in a photo: the scales of the pyramid (each pass 4x smaller
than the one before) and the overlapping tiles that bound each pass's memory.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from .config import (
    DetectorConfig,
)
from .geometry import resize

log = logging.getLogger(__name__)


def pass_scales(width: int, height: int, config: DetectorConfig) -> list[float]:
    """The scales CenterFace searches an image at, finest first."""
    scale = 2.0 if max(width, height) < config.centerface_upscale_below else 1.0
    scales = [scale]
    while min(width, height) * scale > config.centerface_top_side:
        scale /= config.centerface_step
        scales.append(scale)
    return scales


class TilePass(NamedTuple):
    image: np.ndarray  # a tile of the image at `scale`
    scale: float
    x0: float  # the tile's corner in the original image's pixels
    y0: float
    detector: str
    # Boxes narrower than this (in the tile's pixels) are looked at again whatever their
    # score: the finer pass already saw those faces whole, at `centerface_step` times the
    # size. On obama4.jpg the 1/4 pass scored a 14 px chandelier 0.355; looked at again, 0.0.
    confirm_below: float
    # Which sides of the tile border a neighbouring tile (left, top, right, bottom).
    inner: tuple[bool, bool, bool, bool] = (False, False, False, False)

    def at_inner_edge(self, box: np.ndarray, margin: float) -> bool:
        """Whether `box` (in the tile's pixels) reaches within `margin` of a side the
        tile shares with a neighbour. Such boxes are looked at again whatever their score:
        along a cut, CenterFace takes half a face or texture for a face (on a 3000x2000
        portrait, three boxes along the top of the lower tiles scored 0.49-0.67; looked at
        again, 0.0). A real face there is whole in the neighbouring
        tile or, when larger than the overlap, in the next smaller pass."""
        h, w = self.image.shape[:2]
        m = margin
        left, top, right, bottom = self.inner
        x1, y1, x2, y2 = box[:4]
        return (
            (left and x1 < m)
            or (top and y1 < m)
            or (right and x2 > w - m)
            or (bottom and y2 > h - m)
        )


def centerface_passes(rgb: np.ndarray, config: DetectorConfig) -> Iterator[TilePass]:
    """Every CenterFace pass over rgb: each scale of ``pass_scales``, cut in tiles of at
    most ``centerface_max_pixels``, made one at a time (only one tile is held at once)."""
    h, w = rgb.shape[:2]
    for level, scale in enumerate(pass_scales(w, h, config)):
        image = rgb if scale == 1.0 else resize(rgb, scale)
        ih, iw = image.shape[:2]
        detector, confirm_below = "centerface", 0.0
        if level:
            detector = "centerface-coarse"
            confirm_below = config.centerface_overlap / config.centerface_step
        for x, y, tw, th in tiles(iw, ih, config.centerface_max_pixels, config.centerface_overlap):
            tile = np.ascontiguousarray(image[y : y + th, x : x + tw])
            inner = (x > 0, y > 0, x + tw < iw, y + th < ih)
            yield TilePass(tile, scale, x / scale, y / scale, detector, confirm_below, inner)


def tiles(
    width: int, height: int, max_pixels: int, overlap: int
) -> list[tuple[int, int, int, int]]:
    """Windows (x, y, w, h) of at most `max_pixels` covering the image, overlapping by at
    least `overlap` so that a face up to that size lies whole inside one; of the layouts,
    the one with the fewest pixels in all. Tile sides are multiples of 32, the network's
    stride, so that no tile is stretched."""
    if width * height <= max_pixels:
        return [(0, 0, width, height)]

    def span(length: int, count: int) -> int:
        if count == 1:
            return length
        return min(length, math.ceil((length + (count - 1) * overlap) / count / 32) * 32)

    def starts(length: int, size: int, count: int) -> list[int]:
        if count == 1:
            return [0]
        step = (length - size) / (count - 1)
        return [round(i * step) for i in range(count)]

    best: tuple[int, int, int, int, int] | None = None
    for nx in range(1, math.ceil(width / max(overlap, 32)) + 1):
        tw = span(width, nx)
        if tw <= overlap:
            break
        ny = 1
        th = span(height, ny)
        while tw * th > max_pixels and th > overlap:
            ny += 1
            th = span(height, ny)
        if tw * th > max_pixels:
            continue
        total = nx * ny * tw * th
        if best is None or total < best[0]:
            best = (total, nx, ny, tw, th)
    if best is None:
        raise ValueError(f"no tiling of {width}x{height} in {max_pixels} pixels")
    _, nx, ny, tw, th = best
    return [(x, y, tw, th) for y in starts(height, th, ny) for x in starts(width, tw, nx)]
