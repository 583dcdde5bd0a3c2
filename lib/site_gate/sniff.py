"""What a file is, from its bytes: the one place that classifies output files.

The gate and the publisher never trust a file's name: JPEG bytes named ``notes.txt`` are a
raster, an SVG named ``data.xml`` is a drawing. Binary signatures are checked first, then
anything Pillow can open counts as a raster; only bytes that are valid UTF-8 text (no NUL,
few control characters) are text, and among text the name's suffix picks the text kind
(a page, a style sheet, a feed...). Whatever is neither is ``UNKNOWN`` and is withheld.

Content-Type is derived from the kind (``content_type``), so a browser is told what the
gate decided the file is.

Nothing here imports Pelican.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

from face_engine.pdf import is_pdf


class Kind(StrEnum):
    HTML = "html"
    CSS = "css"
    JS = "js"
    XML = "xml"  # feeds, sitemaps and other XML that is not a drawing
    JSON = "json"
    ICS = "ics"
    TEXT = "text"
    SVG = "svg"
    RASTER = "raster"
    PDF = "pdf"
    FONT = "font"
    VIDEO = "video"  # video and audio containers (audio can carry cover pictures)
    SEARCH = "search"  # the site's own search index (Pagefind data, gzip-compressed)
    ARCHIVE = "archive"
    UNKNOWN = "unknown"


# Kinds whose bytes are UTF-8 text.
TEXT_KINDS = frozenset(
    {Kind.HTML, Kind.CSS, Kind.JS, Kind.XML, Kind.JSON, Kind.ICS, Kind.TEXT, Kind.SVG}
)

# Text suffixes and the kind each names. Any other valid text is plain text.
_TEXT_SUFFIXES = {
    ".html": Kind.HTML,
    ".htm": Kind.HTML,
    ".xhtml": Kind.HTML,
    ".css": Kind.CSS,
    ".js": Kind.JS,
    ".mjs": Kind.JS,
    ".xml": Kind.XML,
    ".atom": Kind.XML,
    ".rss": Kind.XML,
    ".xsl": Kind.XML,
    ".json": Kind.JSON,
    ".map": Kind.JSON,
    ".webmanifest": Kind.JSON,
    ".ics": Kind.ICS,
    ".svg": Kind.SVG,
}

_TEXT_TYPES = {
    Kind.HTML: "text/html; charset=utf-8",
    Kind.CSS: "text/css; charset=utf-8",
    Kind.JS: "text/javascript; charset=utf-8",
    Kind.JSON: "application/json; charset=utf-8",
    Kind.ICS: "text/calendar; charset=utf-8",
    Kind.TEXT: "text/plain; charset=utf-8",
    Kind.SVG: "image/svg+xml",
}
_XML_TYPES = {
    ".atom.xml": "application/atom+xml; charset=utf-8",
    ".rss.xml": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
}
_RASTER_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
_FONT_TYPES = {b"wOFF": "font/woff", b"wOF2": "font/woff2", b"OTTO": "font/otf"}

# (offset, signature, kind, detail). Checked in order; the first match wins.
_SIGNATURES: tuple[tuple[int, bytes, Kind, str], ...] = (
    (0, b"\xff\xd8\xff", Kind.RASTER, "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", Kind.RASTER, "PNG"),
    (0, b"GIF87a", Kind.RASTER, "GIF"),
    (0, b"GIF89a", Kind.RASTER, "GIF"),
    (0, b"BM", Kind.RASTER, "BMP"),
    (0, b"II*\x00", Kind.RASTER, "TIFF"),
    (0, b"MM\x00*", Kind.RASTER, "TIFF"),
    (0, b"II+\x00", Kind.RASTER, "TIFF"),
    (0, b"MM\x00+", Kind.RASTER, "TIFF"),
    (0, b"\x00\x00\x01\x00", Kind.RASTER, "ICO"),
    (0, b"\x00\x00\x02\x00", Kind.RASTER, "CUR"),
    (0, b"8BPS", Kind.RASTER, "PSD"),
    (0, b"\xff\x0a", Kind.RASTER, "JPEG XL"),
    (0, b"\x00\x00\x00\x0cJXL \r\n\x87\n", Kind.RASTER, "JPEG XL"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", Kind.RASTER, "JPEG 2000"),
    (0, b"\xff\x4f\xff\x51", Kind.RASTER, "JPEG 2000"),
    (0, b"qoif", Kind.RASTER, "QOI"),
    (0, b"%!PS", Kind.UNKNOWN, "PostScript (a printer's drawing, which can hold a photo)"),
    (0, b"\xc5\xd0\xd3\xc6", Kind.UNKNOWN, "Encapsulated PostScript"),
    (0, b"\x1aE\xdf\xa3", Kind.VIDEO, "Matroska/WebM"),
    (0, b"OggS", Kind.VIDEO, "Ogg"),
    (0, b"FLV", Kind.VIDEO, "FLV"),
    (0, b"ID3", Kind.VIDEO, "MP3 (may hold a cover picture)"),
    (0, b"fLaC", Kind.VIDEO, "FLAC (may hold a cover picture)"),
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", Kind.VIDEO, "Windows Media"),
    (0, b"PK\x03\x04", Kind.ARCHIVE, "ZIP"),
    (0, b"PK\x05\x06", Kind.ARCHIVE, "ZIP"),
    (0, b"\x1f\x8b", Kind.ARCHIVE, "gzip (an .svgz or .gz)"),
    (0, b"BZh", Kind.ARCHIVE, "bzip2"),
    (0, b"\xfd7zXZ\x00", Kind.ARCHIVE, "xz"),
    (0, b"7z\xbc\xaf\x27\x1c", Kind.ARCHIVE, "7-Zip"),
    (0, b"Rar!\x1a\x07", Kind.ARCHIVE, "RAR"),
    (0, b"\x28\xb5\x2f\xfd", Kind.ARCHIVE, "zstd"),
    (257, b"ustar", Kind.ARCHIVE, "tar"),
    (0, b"wOFF", Kind.FONT, "WOFF"),
    (0, b"wOF2", Kind.FONT, "WOFF2"),
    (0, b"OTTO", Kind.FONT, "OpenType"),
    (0, b"\x00\x01\x00\x00", Kind.FONT, "TrueType"),
    (0, b"true", Kind.FONT, "TrueType"),
    (0, b"ttcf", Kind.FONT, "font collection"),
)
# ISO base media (MP4, MOV, 3GP, HEIF/AVIF): the brand in the ftyp box says which.
_STILL_BRANDS = {b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"hevc"}
_BYTES_FOR_SNIFF = 4096


@dataclass(frozen=True)
class Sniffed:
    kind: Kind
    detail: str  # the format in plain words ("JPEG", "ZIP", "text named .css")

    @property
    def is_text(self) -> bool:
        return self.kind in TEXT_KINDS


def _suffix(name: str) -> str:
    return PurePosixPath(name.lower()).suffix


def _riff(data: bytes) -> Sniffed | None:
    if not data.startswith(b"RIFF") or len(data) < 12:
        return None
    form = data[8:12]
    if form == b"WEBP":
        return Sniffed(Kind.RASTER, "WEBP")
    if form in (b"AVI ", b"WAVE"):
        return Sniffed(Kind.VIDEO, form.decode().strip())
    return Sniffed(Kind.UNKNOWN, f"RIFF {form!r}")


def _iso_media(data: bytes) -> Sniffed | None:
    if len(data) < 12 or data[4:8] != b"ftyp":
        return None
    size = int.from_bytes(data[:4], "big")
    box = data[8 : max(16, min(size, 256))]
    brands = {box[i : i + 4] for i in range(0, len(box) - 3, 4)}
    if brands & _STILL_BRANDS:
        return Sniffed(Kind.RASTER, "AVIF/HEIF")
    return Sniffed(Kind.VIDEO, f"MP4/QuickTime ({data[8:12].decode('latin-1').strip()})")


def _mpeg_ts(data: bytes) -> bool:
    return len(data) >= 188 * 3 and all(data[i] == 0x47 for i in range(0, 188 * 3, 188))


# Pagefind writes every piece of its index as gzip of this marker and the payload.
SEARCH_MARKER = b"pagefind_dcd"


def _search_data(data: bytes) -> Sniffed | None:
    if not data.startswith(b"\x1f\x8b"):
        return None
    import zlib

    try:
        head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, len(SEARCH_MARKER))
    except zlib.error:
        return None
    return Sniffed(Kind.SEARCH, "Pagefind search data") if head == SEARCH_MARKER else None


def _binary_signature(data: bytes) -> Sniffed | None:
    for finder in (_riff, _iso_media, _search_data):
        found = finder(data)
        if found is not None:
            return found
    for offset, signature, kind, detail in _SIGNATURES:
        if data.startswith(signature, offset):
            return Sniffed(kind, detail)
    if is_pdf(data):
        return Sniffed(Kind.PDF, "PDF")
    if _mpeg_ts(data):
        return Sniffed(Kind.VIDEO, "MPEG transport stream")
    return None


_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
# How image formats written as text begin (XPM, XBM, plain PNM), for Pillow to confirm.
_TEXT_IMAGE = re.compile(rb"\s*(?:/\*\s*XPM\s*\*/|#define\s|P[1-3]\s)")


def decode_text(data: bytes) -> str | None:
    """The text of UTF-8 bytes (a BOM allowed), or None when they are not text."""
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if len(_CONTROL.findall(data[:65536])) > 8:
        return None
    return text


def _is_svg_text(text: str) -> bool:
    """Whether XML text's root element is <svg> (after the prolog, comments, doctype)."""
    head = re.sub(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", "", text[:4096], flags=re.S | re.I)
    return re.match(r"\s*<(?:[\w.-]+:)?svg[\s>/]", head, re.I) is not None


def _pillow_opens(data: bytes) -> str | None:
    from face_engine.imaging import open_bounded

    try:
        with open_bounded(data) as image:
            return image.format or "image"
    except Exception:  # noqa: BLE001 - any failure means "not an image Pillow knows"
        return None


def sniff(data: bytes, name: str = "") -> Sniffed:
    """The kind of a file, from its bytes; the name only tells text kinds apart."""
    found = _binary_signature(data[:_BYTES_FOR_SNIFF])
    if found is not None:
        return found
    text = decode_text(data)
    if text is None:
        pillow = _pillow_opens(data)
        if pillow is not None:
            return Sniffed(Kind.RASTER, pillow)
        return Sniffed(Kind.UNKNOWN, "binary data of an unknown kind")
    if _TEXT_IMAGE.match(data):
        pillow = _pillow_opens(data)  # XPM, XBM, plain-text PNM: pictures written as text
        if pillow is not None:
            return Sniffed(Kind.RASTER, pillow)
    suffix = _suffix(name)
    kind = _TEXT_SUFFIXES.get(suffix, Kind.TEXT)
    if kind in (Kind.XML, Kind.SVG, Kind.TEXT) and _is_svg_text(text):
        kind = Kind.SVG  # a drawing is a drawing, whatever its name
    return Sniffed(kind, f"text named {suffix or '(no suffix)'}")


def content_type(sniffed: Sniffed, name: str, data: bytes = b"") -> str:
    """The Content-Type a file of this kind is served with."""
    if sniffed.kind == Kind.XML:
        lower = name.lower()
        return next(
            (t for suffix, t in _XML_TYPES.items() if lower.endswith(suffix)),
            "application/xml; charset=utf-8",
        )
    if sniffed.kind in _TEXT_TYPES:
        return _TEXT_TYPES[sniffed.kind]
    if sniffed.kind == Kind.RASTER:
        return _RASTER_TYPES.get(sniffed.detail, "application/octet-stream")
    if sniffed.kind == Kind.PDF:
        return "application/pdf"
    if sniffed.kind == Kind.FONT:
        return _FONT_TYPES.get(data[:4], "font/ttf")
    return "application/octet-stream"


# ---------------------------------------------------------------- pictures hidden in text

# Bump when these rules change: texts found clean under older rules are checked again.
TEXT_RULES_VERSION = "3"

# data: URLs of any declared type, any spelling ("DATA:", spaces, a missing ";base64" flag).
_DATA_URL = re.compile(r"data\s*:\s*([^,\s\"'()<>]{0,200})\s*,", re.IGNORECASE)
# A long run of base64 (or base64url) characters: at 120+ characters it can hold a small image.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_\-]{120,}={0,2}")
# Base64 broken into lines (MIME, vCard, iCalendar attachments fold it every 72-76
# characters): at least three long lines in a row.
# Anchored at line starts, so a long unbroken run costs one pass, not one per character.
_BASE64_LINES = re.compile(
    r"^[ \t]*(?:[A-Za-z0-9+/]{40,}={0,2}[ \t]*\r?\n[ \t]*){3,}[A-Za-z0-9+/=]*", re.MULTILINE
)
# A long run of hexadecimal pairs (how scripts sometimes carry bytes).
_HEX_RUN = re.compile(r"(?:[0-9a-fA-F]{2}){100,}")


# The header of a data: URL is everything before the first comma, spaces included
# ("data:image/jpeg ; base64,..." is read by browsers as base64).
_DATA_HEADER = re.compile(r"\s*data\s*:([^,]{0,1000}),", re.IGNORECASE)


def decode_data_url(url: str) -> bytes | None:
    """The payload of a data: URL (base64 or percent-encoded), or None when malformed.
    A base64 payload is percent-decoded first, as a browser does ("%2F9j%2F4A...")."""
    from urllib.parse import unquote, unquote_to_bytes

    match = _DATA_HEADER.match(url)
    if match is None:
        return None
    header = match.group(1).lower()
    payload = url[match.end() :]
    if "base64" in header:
        return _b64(unquote(payload))
    return unquote_to_bytes(payload)


def _b64(payload: str) -> bytes | None:
    cleaned = re.sub(r"[\s\\]", "", payload).replace("-", "+").replace("_", "/")
    cleaned = cleaned.rstrip("=")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=False)
    except (binascii.Error, ValueError):
        return None


def _text_variants(text: str) -> list[str]:
    """The text as written, and as a browser, a script or a mail or calendar program
    would read it: HTML entities and JSON's escaped slashes undone, folded lines
    (a line break followed by a space, RFC 5545 and 5322) joined."""
    from html import unescape

    variants = [text]
    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    for variant in (unescape(text), text.replace("\\/", "/"), unfolded):
        if variant not in variants:
            variants.append(variant)
    return variants


def pictures_in_text(text: str, depth: int = 0) -> list[str]:
    """What in a text can draw a picture the gate has not checked: data: URLs and base64
    runs whose decoded bytes show a picture (a raster, PDF, video, archive, unknown binary,
    an SVG that draws one, or text hiding one in turn). Returns a short description each."""
    found: list[str] = []
    seen: set = set()
    for variant in _text_variants(text):
        for match in _DATA_URL.finditer(variant):
            end = variant.find(match.group(0)[-1], match.start()) + 1
            rest = variant[end:]
            stop = re.search(r"[\"'()<>\s]", rest)
            url = variant[match.start() : end + (stop.start() if stop else len(rest))]
            if url in seen:
                continue
            seen.add(url)
            data = decode_data_url(url)
            if data is None or shows_picture(data, "", depth + 1):
                found.append(f"data: URL ({_short(url)})")
        for pattern, decode, label in _ENCODED_RUNS:
            for match in pattern.finditer(variant):
                blob = re.sub(r"\s", "", match.group(0))
                if (label, blob) in seen:
                    continue
                seen.add((label, blob))
                data = decode(blob)
                if data and shows_picture(data, "", depth + 1, strict=False):
                    found.append(f"{label} ({_short(blob)})")
    return found


def _hex(blob: str) -> bytes | None:
    try:
        return bytes.fromhex(blob)
    except ValueError:
        return None


# Encodings that can carry a picture's bytes inside text: (pattern, decoder, label).
_ENCODED_RUNS = (
    (_BASE64_RUN, _b64, "base64 data"),
    (_BASE64_LINES, _b64, "base64 data in lines"),
    (_HEX_RUN, _hex, "hexadecimal data"),
)


# Where a picture can start inside other bytes.
_PICTURE_STARTS = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"RIFF", b"%PDF-")


def pictures_inside(data: bytes) -> list[str]:
    """Pictures carried inside binary data that is not itself a picture (a search index,
    compiled code): an image that decodes from any offset, or a data: URL or base64
    picture in its text. Returns a short description each."""
    found = []
    for signature in _PICTURE_STARTS:
        start = data.find(signature)
        while start != -1 and len(found) < 5:
            if _pillow_opens(data[start:]) is not None or data.startswith(b"%PDF-", start):
                found.append(f"a picture at byte {start}")
            start = data.find(signature, start + 1)
    found += pictures_in_text(data.decode("utf-8", errors="replace"))
    return found


def shows_picture(data: bytes, name: str = "", depth: int = 0, strict: bool = True) -> bool:
    """Whether bytes can show a picture the gate has not checked, in any way a browser or
    a download could (see `pictures_in_text`). Unreadable means yes.

    `strict=False` is for base64-looking runs inside text, which are mostly words and
    hashes: there only bytes that really decode as a picture container count."""
    if depth > 3:
        return True  # nested past any honest use
    found = sniff(data, name)
    if found.kind == Kind.SVG:
        from .svg import svg_embedded_images

        try:
            if svg_embedded_images(data):
                return True
        except ValueError:
            return True
    if found.is_text:
        return bool(pictures_in_text(decode_text(data) or "", depth))
    if strict:
        return True
    if found.kind == Kind.UNKNOWN:
        return False
    if found.detail in _WEAK_SIGNATURES:
        return _pillow_opens(data) is not None
    if found.kind == Kind.ARCHIVE and found.detail.startswith("gzip"):
        return len(data) > 3 and data[2] == 8  # deflate, the only gzip method
    return True


# Two-byte signatures that random bytes match too often to count without a decode.
_WEAK_SIGNATURES = frozenset({"BMP", "JPEG XL"})


def _short(value: str) -> str:
    return value if len(value) <= 60 else value[:57] + "..."


__all__ = [
    "Kind",
    "Sniffed",
    "TEXT_KINDS",
    "content_type",
    "decode_data_url",
    "decode_text",
    "pictures_in_text",
    "pictures_inside",
    "shows_picture",
    "sniff",
]
