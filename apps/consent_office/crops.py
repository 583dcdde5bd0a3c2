"""An enlarged crop of one face of a withheld photo, for the faces the gate found too small to
check: a 9-pixel face is invisible in a 640-pixel thumbnail, so the office would approve a
photo without having seen who is in it. The crop is the face box with a margin, scaled up
with square pixels (nearest neighbour: what the camera caught, no invented detail), made in
memory from the content folder's file and never written to disk.
"""

from __future__ import annotations

import io

from face_engine.imaging import open_bounded
from flask import Flask, Response, abort
from PIL import Image, ImageOps

from .web import Workspace

CROP_SIDE = 192  # pixels of the enlarged crop
MARGIN = 0.6  # of the face's size, on each side: enough to see hair and shoulders


def face_crop(data: bytes, box: dict, side: int = CROP_SIDE) -> bytes:
    """A JPEG `side` pixels square of the face `box` ({top, right, bottom, left} in the
    pixels of the photo as displayed) and its surroundings; the face engine's pixel limit
    holds (ImageTooLarge)."""
    with open_bounded(data) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    top, right, bottom, left = (float(box[k]) for k in ("top", "right", "bottom", "left"))
    size = max(right - left, bottom - top, 1.0) * (1 + 2 * MARGIN)
    centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
    half = size / 2
    region = (
        max(0, round(centre_x - half)),
        max(0, round(centre_y - half)),
        min(image.width, round(centre_x + half)),
        min(image.height, round(centre_y + half)),
    )
    if region[2] <= region[0] or region[3] <= region[1]:
        raise ValueError(f"the face box {box} is outside the photo")
    crop = image.crop(region)
    crop.thumbnail((side, side))  # only ever shrinks: a large face stays sharp
    scale = side / max(crop.size)
    if scale > 1:
        crop = crop.resize(
            (max(1, round(crop.width * scale)), max(1, round(crop.height * scale))),
            Image.Resampling.NEAREST,
        )
    out = io.BytesIO()
    crop.save(out, "JPEG", quality=90)
    return out.getvalue()


def register(app: Flask, ws: Workspace) -> None:
    @app.get("/thumb/<sha256>/face/<int:number>")
    def face_crop_image(sha256: str, number: int) -> Response:
        image = next((i for i in ws.report().images if i.sha256 == sha256), None)
        if image is None or not 1 <= number <= len(image.faces):
            abort(404)
        photo = ws.content.read(sha256)
        if photo is None:
            abort(404)
        try:
            data = face_crop(photo, image.faces[number - 1].box)
        except Exception:  # noqa: BLE001 - too large, not a raster, a bad box: no crop
            abort(404)
        return Response(data, mimetype="image/jpeg")
