"""On-disk cache of face detection and encoding results.

Keyed by the image's sha256 and the face engine's MODEL_VERSION, so a rebuild with no new
photos does no face work and a registry change only re-matches. It holds encodings of
photos only (never registry templates) and lives in the git-ignored .cache/ folder. With a
district's shared store (``shared_cache``), photos this machine has not scanned are looked
for there first, and what it scans is added to it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from site_common.files import write_atomic

from .model import DetectedFace, FaceBox

if TYPE_CHECKING:
    from .shared_cache import SharedStore

log = logging.getLogger(__name__)

# 2: encodings as base64 of little-endian float64 (JSON number lists took 4x longer to read).
FORMAT = 2


class FaceCache:
    """Detection results per (image sha256, model version); writes are atomic."""

    def __init__(
        self,
        directory: Path,
        model_version: str | None = None,
        shared: SharedStore | None = None,
    ):
        if model_version is None:
            from .config import MODEL_VERSION

            model_version = MODEL_VERSION
        self.model_version = model_version
        self.version_key = hashlib.sha256(model_version.encode()).hexdigest()[:16]
        self.directory = Path(directory) / self.version_key
        self.shared = shared
        self.hits = 0
        self.misses = 0
        self.writes = 0
        self.shared_hits = 0
        self.shared_writes = 0
        self._asked: set[str] = set()  # photos already looked for in the shared store

    @classmethod
    def for_settings(cls, settings) -> FaceCache:
        """The cache of CONSENT_CACHE_DIR, with the district's shared store when
        CONSENT_SHARED_CACHE is set and usable (else this machine's cache alone, said once)."""
        shared = None
        location = getattr(settings, "shared_cache", "")
        if location:
            from .shared_cache import SharedCacheError, open_store

            try:
                shared = open_store(
                    location, settings.shared_cache_key_file, settings.shared_cache_endpoint
                )
            except SharedCacheError as exc:
                log.warning("%s. Faces are scanned on this machine only.", exc)
        return cls(settings.cache_dir, shared=shared)

    def path_for(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / f"{sha256}.json"

    def get(self, sha256: str, need_encodings: bool = True) -> list[DetectedFace] | None:
        """Cached faces, or None when absent, unreadable, or lacking needed encodings."""
        path = self.path_for(sha256)
        try:
            encoded, faces = _parse_entry(path.read_bytes(), sha256, self.model_version)
            if need_encodings and not encoded:
                self.misses += 1
                return None
        except FileNotFoundError:
            self.misses += 1
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring unreadable face cache entry %s (%s); recomputing", path, exc)
            self.misses += 1
            return None
        self.hits += 1
        return faces

    def put(self, sha256: str, faces: list[DetectedFace], encoded: bool) -> None:
        """Store the faces of one image (temp file + rename, so readers never see half),
        and add them to the shared store."""
        entry = json.dumps(
            {
                "format": FORMAT,
                "model_version": self.model_version,
                "sha256": sha256,
                "encoded": encoded,
                "faces": [_face_to_json(f) for f in faces],
            }
        ).encode("utf-8")
        if self._write(sha256, entry):
            self.writes += 1
        if self.shared is not None:
            from .shared_cache import SharedCacheError

            try:
                self.shared.upload(self.version_key, sha256, entry)
                self.shared_writes += 1
            except SharedCacheError as exc:
                self._lose_shared(exc)

    def fetch_shared(self, shas: list[str]) -> int:
        """Copy the shared store's entries for the photos not cached here into this cache;
        how many came. Entries that do not open, or do not hold what this engine version
        wrote for that photo, are ignored (the photo is scanned here)."""
        if self.shared is None:
            return 0
        wanted = [s for s in dict.fromkeys(shas) if s not in self._asked]
        self._asked.update(wanted)
        wanted = [s for s in wanted if not self.path_for(s).exists()]
        if not wanted:
            return 0
        from .shared_cache import SharedCacheError

        try:
            found, refused = self.shared.fetch(self.version_key, wanted)
        except SharedCacheError as exc:
            self._lose_shared(exc)
            return 0
        came = 0
        for sha256, entry in found.items():
            try:
                _parse_entry(entry, sha256, self.model_version)
            except (ValueError, KeyError, TypeError, AttributeError):
                refused += 1
                continue
            if self._write(sha256, entry):
                came += 1
        if refused:
            log.warning(
                "%d entr%s of the shared face cache did not open with this machine's key or did "
                "not belong to their photo: ignored, and those photos are scanned here. If "
                "this repeats, check that every machine has the same CONSENT_SHARED_CACHE_KEY_FILE",
                refused,
                "y" if refused == 1 else "ies",
            )
        self.shared_hits += came
        return came

    def _lose_shared(self, exc: Exception) -> None:
        log.warning("%s. Faces are scanned on this machine only for the rest of this run.", exc)
        self.shared = None

    def _write(self, sha256: str, entry: bytes) -> bool:
        path = self.path_for(sha256)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, entry)
        except OSError as exc:
            # A cache that cannot be written only costs time on the next run.
            log.warning("could not write face cache entry %s: %s", path, exc)
            return False
        return True


def _parse_entry(entry: bytes, sha256: str, model_version: str) -> tuple[bool, list[DetectedFace]]:
    """(encoded, faces) of an entry; ValueError, KeyError or TypeError when it is not this
    engine version's entry for this photo, or malformed."""
    data = json.loads(entry)
    if data.get("format") != FORMAT or data.get("model_version") != model_version:
        raise ValueError("written by another version of the face engine")
    if data.get("sha256") != sha256:
        raise ValueError("entry belongs to another image")
    if not isinstance(data["encoded"], bool):
        raise TypeError("malformed entry")
    return data["encoded"], [_face_from_json(item) for item in data["faces"]]


def _encoding_to_json(encoding) -> str | None:
    if encoding is None:
        return None
    return base64.b64encode(np.asarray(encoding, dtype="<f8").tobytes()).decode("ascii")


def _encoding_from_json(value) -> np.ndarray | None:
    if value is None:
        return None
    encoding = np.frombuffer(base64.b64decode(value), dtype="<f8").astype(np.float64)
    if encoding.shape != (128,) or not np.all(np.isfinite(encoding)):
        raise ValueError("malformed face encoding")
    return encoding


def _face_to_json(face: DetectedFace) -> dict:
    same = face.levelled is face.encoding
    return {
        "box": list(face.box.as_css()),
        "detector": face.detector,
        "score": float(face.score),
        "encoding": _encoding_to_json(face.encoding),
        # "same": the face is nearly upright, its levelled view is the view as found.
        "levelled": "same" if same else _encoding_to_json(face.levelled),
    }


def _face_from_json(item: dict) -> DetectedFace:
    top, right, bottom, left = (int(v) for v in item["box"])
    encoding = _encoding_from_json(item["encoding"])
    # An encoded face without its levelled view is an entry of an older engine: refused.
    levelled = item["levelled"] if encoding is not None else item.get("levelled")
    levelled = encoding if levelled == "same" else _encoding_from_json(levelled)
    return DetectedFace(
        box=FaceBox(top=top, right=right, bottom=bottom, left=left),
        detector=str(item["detector"]),
        score=float(item["score"]),
        encoding=encoding,
        levelled=levelled,
    )
