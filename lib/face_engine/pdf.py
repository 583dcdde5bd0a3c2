"""PDFs published as checked: every PDF is rewritten (``rewrite_pdf``) to hold only what a
reader shows, and the rewritten file is what the face engine checks and what is published.

A PDF keeps pictures a reader never shows but anyone who downloads the file can pull out:
an earlier revision of an incremental save (a photo "removed" from a newsletter is still in
the file), page thumbnails (``/Thumb``), images in a page's resources that are never drawn,
annotations shown only when printed or hidden, a button's rollover and pressed appearances,
alternate images for printing, attachments, scripts (which can draw a page), XMP metadata
(which can carry a thumbnail) and an application's private data (``/PieceInfo``). The
rewrite (pikepdf, i.e. qpdf) keeps the document's last revision and, of it, only the objects
still reachable once all of those are removed; optional content is made always visible, so
what is checked is all a reader could show. A PDF that cannot be rewritten is withheld.

Then the rewritten file is checked (``pdf_views``): every page rendered by PDFium (pypdfium2,
the engine of Chrome's PDF viewer) for the screen and for print, every image drawn on a
page, and every image object left in the file (drawn or not: one kept under a private key
is still in the file). A stream or long string outside those whose bytes are a picture file
(a JPEG under a private key) is checked as a picture too.

The rewrite is deterministic (same input, same bytes), so the bytes the gate checks are the
bytes it publishes (``site_gate.raster``). Measured on a 4-page newsletter of 4 photos
(3.2 MB, 1275x1650 pages): see bench/pdf_bench.py.
"""

from __future__ import annotations

import hashlib
import io
from typing import TYPE_CHECKING

from .errors import FaceError
from .imaging import MAX_PIXELS, detection_views

if TYPE_CHECKING:  # numpy is loaded only where a PDF is read (``is_pdf`` is used by sniffing)
    import numpy as np

# Faces in a page rendered at 150 dpi are as large as in the printed newsletter at arm's
# length; a letter page is then 1275x1650 pixels.
RENDER_DPI = 150
MAX_PAGES = 60
MAX_IMAGES = 400
PDF_SIGNATURE = b"%PDF-"
# Bump when the rewrite changes: the published copies and face results are keyed by it.
REWRITE_VERSION = "pdf-rewrite-1"

# The document catalogue keys a rewritten PDF keeps; every other one (names of attachments
# and scripts, open actions, XMP metadata, optional content, private data, portfolios,
# XFA forms, ...) is removed.
_CATALOG_KEYS = {
    "/Type",
    "/Pages",
    "/Names",  # reduced to /Dests below
    "/Dests",
    "/Outlines",
    "/PageLabels",
    "/PageLayout",
    "/PageMode",
    "/ViewerPreferences",
    "/AcroForm",  # without /XFA and /NeedAppearances
    "/StructTreeRoot",
    "/MarkInfo",
    "/Lang",
    "/Version",
}
# The page keys kept (a thumbnail, private data, actions and the like are removed).
_PAGE_KEYS = {
    "/Type",
    "/Parent",
    "/Resources",
    "/MediaBox",
    "/CropBox",
    "/BleedBox",
    "/TrimBox",
    "/ArtBox",
    "/Contents",
    "/Rotate",
    "/Annots",
    "/UserUnit",
    "/Group",
    "/StructParents",
    "/Tabs",
}
# Keys removed from every object: actions run by events, metadata streams (XMP), private
# data, thumbnails, alternate and OPI images, associated files, optional-content membership
# (content is then always shown, so nothing is visible only in some configuration).
_DROPPED_KEYS = (
    "/AA",
    "/Metadata",
    "/PieceInfo",
    "/Thumb",
    "/Alternates",
    "/OPI",
    "/AF",
    "/OC",
    "/EF",
    "/JS",
)
# Annotations that play, attach or embed what cannot be checked.
_DROPPED_ANNOTATIONS = {
    "/FileAttachment",
    "/Sound",
    "/Movie",
    "/Screen",
    "/RichMedia",
    "/3D",
    "/Projection",
}
# Annotation flags: invisible (1), hidden (2), shown only when printed (NoView, 32),
# shown when toggled (ToggleNoView, 256). Such annotations are removed.
_HIDING_FLAGS = 1 | 2 | 32 | 256
# Link actions kept (every other action, scripts above all, is removed).
_KEPT_ACTIONS = {"/URI", "/GoTo", "/Named"}
# Picture files a stream or string could carry under a private key.
_PICTURE_SIGNATURES = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG",
    b"GIF8",
    b"RIFF",  # WebP
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"\x00\x00\x00\x0cjP",  # JPEG 2000
    b"\xff\x4f\xff\x51",
)
# Strings shorter than this cannot hold a picture of a face.
_MIN_PICTURE_STRING = 512


def is_pdf(data: bytes) -> bool:
    """PDF readers accept the header anywhere in the first 1 KB."""
    return PDF_SIGNATURE in data[:1024]


class PdfUnreadable(FaceError, ValueError):
    """The PDF cannot be checked; the message says why and what to do."""


def rewrite_pdf(data: bytes) -> bytes:
    """The publishable bytes of a PDF: its last revision, with only what a reader shows
    (see the module docstring). Raises PdfUnreadable when it cannot be rewritten."""
    import pikepdf

    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise PdfUnreadable(
            "it is protected by a password, so it cannot be checked; export it without one"
        ) from None
    except (pikepdf.PdfError, ValueError, OSError) as exc:
        raise PdfUnreadable(
            f"it cannot be opened as a PDF ({exc}); export it again from the program that made it"
        ) from None
    try:
        with pdf:
            if len(pdf.pages) > MAX_PAGES:
                raise PdfUnreadable(
                    f"it has {len(pdf.pages)} pages (more than {MAX_PAGES} cannot be checked); "
                    "split it into shorter files"
                )
            _strip(pdf, pikepdf)
            out = io.BytesIO()
            pdf.save(
                out,
                encryption=False,
                preserve_pdfa=False,
                fix_metadata_version=False,
                compress_streams=True,
                object_stream_mode=pikepdf.ObjectStreamMode.generate,
                deterministic_id=True,
            )
            return out.getvalue()
    except PdfUnreadable:
        raise
    except Exception as exc:  # noqa: BLE001 - qpdf raises many types for damaged files
        raise PdfUnreadable(
            f"it cannot be rewritten for publishing ({type(exc).__name__}: {exc}); export it "
            "again from the program that made it"
        ) from None


def _strip(pdf, pikepdf) -> None:
    """Remove from `pdf`, in place, everything a reader does not show."""
    Dictionary, Array = pikepdf.Dictionary, pikepdf.Array
    root = pdf.Root
    for key in list(root.keys()):
        if key not in _CATALOG_KEYS:
            del root[key]
    names = root.get("/Names")
    if names is not None:
        dests = names.get("/Dests") if isinstance(names, Dictionary) else None
        del root["/Names"]
        if dests is not None:
            root.Names = Dictionary(Dests=dests)
    form = root.get("/AcroForm")
    if isinstance(form, Dictionary):
        for key in ("/XFA", "/NeedAppearances"):
            if key in form:
                del form[key]
    if "/Info" in pdf.trailer:
        del pdf.trailer["/Info"]

    for obj in pdf.objects:
        if not isinstance(obj, (Dictionary, pikepdf.Stream)):
            continue
        for key in _DROPPED_KEYS:
            if key in obj:
                del obj[key]
        for key in ("/A", "/Next"):
            action = obj.get(key)
            if isinstance(action, Array) or (
                isinstance(action, Dictionary) and action.get("/S") not in _KEPT_ACTIONS
            ):
                del obj[key]

    for page in pdf.pages:
        page_dict = page.obj
        for key in list(page_dict.keys()):
            if key not in _PAGE_KEYS:
                del page_dict[key]
        annots = page_dict.get("/Annots")
        if annots is None:
            continue
        kept = Array()
        for annot in annots:
            if isinstance(annot, Dictionary) and _keep_annotation(annot, Dictionary):
                kept.append(annot)
        page_dict.Annots = kept
    pdf.remove_unreferenced_resources()


def _keep_annotation(annot, Dictionary) -> bool:
    """Whether an annotation stays (reduced to the appearance a reader shows), in place."""
    if annot.get("/Subtype") in _DROPPED_ANNOTATIONS:
        return False
    try:
        flags = int(annot.get("/F", 0))
    except (TypeError, ValueError):
        return False
    if flags & _HIDING_FLAGS:
        return False
    characteristics = annot.get("/MK")
    if isinstance(characteristics, Dictionary):
        for key in ("/RI", "/IX"):  # a button's rollover and pressed icons
            if key in characteristics:
                del characteristics[key]
    appearance = annot.get("/AP")
    if appearance is None:
        return True
    if not isinstance(appearance, Dictionary):
        return False
    for key in list(appearance.keys()):
        if key != "/N":  # the rollover (/R) and pressed (/D) appearances
            del appearance[key]
    normal = appearance.get("/N")
    if isinstance(normal, Dictionary):  # a stream is not a Dictionary here
        # Appearance states (a check box's on and off): only the one shown (/AS) stays.
        state = annot.get("/AS")
        if state is None or state not in normal:
            del annot["/AP"]
            return True
        appearance.N = Dictionary({str(state): normal[state]})
    return True


def pdf_views(data: bytes) -> list[np.ndarray]:
    """RGB pictures of the rewritten PDF (``rewrite_pdf``): every page rendered for the
    screen and for print, every image drawn, every image object and every embedded picture
    file left in it."""
    clean = rewrite_pdf(data)
    views: list[np.ndarray] = []
    seen: set[bytes] = set()

    def add(picture) -> None:
        for view in detection_views(picture):
            digest = hashlib.sha1(view.tobytes()).digest() + repr(view.shape).encode()
            if digest not in seen:
                seen.add(digest)
                views.append(view)

    _rendered_views(clean, add)
    _object_views(clean, add)
    return views


def _rendered_views(clean: bytes, add) -> None:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        document = pdfium.PdfDocument(clean)
    except pdfium.PdfiumError as exc:
        raise PdfUnreadable(
            f"it cannot be opened as a PDF ({exc}); export it again without a password"
        ) from exc
    try:
        if document.count_attachments():
            raise PdfUnreadable(
                "it carries attached files, which cannot be checked; export it without them"
            )
        images = 0
        for page in document:
            width, height = page.get_size()
            scale = RENDER_DPI / 72
            if width * height * scale * scale > MAX_PIXELS:
                scale = (MAX_PIXELS / (width * height)) ** 0.5
            for flags in (0, pdfium_c.FPDF_PRINTING):  # the screen, then print
                bitmap = page.render(
                    scale=scale, may_draw_forms=True, draw_annots=True, extra_flags=flags
                )
                add(bitmap.to_pil())
            for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=15):
                images += 1
                if images > MAX_IMAGES:
                    raise PdfUnreadable(
                        f"it holds more than {MAX_IMAGES} images, more than can be checked"
                    )
                w, h = obj.get_px_size()
                if w * h > MAX_PIXELS:
                    raise PdfUnreadable(f"it holds an image of {w}x{h} pixels, over the limit")
                try:
                    picture = obj.get_bitmap(render=False).to_pil()
                except pdfium.PdfiumError as exc:
                    raise PdfUnreadable(f"one of its images cannot be decoded ({exc})") from exc
                if min(picture.size) >= 16:  # smaller ones hold no face to see
                    add(picture.convert("RGBA"))
    finally:
        document.close()


def _object_views(clean: bytes, add) -> None:
    """Every image object of the rewritten file, drawn or not, and every picture file
    carried by another stream or a long string."""
    import pikepdf
    from pikepdf.models.image import PdfImage

    from .imaging import open_bounded

    with pikepdf.open(io.BytesIO(clean)) as pdf:
        images = 0
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream):
                if obj.get("/Subtype") == "/Image":
                    images += 1
                    if images > MAX_IMAGES:
                        raise PdfUnreadable(
                            f"it holds more than {MAX_IMAGES} images, more than can be checked"
                        )
                    try:
                        w, h = int(obj.get("/Width", 0)), int(obj.get("/Height", 0))
                    except (TypeError, ValueError):
                        raise PdfUnreadable("one of its images has no valid size") from None
                    if w * h > MAX_PIXELS:
                        raise PdfUnreadable(f"it holds an image of {w}x{h} pixels, over the limit")
                    if min(w, h) < 16:
                        continue
                    try:
                        picture = PdfImage(obj).as_pil_image()
                    except Exception as exc:  # noqa: BLE001 - an image not checked withholds
                        raise PdfUnreadable(
                            f"one of its images cannot be decoded ({type(exc).__name__}: "
                            f"{exc}); export the PDF again with JPEG or PNG images"
                        ) from None
                    add(picture.convert("RGBA") if picture.mode != "RGB" else picture)
                    continue
                try:
                    raw = obj.read_bytes()
                except pikepdf.PdfError:
                    raw = obj.read_raw_bytes()
                payloads = [raw]
            else:
                payloads = list(_long_strings(obj, pikepdf))
            for payload in payloads:
                if payload.startswith(_PICTURE_SIGNATURES):
                    try:
                        picture = open_bounded(payload)
                        picture.load()
                    except Exception:  # noqa: BLE001 - not a picture after all
                        continue
                    add(picture.convert("RGBA"))


def _long_strings(obj, pikepdf, depth: int = 0):
    """The long strings of a direct object (dictionaries and arrays walked)."""
    if depth > 32:
        return
    if isinstance(obj, pikepdf.String):
        value = bytes(obj)
        if len(value) >= _MIN_PICTURE_STRING:
            yield value
    elif isinstance(obj, pikepdf.Dictionary):
        for key in list(obj.keys()):  # noqa: SIM118 - a pikepdf Dictionary
            value = obj.get(key)
            if not getattr(value, "is_indirect", True):
                yield from _long_strings(value, pikepdf, depth + 1)
    elif isinstance(obj, pikepdf.Array):
        for value in obj:
            if not getattr(value, "is_indirect", True):
                yield from _long_strings(value, pikepdf, depth + 1)
