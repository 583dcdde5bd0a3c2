"""Publish the pixels that were checked: every raster that passes the gate is re-encoded
from the exact frames the face engine analysed (``face_engine.imaging.decode_display``).

The published file then holds nothing the gate did not see: no colour profile (colours are
already sRGB), no EXIF/XMP/IPTC or GPS, no comments or thumbnails, no second picture (MPO,
ICO sizes, TIFF pages), no bytes after the image, no colour under transparent pixels.
JPEG stays JPEG, GIF stays GIF, WebP stays WebP, animations keep every frame; every other
format (PNG, BMP, TIFF, ICO, AVIF, ...) becomes PNG, which every browser shows whatever the
file is called (the publisher sends the Content-Type of the bytes).

Re-encoding is deterministic (same pixels and settings, same bytes), so an identical
rebuild uploads nothing; the result is cached by the source bytes' hash, so a warm
rebuild copies instead of re-encoding.

Nothing here imports Pelican.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
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
from PIL import Image

# Bump when the encoding changes: cached copies are keyed by it.
REENCODE_VERSION = f"1/{DECODE_VERSION}"
JPEG_QUALITY = 90
WEBP_QUALITY = 90


class RasterError(Exception):
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
    """The publishable bytes of an image; RasterError when it cannot be decoded."""
    where = source or "image"
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


class ReencodeCache:
    """Re-encoded copies by (source hash, REENCODE_VERSION); writes are atomic."""

    def __init__(self, directory: Path):
        self.directory = Path(directory) / f"v{sha256_bytes(REENCODE_VERSION.encode())[:12]}"

    def publishable(self, file: Path, source_sha256: str, source: str = "") -> bytes:
        """The re-encoded bytes of `file`, whose bytes hash to `source_sha256`."""
        path = self.directory / source_sha256[:2] / source_sha256
        try:
            return path.read_bytes()
        except OSError:
            pass
        data = file.read_bytes()
        if sha256_bytes(data) != source_sha256:
            raise RasterError(f"{source or file} changed while the gate was checking it")
        clean = reencode(data, source)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(clean)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs time
        return clean
