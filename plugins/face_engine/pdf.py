"""The pictures a PDF can show: every page rendered as a reader shows it, and every
embedded image on its own (an image may be hidden under another, cropped away or drawn
too small to see, and it is still in the file for anyone who downloads it).

Schools publish newsletters as PDFs, so a PDF is checked like a photo: its faces are the
faces of all these pictures. A PDF that carries attached files, cannot be opened (damaged,
password-protected) or is longer than ``MAX_PAGES`` cannot be checked, and raises.
Rendering uses PDFium (pypdfium2), the engine of Chrome's PDF viewer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .imaging import MAX_PIXELS, detection_views

if TYPE_CHECKING:  # numpy is loaded only where a PDF is read (``is_pdf`` is used by sniffing)
    import numpy as np

# Faces in a page rendered at 150 dpi are as large as in the printed newsletter at arm's
# length; a letter page is then 1275x1650 pixels.
RENDER_DPI = 150
MAX_PAGES = 60
MAX_IMAGES = 400
PDF_SIGNATURE = b"%PDF-"


def is_pdf(data: bytes) -> bool:
    """PDF readers accept the header anywhere in the first 1 KB."""
    return PDF_SIGNATURE in data[:1024]


class PdfUnreadable(ValueError):
    """The PDF cannot be checked; the message says why and what to do."""


def pdf_views(data: bytes) -> list[np.ndarray]:
    """RGB pictures of every rendered page and every embedded image."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise PdfUnreadable(
            f"it cannot be opened as a PDF ({exc}); export it again without a password"
        ) from exc
    try:
        if document.count_attachments():
            raise PdfUnreadable(
                "it carries attached files, which cannot be checked; export it without them"
            )
        if len(document) > MAX_PAGES:
            raise PdfUnreadable(
                f"it has {len(document)} pages (more than {MAX_PAGES} cannot be checked); "
                "split it into shorter files"
            )
        views: list[np.ndarray] = []
        images = 0
        for page in document:
            width, height = page.get_size()
            scale = RENDER_DPI / 72
            if width * height * scale * scale > MAX_PIXELS:
                scale = (MAX_PIXELS / (width * height)) ** 0.5
            bitmap = page.render(scale=scale, may_draw_forms=True, draw_annots=True)
            views += detection_views(bitmap.to_pil())
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
                    views += detection_views(picture.convert("RGBA"))
        return views
    finally:
        document.close()
