"""Fonts that draw pictures: colour-bitmap and SVG glyph tables can hold a photo, which any
page using the font could show. Outline fonts pass; fonts with such tables, or that cannot
be read, are withheld.

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
    return None
