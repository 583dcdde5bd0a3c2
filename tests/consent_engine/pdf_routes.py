"""PDFs that hide a face where a reader does not show it, built with pikepdf and Pillow, and
an independent look for faces in a PDF's bytes (for the tests and bench/pdf_bench.py).

Each route's page shows only a faceless drawing; the face is in an earlier revision, a
thumbnail, an undrawn resource, a print-only stamp, a button's rollover, print-only
optional content, an attachment, or an image object under a private key."""

from __future__ import annotations

import contextlib
import io
import re
import zlib

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream
from PIL import Image

PAGE = [0, 0, 612, 792]
FACELESS = b"q 0.2 0.5 0.3 rg 72 72 468 200 re f 0.9 0.8 0.1 rg 100 400 200 200 re f Q\n"
FACE_DRAWN = b"q 360 0 0 360 126 300 cm /Im0 Do Q\n"


def jpeg(image: Image.Image, side: int = 480) -> tuple[bytes, tuple[int, int]]:
    picture = image.convert("RGB")
    picture.thumbnail((side, side))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90)
    return out.getvalue(), picture.size


def image_stream(pdf: pikepdf.Pdf, data: bytes, size: tuple[int, int], typed=True) -> Stream:
    values = {
        "Width": size[0],
        "Height": size[1],
        "ColorSpace": Name.DeviceRGB,
        "BitsPerComponent": 8,
        "Filter": Name.DCTDecode,
    }
    if typed:
        values.update(Type=Name.XObject, Subtype=Name.Image)
    return Stream(pdf, data, **values)


def form(pdf: pikepdf.Pdf, content: bytes, image: Stream | None = None) -> Stream:
    resources = Dictionary(XObject=Dictionary(Im0=image)) if image is not None else Dictionary()
    return Stream(
        pdf,
        content,
        Type=Name.XObject,
        Subtype=Name.Form,
        BBox=Array(PAGE),
        Resources=resources,
    )


def faceless_pdf(pages: int = 1) -> pikepdf.Pdf:
    pdf = pikepdf.new()
    for _ in range(pages):
        page = pdf.add_blank_page(page_size=(612, 792))
        page.obj.Contents = Stream(pdf, FACELESS)
    return pdf


def saved(pdf: pikepdf.Pdf, **options) -> bytes:
    out = io.BytesIO()
    pdf.save(out, **options)
    return out.getvalue()


def incremental(face: Image.Image) -> bytes:
    """A page that drew the face, then an incremental save that replaced it by a faceless
    page: the first revision (and the photo) stay in the file."""
    data, size = jpeg(face)
    pdf = faceless_pdf()
    page = pdf.pages[0].obj
    page.Contents = Stream(pdf, FACE_DRAWN)
    page.Resources = Dictionary(XObject=Dictionary(Im0=image_stream(pdf, data, size)))
    first = saved(pdf, object_stream_mode=pikepdf.ObjectStreamMode.disable, compress_streams=False)
    with pikepdf.open(io.BytesIO(first)) as again:
        page_num = again.pages[0].obj.objgen[0]
        parent = again.pages[0].obj.Parent.objgen[0]
        root = again.Root.objgen[0]
        size_ = int(again.trailer.Size)
    prev = int(re.findall(rb"startxref\s+(\d+)", first)[-1])
    body = bytearray(first)
    content_num = size_
    offsets = {}
    offsets[content_num] = len(body)
    body += b"%d 0 obj\n<< /Length %d >>\nstream\n" % (content_num, len(FACELESS))
    body += FACELESS + b"\nendstream\nendobj\n"
    offsets[page_num] = len(body)
    body += (
        b"%d 0 obj\n<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
        b"/Resources << >> >>\nendobj\n" % (page_num, parent, content_num)
    )
    xref = len(body)
    body += b"xref\n0 1\n0000000000 65535 f \n"
    for num in sorted(offsets):
        body += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
    body += b"trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\n" % (size_ + 1, root, prev)
    body += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(body)


def thumbnail(face: Image.Image) -> bytes:
    data, size = jpeg(face, 200)
    pdf = faceless_pdf()
    pdf.pages[0].obj.Thumb = image_stream(pdf, data, size, typed=False)
    return saved(pdf)


def undrawn_resource(face: Image.Image) -> bytes:
    data, size = jpeg(face)
    pdf = faceless_pdf()
    pdf.pages[0].obj.Resources = Dictionary(XObject=Dictionary(Im9=image_stream(pdf, data, size)))
    return saved(pdf)


def print_only_stamp(face: Image.Image) -> bytes:
    data, size = jpeg(face)
    pdf = faceless_pdf()
    stamp = Dictionary(
        Type=Name.Annot,
        Subtype=Name.Stamp,
        Rect=Array(PAGE),
        F=4 | 32,  # printed, not shown on screen
        AP=Dictionary(N=form(pdf, FACE_DRAWN, image_stream(pdf, data, size))),
    )
    pdf.pages[0].obj.Annots = Array([pdf.make_indirect(stamp)])
    return saved(pdf)


def button_rollover(face: Image.Image) -> bytes:
    data, size = jpeg(face)
    pdf = faceless_pdf()
    rollover = form(pdf, FACE_DRAWN, image_stream(pdf, data, size))
    button = pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.Widget,
            FT=Name.Btn,
            Ff=65536,  # a push button
            T=pikepdf.String("photo"),
            Rect=Array(PAGE),
            F=4,
            MK=Dictionary(RI=rollover),
            AP=Dictionary(N=form(pdf, FACELESS), R=rollover, D=rollover),
        )
    )
    pdf.pages[0].obj.Annots = Array([button])
    pdf.Root.AcroForm = Dictionary(Fields=Array([button]))
    return saved(pdf)


def print_only_layer(face: Image.Image) -> bytes:
    """The face in optional content that is off on screen and on when printed."""
    data, size = jpeg(face)
    pdf = faceless_pdf()
    layer = pdf.make_indirect(
        Dictionary(
            Type=Name.OCG,
            Name=pikepdf.String("Print"),
            Usage=Dictionary(
                Print=Dictionary(PrintState=Name.ON), View=Dictionary(ViewState=Name.OFF)
            ),
        )
    )
    pdf.Root.OCProperties = Dictionary(
        OCGs=Array([layer]),
        D=Dictionary(
            OFF=Array([layer]),
            AS=Array(
                [
                    Dictionary(Event=Name.View, OCGs=Array([layer]), Category=Array([Name.View])),
                    Dictionary(Event=Name.Print, OCGs=Array([layer]), Category=Array([Name.Print])),
                ]
            ),
        ),
    )
    page = pdf.pages[0].obj
    page.Contents = Stream(pdf, FACELESS + b"/OC /oc1 BDC " + FACE_DRAWN + b"EMC\n")
    page.Resources = Dictionary(
        XObject=Dictionary(Im0=image_stream(pdf, data, size)),
        Properties=Dictionary(oc1=layer),
    )
    return saved(pdf)


def attachment(face: Image.Image) -> bytes:
    data, _ = jpeg(face)
    pdf = faceless_pdf()
    pdf.attachments["class.jpg"] = pikepdf.AttachedFileSpec(pdf, data, mime_type="image/jpeg")
    return saved(pdf)


def private_key(face: Image.Image) -> bytes:
    """An image object kept under a made-up key of a link, which the rewrite keeps."""
    data, size = jpeg(face)
    pdf = faceless_pdf()
    link = Dictionary(
        Type=Name.Annot,
        Subtype=Name.Link,
        Rect=Array([72, 72, 200, 100]),
        Border=Array([0, 0, 0]),
        A=Dictionary(S=Name.URI, URI=pikepdf.String("https://example.org/")),
        Keep=image_stream(pdf, data, size),
    )
    pdf.pages[0].obj.Annots = Array([pdf.make_indirect(link)])
    return saved(pdf)


def private_stream(face: Image.Image) -> bytes:
    """A JPEG file in a plain stream (no image dictionary) under a made-up key."""
    data, _ = jpeg(face)
    pdf = faceless_pdf()
    link = Dictionary(
        Type=Name.Annot,
        Subtype=Name.Link,
        Rect=Array([72, 72, 200, 100]),
        Border=Array([0, 0, 0]),
        Blob=Stream(pdf, zlib.compress(data), Filter=Name.FlateDecode),
    )
    pdf.pages[0].obj.Annots = Array([pdf.make_indirect(link)])
    return saved(pdf)


ROUTES = {
    "incremental save": incremental,
    "page thumbnail": thumbnail,
    "undrawn resource": undrawn_resource,
    "print-only stamp": print_only_stamp,
    "button rollover": button_rollover,
    "print-only layer": print_only_layer,
    "attachment": attachment,
    "private image object": private_key,
    "private JPEG stream": private_stream,
}


def pictures_in(data: bytes) -> list[Image.Image]:
    """Every picture anyone could pull out of a PDF file, found without the face engine:
    every JPEG in the raw bytes (any revision) and in every decompressed stream, every
    image object, and every page rendered by PDFium for the screen and for print."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c
    from pikepdf.models.image import PdfImage

    found: list[Image.Image] = []

    def jpegs(blob: bytes) -> None:
        for match in re.finditer(rb"\xff\xd8\xff", blob):
            try:
                image = Image.open(io.BytesIO(blob[match.start() :]))
                image.load()
            except Exception:  # noqa: BLE001 - not a whole JPEG
                continue
            found.append(image.convert("RGB"))

    jpegs(data)
    for chunk in re.finditer(rb"stream\r?\n", data):  # every Flate stream, any revision
        with contextlib.suppress(zlib.error):
            jpegs(zlib.decompressobj().decompress(data[chunk.end() : chunk.end() + 8_000_000]))
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, Stream) and obj.get("/Subtype") == "/Image":
                with contextlib.suppress(Exception):
                    found.append(PdfImage(obj).as_pil_image().convert("RGB"))
        for name in pdf.attachments:
            jpegs(pdf.attachments[name].get_file().read_bytes())
    document = pdfium.PdfDocument(data)
    for page in document:
        for flags in (0, pdfium_c.FPDF_PRINTING):
            found.append(page.render(scale=100 / 72, draw_annots=True, extra_flags=flags).to_pil())
    document.close()
    return found


# HOG's face count per picture, by the picture's pixels: the routes carry the same photo of
# the stranger and the same faceless page, which `faces_in` would otherwise look at again
# in every file (HOG is deterministic).
_HOG_SEEN: dict[tuple, int] = {}


def faces_in(data: bytes) -> int:
    """How many faces dlib's HOG detector (face_recognition, not the gate's CenterFace)
    finds in everything `pictures_in` pulls out of a PDF."""
    import hashlib
    import warnings

    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition

    total = 0
    for picture in pictures_in(data):
        pixels = np.ascontiguousarray(np.asarray(picture.convert("RGB")))
        key = (hashlib.blake2b(pixels.data, digest_size=16).digest(), pixels.shape)
        if key not in _HOG_SEEN:
            _HOG_SEEN[key] = len(face_recognition.face_locations(pixels, 0))
        total += _HOG_SEEN[key]
    return total
