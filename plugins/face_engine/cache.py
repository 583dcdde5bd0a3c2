"""On-disk cache of face detection and encoding results.

Keyed by the image's sha256 and the face engine's MODEL_VERSION, so a rebuild with no new
photos does no face work and a registry change only re-matches. It holds encodings of
photos only (never registry templates) and lives in the git-ignored .cache/ folder.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from .model import DetectedFace, FaceBox

log = logging.getLogger(__name__)

# 2: encodings as base64 of little-endian float64 (JSON number lists took 4x longer to read).
FORMAT = 2


class FaceCache:
    """Detection results per (image sha256, model version); writes are atomic."""

    def __init__(self, directory: Path, model_version: str | None = None):
        if model_version is None:
            from .faces import MODEL_VERSION

            model_version = MODEL_VERSION
        self.model_version = model_version
        version_key = hashlib.sha256(model_version.encode()).hexdigest()[:16]
        self.directory = Path(directory) / version_key
        self.hits = 0
        self.misses = 0
        self.writes = 0

    def path_for(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / f"{sha256}.json"

    def get(self, sha256: str, need_encodings: bool = True) -> list[DetectedFace] | None:
        """Cached faces, or None when absent, unreadable, or lacking needed encodings."""
        path = self.path_for(sha256)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("model_version") != self.model_version:
                raise ValueError("written by another version of the face engine")
            if data.get("sha256") != sha256:
                raise ValueError("entry belongs to another image")
            if need_encodings and not data["encoded"]:
                self.misses += 1
                return None
            faces = [_face_from_json(item) for item in data["faces"]]
        except FileNotFoundError:
            self.misses += 1
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable face cache entry %s (%s); recomputing", path, exc)
            self.misses += 1
            return None
        self.hits += 1
        return faces

    def put(self, sha256: str, faces: list[DetectedFace], encoded: bool) -> None:
        """Store the faces of one image (temp file + rename, so readers never see half)."""
        path = self.path_for(sha256)
        data = {
            "format": FORMAT,
            "model_version": self.model_version,
            "sha256": sha256,
            "encoded": encoded,
            "faces": [_face_to_json(f) for f in faces],
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            # A cache that cannot be written only costs time on the next run.
            log.warning("could not write face cache entry %s: %s", path, exc)
            return
        self.writes += 1


def _face_to_json(face: DetectedFace) -> dict:
    return {
        "box": list(face.box.as_css()),
        "detector": face.detector,
        "score": float(face.score),
        "encoding": None
        if face.encoding is None
        else base64.b64encode(np.asarray(face.encoding, dtype="<f8").tobytes()).decode("ascii"),
    }


def _face_from_json(item: dict) -> DetectedFace:
    top, right, bottom, left = (int(v) for v in item["box"])
    encoding = item["encoding"]
    if encoding is not None:
        encoding = np.frombuffer(base64.b64decode(encoding), dtype="<f8").astype(np.float64)
        if encoding.shape != (128,) or not np.all(np.isfinite(encoding)):
            raise ValueError("malformed face encoding")
    return DetectedFace(
        box=FaceBox(top=top, right=right, bottom=bottom, left=left),
        detector=str(item["detector"]),
        score=float(item["score"]),
        encoding=encoding,
    )
