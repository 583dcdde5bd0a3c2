"""The face engine's settings and version, without numpy or the models.

MODEL_VERSION names everything a face result depends on (detector settings, encoder,
decoding); the face cache and the gate's verdict memo key on it. It lives here, apart from
``faces``, so that a warm rebuild whose verdicts are all reused never imports numpy (0.2 s
of a build that otherwise takes well under a second).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .imaging import DECODE_VERSION
from .pdf import REWRITE_VERSION as PDF_VERSION

# Fitted on the shared test photos (24 faces found by both detectors; run
# `python -m bench.gate_bench --calibrate`): a CenterFace box (x1, y1, x2, y2) of width w
# and height h becomes the square dlib box centred at (x1 + cx * w, y1 + cy * h), side side * w.
CENTERFACE_TO_DLIB = {"cx": 0.495, "cy": 0.549, "side": 1.06}


@dataclass(frozen=True)
class DetectorConfig:
    """Which detectors run and how; part of MODEL_VERSION, so a change empties the cache."""

    centerface: bool = True
    # Low on purpose: a missed face is a leak, a false one only withholds. Detections scoring
    # under `centerface_sure` are looked at again, enlarged, and kept when that agrees. Each
    # pass sees a small face once (the earlier scaled-down pass and 2048 px tiles saw most
    # twice), so a lower first threshold keeps the smallest faces: on 2100x1400 photos, 89/144
    # faces of 8-20 px were found at 0.2, 110/144 at 0.1, with no photo more over-blocked in
    # bench/gate_bench.py (bench/detector_bench.py compares with the earlier detector).
    centerface_threshold: float = 0.1
    centerface_sure: float = 0.35
    centerface_recheck: float = 0.3
    # Images smaller than this are searched at 2x, for faces of 6-10 px (a 1.5x search found
    # fewer: on 800x533 photos, 33/36 faces of 10 px against 35/36).
    centerface_upscale_below: int = 1000
    # A pass sees at most this many pixels; larger images are searched in overlapping tiles.
    # The network's memory grows with its input: over 86 photos of 600-6000 px, a worker's
    # peak was 622 / 690 / 728 / 1174 MB with tiles of at most 1.3 / 2.0 / 2.4 / 3.0
    # megapixels, for the same CPU time.
    centerface_max_pixels: int = 2_000_000
    # Tiles overlap by this many pixels, so a face up to this size lies whole in one of them.
    # Larger faces are at least 128 / 4 = 32 px in the next pass, `centerface_step` times
    # smaller, where CenterFace finds them all: all 516 faces of 32-640 px in its own pixels,
    # 95-100 % at 12-28 px, 65 % at 10 px, none at 8. The passes then add up to 1.06-1.28x the
    # image's pixels (the earlier detector: 1.8x on a 3000x2000 photo, 2.2x on a 24-megapixel
    # one, 2.9x on a 2100x1400 one).
    centerface_overlap: int = 128
    # Boxes this close (in a tile's pixels; the network's stride) to a side the tile shares
    # with a neighbour are looked at again whatever their score (pyramid.TilePass.at_inner_edge).
    centerface_edge_margin: int = 32
    # Such a box that lies at least this share inside the box of a face found whole is that
    # face, seen in part, and merged into it. On a 2135x1601 photo the left tile saw the
    # left half of a face on its right side (score 0.104, 0.80 looked at again) as a face of
    # its own, 33 % inside the whole face's box: an unknown face that withheld a photo of a
    # consented person. Two people's boxes side by side overlap far less.
    cut_share: float = 0.25
    centerface_step: int = 4
    # Passes go on until the image's short side is at most this: CenterFace found 31/31 faces
    # of 640 px, 30/31 of 800. (The earlier single 2048 px pass, even with HOG, missed 2 of 18
    # faces filling 60-75 % of a 3000x2000 photo's height; these passes, none.)
    centerface_top_side: int = 640
    # Extra CenterFace passes on rotated copies. Off by default: CenterFace alone finds faces
    # tilted up to about 35 degrees, and each pass costs more than the upright one.
    rotations: tuple[int, ...] = ()
    # dlib's HOG detector (face_recognition's default). Off: with the passes above it added no
    # face on bench/hardcases.py (1002/1002 without it) nor on the shared photos, and cost
    # 0.13 s per photo of 1600 px or more; converted CenterFace boxes encode as well (see
    # CENTERFACE_TO_DLIB).
    hog: bool = False
    hog_upsample: int = 0
    hog_max_side: int = 1600  # HOG runs on a copy scaled down to this
    nms_iou: float = 0.3
    encode_min_px: int = 20  # smaller faces are not encoded (they cannot be matched anyway)
    conversion: tuple[tuple[str, float], ...] = field(
        default_factory=lambda: tuple(sorted(CENTERFACE_TO_DLIB.items()))
    )

    def version(self) -> str:
        parts = []
        if self.centerface:
            parts.append(
                f"centerface(t={self.centerface_threshold}/{self.centerface_sure}/"
                f"{self.centerface_recheck},up<{self.centerface_upscale_below},"
                f"px<={self.centerface_max_pixels},overlap={self.centerface_overlap},"
                f"edge={self.centerface_edge_margin}/{self.cut_share},"
                f"step={self.centerface_step},top<={self.centerface_top_side},"
                f"rot={list(self.rotations)},"
                f"conv={dict(self.conversion)})"
            )
        if self.hog:
            parts.append(f"hog(up={self.hog_upsample},max={self.hog_max_side})")
        parts.append(f"nms={self.nms_iou},enc>={self.encode_min_px}")
        return "+".join(parts)


DEFAULT_CONFIG = DetectorConfig()
# A face whose eyes are tilted by more than this many degrees is also encoded from a copy of
# its surroundings turned so that its eyes are level (``faces._levelled_encoding``); under
# it, the levelled view is the face as found (dlib's chip already turns a slightly tilted
# face: on the shared photos turned by up to 40 degrees both views are within 0.015).
LEVEL_MIN_ROLL = 10.0
# The levelled copy is searched again by CenterFace with the face this many pixels wide.
LEVEL_SEARCH_SIDE = 120
ENCODER = f"dlib_resnet_v1/5pt/edge-replicate/levelled>{LEVEL_MIN_ROLL}@{LEVEL_SEARCH_SIDE}"
MODEL_VERSION = f"faces-5:{DEFAULT_CONFIG.version()}:{ENCODER}:{DECODE_VERSION}:{PDF_VERSION}"
