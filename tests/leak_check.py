"""An independent leak detector for the default-deny tests: every picture any byte of a
published file could yield (decoded as an image in every frame and size, carved from inside
other bytes, rendered from a PDF, unpacked from an archive, decoded from a data: URL or
base64 text, read from a video), with the faces in it matched against one person.

It shares no code with the gate on purpose: it is what an outsider downloading the bucket
would do, so a route the gate does not know about still shows up here.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import io
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

# dlib's own threshold: a face this close to the person's reference is that person.
SAME_PERSON = 0.6
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8", b"RIFF")
_DATA_URL = re.compile(r"data\s*:[^,\"'()<>\s]{0,200},", re.IGNORECASE)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{200,}={0,2}")


def _views(image: Image.Image) -> list[np.ndarray]:
    rgba = np.asarray(image.convert("RGBA")).astype(np.float32)
    alpha = rgba[:, :, 3:4] / 255
    colour = rgba[:, :, :3]
    views = [colour, colour * alpha, colour * alpha + 255 * (1 - alpha)]
    views.append(np.repeat(rgba[:, :, 3:4], 3, axis=2))
    return [np.ascontiguousarray(np.clip(v, 0, 255).astype(np.uint8)) for v in views]


def _pillow(data: bytes) -> list[np.ndarray]:
    found: list[np.ndarray] = []
    try:
        image = Image.open(io.BytesIO(data))
        sizes = image.ico.sizes() if image.format == "ICO" else [None]
        for size in sizes:
            if size is not None:
                image.size = size
            for frame in ImageSequence.Iterator(image):
                found += _views(frame.copy())
    except Exception:  # noqa: BLE001 - not an image from here on
        pass
    return found


def _pdf(data: bytes) -> list[np.ndarray]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    found: list[np.ndarray] = []
    try:
        document = pdfium.PdfDocument(data)
    except Exception:  # noqa: BLE001
        return found
    for page in document:
        found += _views(page.render(scale=2).to_pil())
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
            with contextlib.suppress(Exception):
                found += _views(obj.get_bitmap().to_pil())
    return found


def _video(data: bytes) -> list[np.ndarray]:
    import cv2

    found: list[np.ndarray] = []
    with tempfile.NamedTemporaryFile(suffix=".bin") as handle:
        handle.write(data)
        handle.flush()
        capture = cv2.VideoCapture(handle.name)
        for _ in range(30):
            ok, frame = capture.read()
            if not ok:
                break
            found.append(np.ascontiguousarray(frame[:, :, ::-1]))
        capture.release()
    return found


def pictures_in(data: bytes, depth: int = 0) -> list[np.ndarray]:
    """Every RGB picture the bytes can be made to show."""
    if depth > 3 or not data:
        return []
    found = _pillow(data)
    for signature in _SIGNATURES:  # pictures inside other bytes (trailers, comments, MPO)
        start, carved = data.find(signature, 1), 0
        while start != -1 and carved < 12:
            found += _pillow(data[start:])
            start, carved = data.find(signature, start + 1), carved + 1
    if b"%PDF" in data[:1024]:
        found += _pdf(data)
    if data[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError, EOFError):
            found += pictures_in(gzip.decompress(data), depth + 1)
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                found += pictures_in(archive.read(name), depth + 1)
    if data[4:8] == b"ftyp" or data[:4] in (b"\x1aE\xdf\xa3", b"RIFF"):
        found += _video(data)
    text = data.decode("utf-8", errors="ignore")
    for variant in {text, text.replace("\\/", "/")}:
        for match in _DATA_URL.finditer(variant):
            payload = re.split(r"[\"'()<>\s]", variant[match.end() :], maxsplit=1)[0]
            if "base64" in match.group(0).lower():
                found += pictures_in(_b64(payload), depth + 1)
            else:
                from urllib.parse import unquote_to_bytes

                found += pictures_in(unquote_to_bytes(payload), depth + 1)
        for match in _BASE64.finditer(variant):
            found += pictures_in(_b64(match.group(0)), depth + 1)
    return found


def _b64(text: str) -> bytes:
    text = re.sub(r"\s", "", text)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return b""


class FaceMatcher:
    """Finds one person's face in pictures (dlib HOG, upsampled once, and CNN-free)."""

    def __init__(self, reference: Path):
        import face_recognition

        self.fr = face_recognition
        image = face_recognition.load_image_file(reference)
        self.encoding = face_recognition.face_encodings(image)[0]
        # Distances by the picture's exact pixels: the detector is deterministic, and the
        # same pixels come up again and again (the views of an opaque picture are one
        # picture three times; the bucket holds output/'s very bytes).
        self._seen: dict[tuple, float] = {}

    def distance(self, picture: np.ndarray) -> float:
        """The closest face in the picture to the person (inf when there is no face)."""
        if min(picture.shape[:2]) < 24:
            return float("inf")
        picture = np.ascontiguousarray(picture)
        key = (picture.shape, picture.dtype.str, hashlib.sha256(picture.tobytes()).digest())
        if key not in self._seen:
            self._seen[key] = self._distance(picture)
        return self._seen[key]

    def _distance(self, picture: np.ndarray) -> float:
        scale = min(1.0, 1600 / max(picture.shape[:2]))
        if scale < 1.0:
            picture = np.asarray(
                Image.fromarray(picture).resize(
                    (int(picture.shape[1] * scale), int(picture.shape[0] * scale))
                )
            )
        picture = np.ascontiguousarray(picture)
        boxes = self.fr.face_locations(picture, number_of_times_to_upsample=1)
        if not boxes:
            return float("inf")
        encodings = self.fr.face_encodings(picture, known_face_locations=boxes)
        return float(min(np.linalg.norm(e - self.encoding) for e in encodings))

    def shows(self, data: bytes) -> bool:
        return any(self.distance(p) <= SAME_PERSON for p in pictures_in(data))
