"""Opening untrusted image bytes: one pixel limit for the face engine and the metadata
stripper, so a file one of them refuses is refused by both."""

from __future__ import annotations

import io

from PIL import Image

# Larger images are refused before their pixels are decoded.
MAX_PIXELS = 60_000_000


class ImageTooLarge(ValueError):
    def __init__(self, width: int, height: int):
        super().__init__(f"{width}x{height} pixels is over the {MAX_PIXELS:,}-pixel limit")
        self.width = width
        self.height = height


def open_bounded(data: bytes) -> Image.Image:
    """Open (lazily) image bytes; raise ImageTooLarge when over MAX_PIXELS."""
    image = Image.open(io.BytesIO(data))
    if image.width * image.height > MAX_PIXELS:
        raise ImageTooLarge(image.width, image.height)
    return image
