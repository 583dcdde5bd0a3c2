"""Publish the pixels that were checked: every raster that passes the gate is re-encoded
from the exact frames the face engine analysed (``face_engine.imaging.decode_display``).

The published file then holds nothing the gate did not see: no colour profile (colours are
already sRGB), no EXIF/XMP/IPTC or GPS, no comments or thumbnails, no second picture (MPO,
ICO sizes, TIFF pages), no bytes after the image, no colour under transparent pixels.
JPEG stays JPEG, GIF stays GIF, WebP stays WebP, animations keep every frame; every other
format (PNG, BMP, TIFF, ICO, AVIF, ...) becomes PNG, which every browser shows whatever the
file is called (the publisher sends the Content-Type of the bytes).

Re-encoding is deterministic (same pixels and settings, same bytes), so an identical
rebuild uploads nothing; the result is cached by the source bytes' hash, and a warm
rebuild links the cached copy into place (``ReencodeCache.place``) instead of re-encoding.

Nothing here imports Pelican.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

from face_engine.imaging import (
    DECODE_VERSION,
    MAX_PIXELS,
    DisplayImage,
    ImageTooLarge,
    TooManyFrames,
    decode_display,
)
from face_engine.model import sha256_bytes
from face_engine.pdf import REWRITE_VERSION as PDF_REWRITE_VERSION
from face_engine.pdf import PdfUnreadable, is_pdf, rewrite_pdf
from PIL import Image
from site_common.files import DISK_ERRNOS, write_atomic, write_cache_json

from .errors import GateError
from .sniff import content_type, sniff

# Bump when the encoding changes: cached copies are keyed by it.
REENCODE_VERSION = f"1/{DECODE_VERSION}/{PDF_REWRITE_VERSION}"
JPEG_QUALITY = 90
WEBP_QUALITY = 90


class RasterError(GateError):
    """An image could not be re-encoded; the message says which file and why."""


def _target_format(display: DisplayImage) -> str:
    if display.format in ("JPEG", "MPO") and display.frames[0].mode == "RGB":
        return "JPEG"
    if display.format == "GIF":
        return "GIF"
    if display.format == "WEBP":
        return "WEBP"
    return "PNG"


def encode_display(display: DisplayImage) -> bytes:
    """The bytes of displayed frames, deterministically, with nothing but pixels."""
    out = io.BytesIO()
    fmt = _target_format(display)
    first, rest = display.frames[0], display.frames[1:]
    params: dict = {}
    if rest:
        params = {
            "save_all": True,
            "append_images": rest,
            "duration": display.durations,
            "loop": display.loop,
        }
    if fmt == "JPEG":
        first.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif fmt == "GIF":
        first.save(out, "GIF", optimize=False, **params)
    elif fmt == "WEBP":
        first.save(out, "WEBP", quality=WEBP_QUALITY, method=4, **params)
    else:
        first.save(out, "PNG", compress_level=6, **params)
    return out.getvalue()


def reencode(data: bytes, source: str = "") -> bytes:
    """The publishable bytes of an image; RasterError when it cannot be decoded. A PDF's
    are its rewrite (``face_engine.pdf.rewrite_pdf``), the file the face engine checked."""
    where = source or "image"
    if is_pdf(data):
        try:
            return rewrite_pdf(data)
        except PdfUnreadable as exc:
            raise RasterError(f"{where}: {exc}") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return encode_display(decode_display(data))
    except ImageTooLarge as exc:
        raise RasterError(
            f"{where}: {exc.width}x{exc.height} pixels is larger than the "
            f"{MAX_PIXELS:,}-pixel limit; resize the photo and rebuild"
        ) from exc
    except TooManyFrames as exc:
        raise RasterError(f"{where}: {exc}; use a shorter animation") from exc
    except Exception as exc:  # Pillow raises many types for damaged files
        raise RasterError(
            f"{where}: cannot be re-encoded ({exc.__class__.__name__}: {exc}); "
            "re-export the photo from an image editor and rebuild"
        ) from exc


@dataclass(frozen=True)
class Placed:
    """A re-encoded photo put in place of the built file."""

    sha256: str
    content_type: str


class ReencodeCache:
    """Re-encoded copies by (source hash, REENCODE_VERSION); writes are atomic.

    A warm rebuild does not copy them: `place` hard-links the cached copy over the built
    file (a link and a rename; copying 440 MB of photos back took 0.18 s of a 2 s rebuild).
    Each copy's hash, size and modification time are recorded when it is written, and the
    copy is made read-only; a copy changed in place anyway (through a link in an output
    folder) no longer matches its record and is re-encoded again, so what the manifest
    says of it stays true."""

    def __init__(self, directory: Path):
        self.directory = Path(directory) / f"v{sha256_bytes(REENCODE_VERSION.encode())[:12]}"
        self._index_path = self.directory / "index.json"
        self._index: dict[str, list] = {}  # source sha256 -> [sha256, size, mtime_ns, type]
        self._changed = False
        with contextlib.suppress(OSError, ValueError, TypeError):
            self._index = dict(json.loads(self._index_path.read_bytes()))

    def has(self, source_sha256: str) -> bool:
        """Whether a re-encoded copy of these bytes is cached (and as it was written)."""
        return self._recorded(source_sha256) is not None

    def _path(self, source_sha256: str) -> Path:
        return self.directory / source_sha256[:2] / source_sha256

    def publishable(self, file: Path, source_sha256: str, source: str = "") -> bytes:
        """The re-encoded bytes of `file`, whose bytes hash to `source_sha256`."""
        path = self._path(source_sha256)
        if self._recorded(source_sha256) is not None:
            try:
                return path.read_bytes()
            except OSError:
                pass
        data = file.read_bytes()
        if sha256_bytes(data) != source_sha256:
            raise RasterError(f"{source or file} changed while the gate was checking it")
        clean = reencode(data, source)
        self._store(path, source_sha256, clean, source)
        return clean

    def place(self, file: Path, source_sha256: str, source: str = "") -> Placed:
        """Replace `file` (whose bytes hash to `source_sha256`) by its re-encoded copy."""
        if self._recorded(source_sha256) is None:
            clean = self.publishable(file, source_sha256, source)
            if self._recorded(source_sha256) is None:  # the cache could not be written
                replace_bytes(file, clean)
                return Placed(sha256_bytes(clean), content_type(sniff(clean[:4096]), source))
        digest, _size, _mtime, type_ = self._index[source_sha256]
        file.parent.mkdir(parents=True, exist_ok=True)  # a photo not copied: maybe no folder
        tmp = file.with_name(file.name + ".tmp-gate")
        tmp.unlink(missing_ok=True)
        try:
            try:
                os.link(self._path(source_sha256), tmp)
            except OSError as exc:  # another file system, or links not allowed there
                if exc.errno in DISK_ERRNOS:
                    raise
                shutil.copyfile(self._path(source_sha256), tmp)
            os.replace(tmp, file)
        except BaseException:
            tmp.unlink(missing_ok=True)  # never a partial copy left behind
            raise
        return Placed(digest, type_)

    def _recorded(self, source_sha256: str) -> list | None:
        """The record of a cached copy that is still as it was written, else None."""
        record = self._index.get(source_sha256)
        if record is None:
            return None
        try:
            stat = self._path(source_sha256).stat()
        except OSError:
            stat = None
        if stat is None or [stat.st_size, stat.st_mtime_ns] != record[1:3]:
            del self._index[source_sha256]
            self._changed = True
            return None
        return record

    def _store(self, path: Path, source_sha256: str, clean: bytes, source: str) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, clean, mode=0o444)
            stat = path.stat()
        except OSError as exc:
            if exc.errno in DISK_ERRNOS:  # a full or failing disk fails the build
                raise
            return  # a cache that cannot be written otherwise only costs time
        self._index[source_sha256] = [
            sha256_bytes(clean),
            stat.st_size,
            stat.st_mtime_ns,
            content_type(sniff(clean[:4096]), source),
        ]
        self._changed = True

    def save(self) -> None:
        """Write the records of the cached copies (atomically)."""
        if self._changed and write_cache_json(self._index_path, self._index):
            self._changed = False


def replace_bytes(file: Path, data: bytes) -> None:
    """Replace a built file's bytes (a new file renamed over it: never written through a
    link into the cache)."""
    write_atomic(file, data, mode=0o644)
