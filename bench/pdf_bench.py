"""What rewriting PDFs for publishing costs (``face_engine.pdf``): for newsletters of 1-8
pages with one or two photos a page, the rewrite's time and the published size against the
original, and the face check's time on the rewritten file (every page rendered for screen
and print, every image object) against the check of the original before the rewrite
existed (screen render and drawn images only), in the same run.

Run: `uv run python -m bench.pdf_bench`.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins"))

FACES = Path(__file__).resolve().parent.parent.parent / "shared" / "faces"
PHOTOS = [
    "groups/obama_and_biden.jpg",
    "groups/kit_and_rose.jpg",
    "people/obama/obama4.jpg",
    "people/kit_harington/kit2.jpg",
    "people/rose_leslie/rose2.jpg",
    "people/alex_lacamoire/alex1.jpg",
]


def newsletter(pages: int, per_page: int) -> bytes:
    """A newsletter as a desktop publisher writes one: text-like bars and JPEG photos,
    drawn by pikepdf into letter pages, saved with a thumbnail per page and XMP."""
    import pikepdf
    from PIL import Image

    pdf = pikepdf.new()
    photo = 0
    for _ in range(pages):
        page = pdf.add_blank_page(page_size=(612, 792))
        content = [b"q 0.1 0.1 0.1 rg"]
        content += [b"72 %d 468 6 re f" % y for y in range(700, 420, -14)]
        xobjects = {}
        for slot in range(per_page):
            image = Image.open(FACES / PHOTOS[photo % len(PHOTOS)]).convert("RGB")
            # Each photo its own crop: no two pictures of the newsletter are the same.
            cut = photo // len(PHOTOS) * 7
            image = image.crop((cut, cut, image.width - cut, image.height))
            photo += 1
            image.thumbnail((1600, 1600))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=88)
            name = f"/Im{slot}"
            xobjects[name] = pikepdf.Stream(
                pdf,
                out.getvalue(),
                Type=pikepdf.Name.XObject,
                Subtype=pikepdf.Name.Image,
                Width=image.width,
                Height=image.height,
                ColorSpace=pikepdf.Name.DeviceRGB,
                BitsPerComponent=8,
                Filter=pikepdf.Name.DCTDecode,
            )
            w = 230
            h = w * image.height / image.width
            content.append(
                b"q %d 0 0 %.1f %d 80 cm /%s Do Q" % (w, h, 72 + slot * 240, name.encode())
            )
        content.append(b"Q")
        page.obj.Contents = pikepdf.Stream(pdf, b"\n".join(content))
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(xobjects))
        thumb = io.BytesIO()
        Image.new("RGB", (85, 110), "white").save(thumb, "JPEG")
        page.obj.Thumb = pikepdf.Stream(
            pdf,
            thumb.getvalue(),
            Width=85,
            Height=110,
            ColorSpace=pikepdf.Name.DeviceRGB,
            BitsPerComponent=8,
            Filter=pikepdf.Name.DCTDecode,
        )
    pdf.Root.Metadata = pikepdf.Stream(pdf, b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    out = io.BytesIO()
    pdf.save(out, fix_metadata_version=False)
    return out.getvalue()


def old_views(data: bytes) -> list:
    """The check before the rewrite: the page rendered for the screen, drawn images."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c
    from face_engine.imaging import detection_views

    views = []
    document = pdfium.PdfDocument(data)
    for page in document:
        views += detection_views(page.render(scale=150 / 72).to_pil())
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=15):
            views += detection_views(obj.get_bitmap(render=False).to_pil().convert("RGBA"))
    document.close()
    return views


def detect(views: list) -> float:
    """Seconds the detector takes over these pictures."""
    from face_engine.config import DEFAULT_CONFIG
    from face_engine.faces import find_candidates

    started = time.perf_counter()
    for view in views:
        find_candidates(view, DEFAULT_CONFIG)
    return time.perf_counter() - started


def main() -> int:
    from face_engine.pdf import pdf_views, rewrite_pdf

    detect(old_views(newsletter(1, 1)))  # models loaded before timing
    print(
        f"{'pages x photos':>15} {'size':>9} {'published':>9} {'rewrite':>8} "
        f"{'views old':>9} {'views new':>9} {'old s':>6} {'new s':>6} "
        f"{'detect old':>10} {'detect new':>10}"
    )
    for pages, per_page in ((1, 1), (2, 2), (4, 2), (8, 2)):
        data = newsletter(pages, per_page)
        started = time.perf_counter()
        clean = rewrite_pdf(data)
        rewrite = time.perf_counter() - started
        started = time.perf_counter()
        before = old_views(data)
        old = time.perf_counter() - started
        started = time.perf_counter()
        after = pdf_views(data)
        new = time.perf_counter() - started
        print(
            f"{pages:>8} x {per_page:<4} {len(data) / 1e6:>7.2f}MB {len(clean) / 1e6:>7.2f}MB "
            f"{rewrite * 1000:>6.0f}ms {len(before):>9} {len(after):>9} {old:>6.2f} {new:>6.2f} "
            f"{detect(before):>9.1f}s {detect(after):>9.1f}s"
        )
    print(
        "views: pictures handed to the face detector (new: screen and print renders, when "
        "they differ, and every image object); old/new s: getting them (new: with the "
        "rewrite); detect: CenterFace over them"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
