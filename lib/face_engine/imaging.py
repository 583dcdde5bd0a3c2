"""Decoding untrusted image bytes into the pixels a browser would show: one decoder for the
face engine and for the re-encoder that writes the published file, so the pixels checked
are the pixels published.

- One pixel limit (``MAX_PIXELS``) for both, so a file one refuses is refused by both.
- Colours as displayed: an embedded ICC profile (or a PNG gamma without one) is applied and
  the result is sRGB, because browsers transform colours before display and a crafted
  profile could show a face the raw numbers hide.
- Orientation as displayed: EXIF orientation is applied to the pixels of a still.
- Frames: every frame of an animation (GIF, APNG, animated WebP) is kept; other multi-image
  files (ICO sizes, MPO second pictures, TIFF pages) keep the image a browser shows, and
  the re-encoder drops the rest.
- Transparency: fully transparent pixels have their colour zeroed (invisible either way);
  `detection_views` then shows a transparent picture on white, on black, its colour without
  the alpha channel, and the alpha channel itself, so a face hidden in any of them is seen.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PIL import Image, ImageCms, ImageFile, ImageOps, ImageSequence

from .errors import FaceError

if TYPE_CHECKING:  # numpy is loaded where pixels are handled: a warm rebuild needs none
    import numpy as np

# Larger images are refused before their pixels are decoded.
MAX_PIXELS = 60_000_000
# Animated images: every distinct frame is checked, up to this many.
MAX_FRAMES = 200
# Formats whose extra frames are an animation a browser plays; for the others a browser
# shows one picture (the first frame), and only that one is published.
ANIMATED_FORMATS = ("GIF", "PNG", "WEBP")
# Bump when decoding changes: the face cache and the re-encoded copies are keyed by it.
DECODE_VERSION = "display-1"


class ImageTooLarge(FaceError, ValueError):
    def __init__(self, width: int, height: int):
        super().__init__(f"{width}x{height} pixels is over the {MAX_PIXELS:,}-pixel limit")
        self.width = width
        self.height = height


class TooManyFrames(FaceError, ValueError):
    def __init__(self, count: int):
        super().__init__(f"an animation of {count} frames (more than {MAX_FRAMES})")
        self.count = count


def open_bounded(data: bytes) -> Image.Image:
    """Open (lazily) image bytes; raise ImageTooLarge when over MAX_PIXELS."""
    image = Image.open(io.BytesIO(data))
    if image.width * image.height > MAX_PIXELS:
        raise ImageTooLarge(image.width, image.height)
    return image


@dataclass
class DisplayImage:
    """An image as a browser shows it: sRGB frames in mode RGB or RGBA."""

    format: str  # the source's format, as Pillow names it
    frames: list[Image.Image]
    durations: list[int] = field(default_factory=list)  # ms per frame, animations only
    loop: int = 0

    @property
    def animated(self) -> bool:
        return len(self.frames) > 1


_SRGB = None


def _srgb_profile():
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.createProfile("sRGB")
    return _SRGB


def _as_display(frame: Image.Image, icc: bytes | None, gamma: float | None) -> Image.Image:
    """A frame in RGB or RGBA, sRGB colours, transparent pixels' colour zeroed."""
    has_alpha = frame.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        frame.mode in ("P", "L", "RGB", "1", "I", "I;16") and "transparency" in frame.info
    )
    import numpy as np

    if frame.mode in ("I;16", "I;16B", "I;16L", "I") and not has_alpha:
        array = np.asarray(frame, dtype=np.float64)
        top = array.max() or 1.0
        frame = Image.fromarray((array / top * 255).astype(np.uint8))
    if frame.mode == "CMYK" and icc is None:
        frame = frame.convert("RGB")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if frame.mode not in ("RGB", "RGBA", "CMYK", "L", "LA"):
                frame = frame.convert("RGBA" if has_alpha else "RGB")
            out_mode = "RGBA" if "A" in frame.mode else "RGB"
            frame = ImageCms.profileToProfile(frame, source, _srgb_profile(), outputMode=out_mode)
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            raise ValueError(f"its colour profile cannot be applied ({exc})") from exc
    mode = "RGBA" if has_alpha else "RGB"
    if frame.mode != mode:
        # Pillow copies even to the same mode: 72 MB more at the peak of a 24-megapixel
        # photo. Every caller passes a frame of its own.
        frame = frame.convert(mode)
    if gamma and not icc and abs(gamma * 2.2 - 1) > 0.01:
        # PNG gAMA without a profile: browsers decode with it (display gamma 2.2).
        exponent = 1 / (gamma * 2.2)
        table = [round(255 * (i / 255) ** exponent) for i in range(256)]
        bands = frame.split()
        frame = Image.merge(frame.mode, [b.point(table) for b in bands[:3]] + list(bands[3:]))
    if frame.mode == "RGBA":
        array = np.array(frame)
        array[array[:, :, 3] == 0, :3] = 0
        frame = Image.fromarray(array, "RGBA")
    # Only pixels go on: Pillow writes what `info` holds (profile, comment) when saving.
    frame.info = {}
    return frame


def decode_display(data: bytes) -> DisplayImage:
    """Decode image bytes into the frames a browser would show.

    Raises ImageTooLarge, TooManyFrames, or Pillow's errors (OSError, ValueError, ...)
    for bytes that are not a complete image. Truncated files are errors, never
    half-decoded (face_recognition turns Pillow's lenient mode on when imported)."""
    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = open_bounded(data)
            fmt = image.format or "unknown"
            if fmt == "ICO":
                image.size = max(image.ico.sizes(), key=lambda s: s[0] * s[1])
            count = getattr(image, "n_frames", 1)
            animated = fmt in ANIMATED_FORMATS and count > 1
            if animated and count > MAX_FRAMES:
                raise TooManyFrames(count)
            icc = image.info.get("icc_profile") or None
            gamma = image.info.get("gamma") if fmt == "PNG" else None
            frames: list[Image.Image] = []
            durations: list[int] = []
            if animated:
                for frame in ImageSequence.Iterator(image):
                    frames.append(_as_display(frame.copy(), icc, gamma))
                    durations.append(int(frame.info.get("duration", 100) or 100))
                loop = int(image.info.get("loop", 0) or 0)
            else:
                loop = int(image.info.get("loop", 0) or 0)
                image.load()
                # In place: a transposed copy would hold a 24-megapixel photo twice (72 MB).
                ImageOps.exif_transpose(image, in_place=True)
                frames.append(_as_display(image, icc, gamma))
            return DisplayImage(fmt, frames, durations, loop)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient


def detection_views(frame: Image.Image) -> list[np.ndarray]:
    """The RGB pictures a face could be seen in, for one displayed frame."""
    import numpy as np

    if frame.mode != "RGBA":
        rgb = frame if frame.mode == "RGB" else frame.convert("RGB")
        return [np.ascontiguousarray(np.asarray(rgb))]
    rgba = np.asarray(frame)
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    if alpha.min() >= 1.0:
        return [np.ascontiguousarray(rgba[:, :, :3])]
    colour = rgba[:, :, :3].astype(np.float32)
    views = [
        colour * alpha + 255.0 * (1 - alpha),  # on a light page
        colour * alpha,  # on a dark page
        colour,  # the colour the file carries, whatever the alpha says
        np.repeat(alpha * 255.0, 3, axis=2),  # a picture drawn in the alpha channel
    ]
    unique: list[np.ndarray] = []
    seen: set[bytes] = set()
    for view in views:
        array = np.ascontiguousarray(np.clip(view + 0.5, 0, 255).astype(np.uint8))
        digest = hashlib.sha1(array.tobytes()).digest()
        if digest not in seen and array.max() != array.min():
            seen.add(digest)
            unique.append(array)
    return unique or [np.ascontiguousarray(rgba[:, :, :3])]
