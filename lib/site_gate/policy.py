"""Which files may be published as they are, for every kind but photos and PDFs (those are
decided by the face engine): the one home of these rules, used by the gate on the build
and by `publish` on objects already in the bucket.

- Video and audio (cover pictures), archives and unknown binary files: never.
- SVG drawings: only when they draw no embedded or remote picture.
- Fonts: only outline fonts (see ``fonts``).
- The site's search index (Pagefind's compressed data): only when nothing in it,
  decompressed, is or hides a picture.
- Text (pages, style sheets, scripts, feeds, JSON, calendars, plain text): only valid UTF-8
  holding no picture written into it (a data: URL or base64 image, see ``sniff``).

Nothing here imports Pelican.
"""

from __future__ import annotations

from .fonts import font_problem
from .sniff import SEARCH_MARKER, Kind, Sniffed, decode_text, pictures_in_text, pictures_inside
from .svg import svg_embedded_images

# Kinds whose files can show a face: the face engine decides them.
FACE_KINDS = frozenset({Kind.RASTER, Kind.PDF})
# Kinds that are never published, with what the webmaster should do instead.
REFUSED_KINDS = {
    Kind.VIDEO: (
        "video and audio files are not published, because the gate cannot check every "
        "frame or the cover picture they may hold: put the video on the district's video "
        "service and link to it"
    ),
    Kind.ARCHIVE: (
        "compressed archives (ZIP, gzip, .svgz, ...) cannot be checked: publish the files "
        "themselves, not an archive of them"
    ),
    Kind.UNKNOWN: (
        "the site only publishes pages, style sheets, scripts, feeds, fonts, drawings, "
        "photos and PDFs, and this file is none of them"
    ),
}


def svg_problem(data: bytes) -> str | None:
    try:
        embedded = svg_embedded_images(data)
    except ValueError as exc:
        return f"{exc}, so the pictures it may hold cannot be checked"
    if embedded:
        return (
            f"the drawing holds {len(embedded)} picture(s) the gate cannot check "
            f"({', '.join(embedded[:2])}): export the photo as its own JPEG or PNG file"
        )
    return None


def text_problem(data: bytes) -> str | None:
    text = decode_text(data)
    if text is None:
        return "it is not valid UTF-8 text"
    pictures = pictures_in_text(text)
    if pictures:
        return (
            f"it holds {len(pictures)} picture(s) written into the file itself "
            f"({pictures[0]}), which the gate cannot check: save the photo as its own file "
            "in content/images and link to it"
        )
    return None


# A search index larger than this, uncompressed, is not one a school site writes.
MAX_SEARCH_DATA = 64 * 1024 * 1024


def search_problem(data: bytes) -> str | None:
    """Pagefind's data (words, page ids, its WebAssembly): published when nothing in it,
    decompressed, is a picture or hides one."""
    import zlib

    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        inner = inflater.decompress(data, MAX_SEARCH_DATA)
    except zlib.error as exc:
        return f"the search data cannot be decompressed ({exc})"
    if inflater.unconsumed_tail:
        return f"the search data is larger than {MAX_SEARCH_DATA >> 20} MB uncompressed"
    payload = inner[len(SEARCH_MARKER) :]
    pictures = pictures_inside(payload)
    if pictures:
        return f"the search data holds {pictures[0]}, which the gate cannot check"
    if payload.startswith(b"{"):  # a page's fragment: its text and metadata, as JSON
        import json

        try:
            meta = json.loads(payload).get("meta") or {}
        except (ValueError, AttributeError):
            return "the search data cannot be read"
        if isinstance(meta, dict) and any(key.startswith("image") for key in meta):
            return (
                "the search data names a page's picture (its address and description), which "
                "may be a withheld photo: index pages without their pictures"
            )
    return None


def file_problem(found: Sniffed, data: bytes) -> str | None:
    """Why a file that is not a photo or PDF may not be published, or None when it may."""
    if found.kind in FACE_KINDS:
        raise ValueError("photos and PDFs are decided by the face engine")
    if found.kind in REFUSED_KINDS:
        return f"{found.detail}: {REFUSED_KINDS[found.kind]}"
    if found.kind == Kind.FONT:
        return font_problem(data)
    if found.kind == Kind.SEARCH:
        return search_problem(data)
    if found.kind == Kind.SVG:
        return svg_problem(data) or text_problem(data)
    return text_problem(data)
