"""Fonts that draw pictures: colour-bitmap and SVG glyph tables can hold a photo, which any
page using the font could show, and an outline glyph can be a photo traced into shapes.
Fonts with such tables, or that cannot be read, are withheld; an outline font has its
glyphs drawn (``glyph_sheets``) and searched for faces like a photo, and a font with a face
in a glyph is withheld.

Nothing here imports Pelican.
"""

from __future__ import annotations

import io

# Glyph tables that hold bitmaps or SVG documents rather than outlines.
PICTURE_TABLES = frozenset({"CBDT", "CBLC", "sbix", "EBDT", "EBLC", "bdat", "bloc", "SVG "})


def font_problem(data: bytes) -> str | None:
    """Why a font cannot be published, or None when it only draws outlines."""
    from fontTools.ttLib import TTCollection, TTFont, TTLibError

    try:
        if data[:4] == b"ttcf":
            fonts = list(TTCollection(io.BytesIO(data), lazy=True))
        else:
            fonts = [TTFont(io.BytesIO(data), lazy=True)]
        tables = {tag for font in fonts for tag in font.keys()}  # noqa: SIM118
    except (TTLibError, OSError, ValueError, AssertionError, ImportError) as exc:
        return f"the font cannot be read ({type(exc).__name__}: {exc})"
    pictures = sorted(tables & PICTURE_TABLES)
    if pictures:
        return (
            f"the font has picture glyph tables ({', '.join(t.strip() for t in pictures)}), "
            "which can hold photos the gate cannot check: use an outline font"
        )
    return glyph_problem(data)


# Glyphs are drawn this many pixels tall, on sheets of this many glyphs a side.
GLYPH_PX = 192
SHEET_SIDE = 8
# A font with more glyphs than this is not one a school site ships (a CJK font is a
# system font): withheld rather than drawn glyph by glyph.
MAX_GLYPHS = 2048


def glyph_sheets(data: bytes):
    """The font's glyphs drawn black on white, SHEET_SIDE x SHEET_SIDE to a sheet (Pillow's
    FreeType renderer); raises ValueError for a font it cannot draw or too many glyphs."""
    from fontTools.ttLib import TTFont
    from PIL import Image, ImageDraw, ImageFont

    font = TTFont(io.BytesIO(data), lazy=True, fontNumber=0)
    codepoints = sorted(font.getBestCmap() or {})
    if len(codepoints) > MAX_GLYPHS:
        raise ValueError(f"it has {len(codepoints)} characters, more than {MAX_GLYPHS}")
    if font.flavor:  # WOFF/WOFF2: drawn from the plain font inside
        font = TTFont(io.BytesIO(data), fontNumber=0)
        font.flavor = None
        plain = io.BytesIO()
        font.save(plain)
        data = plain.getvalue()
    try:
        face = ImageFont.truetype(io.BytesIO(data), GLYPH_PX)
    except OSError as exc:
        raise ValueError(f"its glyphs cannot be drawn ({exc})") from exc
    cell = GLYPH_PX * 3 // 2
    per_sheet = SHEET_SIDE * SHEET_SIDE
    for start in range(0, len(codepoints), per_sheet):
        chunk = codepoints[start : start + per_sheet]
        rows = (len(chunk) + SHEET_SIDE - 1) // SHEET_SIDE
        sheet = Image.new("L", (cell * SHEET_SIDE, cell * rows), 255)
        draw = ImageDraw.Draw(sheet)
        for i, codepoint in enumerate(chunk):
            x, y = (i % SHEET_SIDE) * cell, (i // SHEET_SIDE) * cell
            draw.text((x + cell // 8, y + cell // 8), chr(codepoint), font=face, fill=0)
        yield sheet.convert("RGB")


def glyph_problem(data: bytes) -> str | None:
    """Why an outline font may not be published: a glyph draws a face (or the glyphs
    cannot be drawn to be checked)."""
    from face_engine.faces import FaceError, detect_faces

    try:
        for number, sheet in enumerate(glyph_sheets(data)):
            buffer = io.BytesIO()
            sheet.save(buffer, "PNG")
            faces = detect_faces(buffer.getvalue(), encode=False, source="a font's glyphs")
            if faces:
                return (
                    f"a glyph of the font draws a face (glyph sheet {number + 1}, "
                    f"{len(faces)} face(s)), which any page using the font would show: "
                    "use a font without picture glyphs"
                )
    except (ValueError, OSError, FaceError) as exc:
        return f"the font's glyphs cannot be checked for pictures ({exc})"
    return None
