"""Helpers for the rendered-page tests: pictures a page assembles (tiles, sprites, squeezed
copies, scrambled grey levels, traced drawings, pixel art, fonts) made from the shared face
photos at test time, and an independent look at a published site: each page rendered in
Chromium (its own code here, not the gate's) and the face engine run on the screenshot."""

from __future__ import annotations

import functools
import http.server
import io
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from tests.consent_gate_build.gate_helpers import face_path

CHROMIUM = "/usr/bin/chromium"
# A person who is not in any test registry (gate_helpers.PEOPLE): no consent on file.
STRANGER = "people/alex_lacamoire/alex1.jpg"
CONSENTED = "people/obama/obama1.jpg"

# Pelican settings for a render-checked test build that leave out the listing pages
# pelicanconf.py adds (archive, categories, each category, tags): on a one-article site
# they show no picture, yet each is rendered at two widths, 8 of a build's 16 renderings
# (a strict build of it: 20 CPU-seconds with them, 14 without). The home page and news/
# still list the articles; the links to the pages left out go to missing pages, as the
# menu's calendar/ does, which the gate does not mind.
LISTINGS_OFF = {
    key: ""
    for key in (
        "ARCHIVES_SAVE_AS",
        "CATEGORIES_SAVE_AS",
        "CATEGORY_SAVE_AS",
        "TAGS_SAVE_AS",
        "TAG_SAVE_AS",
        "AUTHOR_SAVE_AS",
        "AUTHORS_SAVE_AS",
    )
}


def portrait(relative: str = STRANGER, width: int = 240) -> Image.Image:
    """The shared photo, RGB, scaled to `width` (its shape kept)."""
    image = Image.open(face_path(relative)).convert("RGB")
    height = round(image.height * width / image.width)
    return image.resize((width, height), Image.Resampling.LANCZOS)


def save_jpeg(image: Image.Image, path: Path, quality: int = 92) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=quality)
    return path


def save_png(image: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "PNG")
    return path


def tiles(image: Image.Image, count: int) -> list[tuple[int, int, Image.Image]]:
    """(row, column, tile) for a count x count cut."""
    tw, th = image.width // count, image.height // count
    return [
        (r, c, image.crop((c * tw, r * th, (c + 1) * tw, (r + 1) * th)))
        for r in range(count)
        for c in range(count)
    ]


def scrambled_grey(image: Image.Image, seed: int = 7) -> tuple[Image.Image, list[float]]:
    """The photo's grey levels put through a random permutation, and the table an SVG
    feComponentTransfer needs to put them back."""
    grey = np.asarray(image.convert("L"))
    rng = np.random.default_rng(seed)
    levels = 32
    quantised = (grey.astype(np.int32) * levels) // 256
    perm = rng.permutation(levels)
    stored = (perm[quantised] * 255 // (levels - 1)).astype(np.uint8)
    inverse = np.argsort(perm)
    table = [float(inverse[i]) / (levels - 1) for i in range(levels)]
    return Image.fromarray(stored).convert("RGB"), table


def traced_svg(image: Image.Image, cell: int = 3) -> str:
    """The photo as flat-colour rectangles (a tracing of its grey levels), an SVG drawing."""
    small = image.convert("L").resize((image.width // cell, image.height // cell))
    grey = np.asarray(small) // 32 * 32
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{small.width * cell}" '
        f'height="{small.height * cell}" viewBox="0 0 {small.width} {small.height}" '
        'shape-rendering="crispEdges">'
    ]
    for level in sorted(set(grey.flatten().tolist())):
        path = []
        for y, x in zip(*np.nonzero(grey == level), strict=True):
            path.append(f"M{x} {y}h1v1h-1z")
        parts.append(f'<path fill="rgb({level},{level},{level})" d="{"".join(path)}"/>')
    parts.append("</svg>")
    return "".join(parts)


def box_shadow_art(image: Image.Image, cell: int = 3) -> str:
    """The photo as CSS box-shadow pixel art: a 1-cell element and one shadow per cell."""
    small = image.convert("L").resize((image.width // cell, image.height // cell))
    grey = np.asarray(small)
    shadows = ",".join(
        f"{x * cell}px {y * cell}px 0 0 rgb({v},{v},{v})" for (y, x), v in np.ndenumerate(grey)
    )
    return (
        f'<div style="position:relative;width:{small.width * cell}px;'
        f'height:{small.height * cell}px"><div style="width:{cell}px;height:{cell}px;'
        f'box-shadow:{shadows}"></div></div>'
    )


# ---------------------------------------------------------------- independent check


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path):
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def screenshot_faces(output: Path, pages: list[str], widths=(375, 1280)) -> list[tuple]:
    """(page, width, face) for every face the face engine finds on a full-page Chromium
    screenshot of each page of a published folder (no request leaves the machine). Every
    page is opened at once and given its half second together, as the gate batches its own
    renderings: the 6 screenshots of 3 pages took 11.4 s one after another, 9.8 s so
    (3 runs each)."""
    from face_engine.faces import detect_faces
    from playwright.sync_api import sync_playwright

    server = serve(output)
    origin = f"http://127.0.0.1:{server.server_address[1]}"

    def local_only(route):
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            route.abort()

    found = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                opened = []
                for page_rel in pages:
                    for width in widths:
                        context = browser.new_context(viewport={"width": width, "height": 800})
                        context.route("**/*", local_only)
                        page = context.new_page()
                        page.goto(f"{origin}/{page_rel}", wait_until="commit")
                        opened.append((page_rel, width, context, page))
                for _rel, _width, _context, page in opened:
                    page.wait_for_load_state("load")
                if opened:
                    opened[-1][3].wait_for_timeout(500)
                shots = []
                for page_rel, width, context, page in opened:
                    shots.append((page_rel, width, page.screenshot(full_page=True)))
                    context.close()
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    for page_rel, width, png in shots:
        image = Image.open(io.BytesIO(png)).convert("RGB")
        buffer = io.BytesIO()
        image.crop((0, 0, image.width, min(image.height, 4000))).save(buffer, "PNG")
        for face in detect_faces(buffer.getvalue(), encode=True):
            found.append((page_rel, width, face))
    return found


def unconsented(faces: list[tuple], encodings: dict, tolerance: float = 0.55) -> list[tuple]:
    """The faces of `screenshot_faces` that match no consented person's templates."""
    templates = [t for values in encodings.values() for t in values]
    left = []
    for page, width, face in faces:
        if face.encoding is None:
            left.append((page, width, face))
            continue
        best = min(float(np.linalg.norm(t - face.encoding)) for t in templates)
        if best > tolerance:
            left.append((page, width, face))
    return left


def bytes_hold_face(path: Path) -> bool:
    """The face engine finds a face in the file's own bytes."""
    from face_engine.faces import detect_faces

    return bool(detect_faces(path.read_bytes(), encode=False))


def portrait_font(relative: str = STRANGER, columns: int = 64, plain: bool = False) -> bytes:
    """A TrueType font whose glyph for "A" is the photo, dithered to black and white and
    drawn as one square per black pixel (`plain`: a box like "B" instead); "B" is a box."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    photo = portrait(relative, width=columns).convert("L").convert("1")  # Floyd-Steinberg
    cell = 10
    pen = TTGlyphPen(None)
    width, height = photo.size
    pixels = photo.load()
    for y in range(height):
        for x in range(width):
            if not pixels[x, y]:
                left, top = x * cell, (height - y) * cell
                pen.moveTo((left, top))
                pen.lineTo((left, top - cell))
                pen.lineTo((left + cell, top - cell))
                pen.lineTo((left + cell, top))
                pen.closePath()
    box = TTGlyphPen(None)
    for point in ((100, 0), (100, 700), (600, 700), (600, 0)):
        (box.moveTo if point == (100, 0) else box.lineTo)(point)
    box.closePath()
    portrait_glyph = box.glyph() if plain else pen.glyph()
    em = height * cell
    builder = FontBuilder(em, isTTF=True)
    builder.setupGlyphOrder([".notdef", "A", "B"])
    builder.setupCharacterMap({ord("A"): "A", ord("B"): "B"})
    empty = TTGlyphPen(None).glyph()
    builder.setupGlyf({".notdef": empty, "A": portrait_glyph, "B": box.glyph()})
    builder.setupHorizontalMetrics(
        {".notdef": (em // 2, 0), "A": (width * cell, 0), "B": (700, 100)}
    )
    builder.setupHorizontalHeader(ascent=em, descent=0)
    builder.setupNameTable({"familyName": "Portrait", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=em, usWinAscent=em, usWinDescent=0)
    builder.setupPost()
    buffer = io.BytesIO()
    builder.save(buffer)
    return buffer.getvalue()
