"""Remove EXIF, XMP, IPTC, comments and embedded thumbnails from published images.

Photos straight from a camera or phone carry GPS positions, device serial numbers and
preview thumbnails (which can show the uncropped photo). Every published raster image is
re-encoded without them, in the same format: orientation is applied to the pixels first,
the ICC colour profile is kept (it only describes colours). Files that are already clean
stay byte-identical, and re-encoding is deterministic, so two builds of the same content
produce the same bytes (incremental uploads then skip them).

Nothing here imports Pelican.
"""

from __future__ import annotations

import io
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

from face_engine.imaging import MAX_PIXELS, ImageTooLarge, open_bounded
from face_engine.model import sha256_bytes
from PIL import Image, ImageOps, ImageSequence

# Bump when the re-encoding changes: cached clean copies are keyed by it.
STRIP_VERSION = "1"
JPEG_QUALITY = 90
WEBP_QUALITY = 90

# Info keys that describe how to show the pixels, not who or where: these survive.
_HARMLESS_INFO = {"icc_profile", "dpi", "transparency", "duration", "loop", "background"}
# JPEG segments that may stay: JFIF header (without thumbnail), ICC profile, Adobe colour
# transform flags. Anything else (EXIF, XMP, Photoshop/IPTC, MPF extra images, JFXX
# thumbnails, comments) means the file is re-encoded.
_JPEG_CLEAN_SEGMENTS = (("APP0", b"JFIF\x00"), ("APP2", b"ICC_PROFILE\x00"), ("APP14", b"Adobe"))


class MetadataError(Exception):
    """An image could not be cleaned; the message says which file and why."""


@dataclass(frozen=True)
class StripResult:
    changed: bool  # the file was rewritten
    removed: tuple[str, ...]  # what was found and removed, in plain words


def _jpeg_segment_clean(marker: str, data: bytes) -> bool:
    for clean_marker, prefix in _JPEG_CLEAN_SEGMENTS:
        if marker == clean_marker and data.startswith(prefix):
            # A JFIF header with a thumbnail (nonzero width/height) is not clean.
            return not (marker == "APP0" and len(data) >= 14 and (data[12] or data[13]))
    return False


def find_metadata(image: Image.Image) -> list[str]:
    """What identifying metadata this opened image carries (empty list: already clean)."""
    found: list[str] = []
    info = image.info
    if image.format in ("JPEG", "MPO"):
        for marker, data in getattr(image, "applist", []):
            if _jpeg_segment_clean(marker, data):
                continue
            if data.startswith(b"Exif\x00"):
                found.append("EXIF")
            elif data.startswith(b"http://ns.adobe.com/xap/"):
                found.append("XMP")
            elif data.startswith(b"Photoshop"):
                found.append("IPTC/Photoshop")
            elif data.startswith(b"MPF\x00"):
                found.append("extra embedded images (MPF)")
            elif data.startswith(b"JFIF\x00") or data.startswith(b"JFXX\x00"):
                found.append("embedded thumbnail")
            elif marker == "COM":
                found.append("comment")
            else:
                found.append(f"{marker} segment")
    else:
        if image.format == "PNG":
            image.load()  # text chunks after the pixel data are read only by load()
        if "exif" in info or image.getexif():
            found.append("EXIF")
        if "xmp" in info or "XML:com.adobe.xmp" in info:
            found.append("XMP")
        if "photoshop" in info or "iptc" in info:
            found.append("IPTC/Photoshop")
        if "comment" in info:
            found.append("comment")
        text = getattr(image, "text", None)  # PNG tEXt/zTXt/iTXt chunks
        if text and any(k != "XML:com.adobe.xmp" for k in text):
            found.append("text chunks")
        tags = getattr(image, "tag_v2", None)  # TIFF: anything beyond the image layout
        if tags is not None and any(tag not in _TIFF_LAYOUT_TAGS for tag in tags):
            found.append("TIFF tags")
    return sorted(set(found), key=found.index)


# TIFF tags that only describe the pixels' layout (what Pillow writes itself).
_TIFF_LAYOUT_TAGS = {
    256, 257, 258, 259, 262, 273, 274, 277, 278, 279, 282, 283, 284, 296, 305, 317, 320,
    322, 323, 324, 325, 338, 339, 34675,
}  # fmt: skip


def _clean_frame(frame: Image.Image) -> Image.Image:
    """A copy holding only pixels, palette and harmless display info."""
    clean = frame.copy()
    clean.info = {k: v for k, v in frame.info.items() if k in _HARMLESS_INFO}
    return clean


def clean_bytes(data: bytes, source: str = "") -> tuple[bytes, list[str]]:
    """Return (clean bytes, what was removed); the same bytes back when already clean.

    Raises MetadataError when the image cannot be read or written.
    """
    where = source or "image"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = open_bounded(data)
            found = find_metadata(image)
            if not found:
                return data, []
            out = io.BytesIO()
            _save_clean(image, out)
    except MetadataError:
        raise
    except ImageTooLarge as exc:
        raise MetadataError(
            f"{where}: {exc.width}x{exc.height} pixels is larger than the "
            f"{MAX_PIXELS:,}-pixel limit; resize the photo and rebuild"
        ) from exc
    except Exception as exc:  # Pillow raises many types for damaged files
        raise MetadataError(
            f"{where}: cannot remove its metadata ({exc.__class__.__name__}: {exc}); "
            "re-export the photo from an image editor and rebuild"
        ) from exc
    return out.getvalue(), found


def _save_clean(image: Image.Image, out: io.BytesIO) -> None:
    fmt = "JPEG" if image.format == "MPO" else image.format
    icc = image.info.get("icc_profile")
    animated = getattr(image, "n_frames", 1) > 1 and fmt in ("GIF", "WEBP", "PNG")
    if animated:
        frames = [_clean_frame(f) for f in ImageSequence.Iterator(image)]
        first, rest = frames[0], frames[1:]
        params = {"save_all": True, "append_images": rest}
        for key in ("duration", "loop", "disposal", "background"):
            if key in image.info:
                params[key] = image.info[key]
    else:
        first = _clean_frame(ImageOps.exif_transpose(image))
        params = {}
    if icc:
        params["icc_profile"] = icc
    if fmt == "JPEG":
        if first.mode not in ("RGB", "L", "CMYK"):
            first = first.convert("RGB")
        first.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, exif=b"", **params)
    elif fmt == "PNG":
        first.save(out, "PNG", optimize=True, **params)
    elif fmt == "WEBP":
        first.save(out, "WEBP", quality=WEBP_QUALITY, exif=b"", xmp=b"", **params)
    elif fmt == "GIF":
        first.save(out, "GIF", optimize=True, **params)
    elif fmt == "TIFF":
        first.save(out, "TIFF", compression="tiff_lzw", **params)
    else:
        first.save(out, fmt, **params)


def strip_file(path: Path, cache_dir: Path | None = None) -> StripResult:
    """Clean one file in place. A cache of clean copies, keyed by the original bytes'
    hash, makes a rebuild of unchanged photos a copy instead of a re-encode."""
    data = path.read_bytes()
    cached = None
    if cache_dir is not None:
        key = f"{sha256_bytes(data)}-v{STRIP_VERSION}"
        cached = cache_dir / key
        marker = cache_dir / f"{key}.clean"
        if marker.exists():
            return StripResult(False, ())
        if cached.exists():
            shutil.copyfile(cached, path)
            return StripResult(True, ("cached",))
    clean, removed = clean_bytes(data, str(path))
    if not removed:
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            (cache_dir / f"{cached.name}.clean").touch()
        return StripResult(False, ())
    tmp = path.with_name(path.name + ".tmp-clean")
    tmp.write_bytes(clean)
    tmp.replace(path)
    if cached is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp_cache = cached.with_name(cached.name + ".tmp")
        tmp_cache.write_bytes(clean)
        tmp_cache.replace(cached)
    return StripResult(True, tuple(removed))
