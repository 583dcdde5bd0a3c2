"""PDFs published as checked: every route by which a PDF hides a face from a reader
(an earlier revision, a thumbnail, an undrawn image, a print-only stamp or layer, a
button's rollover, an attachment, an image under a private key) either withholds the file
or is gone from the rewritten file that is published, as an independent look at the
published bytes (dlib's HOG detector on every picture pulled out of them) confirms."""

from __future__ import annotations

import io

import pikepdf
import pytest
from face_engine.decision import decide
from face_engine.model import PUBLISH, WITHHOLD
from face_engine.pdf import PdfUnreadable, rewrite_pdf
from PIL import Image
from site_gate.raster import RasterError, reencode

from . import pdf_routes
from .conftest import SHARED_FACES, record, snapshot

STRANGER = "people/lin_manuel_miranda/lin1.png"  # no record: an unconsented face


@pytest.fixture(scope="module")
def stranger() -> Image.Image:
    return Image.open(SHARED_FACES / STRANGER)


@pytest.mark.parametrize("route", sorted(pdf_routes.ROUTES))
def test_a_hidden_face_is_withheld_or_not_published(route, stranger, templates, settings):
    data = pdf_routes.ROUTES[route](stranger)
    assert pdf_routes.faces_in(data) >= 1, "the attack file must really carry the face"
    registry = snapshot(record("obama", *templates["obama"]))

    verdict = decide(data, registry, settings, path=f"{route}.pdf")
    if verdict.verdict == WITHHOLD:
        assert any("unknown face" in reason for reason in verdict.reasons), verdict.reasons
        return
    published = reencode(data, f"{route}.pdf")
    assert published != data
    assert pdf_routes.faces_in(published) == 0, f"{route}: the face is in the published file"
    # What is published is what was checked: checking it again gives the same verdict.
    assert decide(published, registry, settings).verdict == PUBLISH
    assert rewrite_pdf(data) == published, "the rewrite is not deterministic"


def test_routes_that_stay_in_the_file_are_withheld(stranger, settings):
    # Made visible (print-only optional content) or kept (an image under a made-up key),
    # the face is checked, and the unknown face withholds the file.
    for route in ("print-only layer", "private image object", "private JPEG stream"):
        verdict = decide(pdf_routes.ROUTES[route](stranger), snapshot(), settings, path=route)
        assert verdict.verdict == WITHHOLD, (route, verdict.reasons)


def test_the_rewrite_removes_what_a_reader_does_not_show(stranger):
    data = pdf_routes.incremental(stranger)
    assert data.count(b"%%EOF") == 2
    clean = rewrite_pdf(data)
    assert clean.count(b"%%EOF") == 1 and b"/Prev" not in clean
    with pikepdf.open(io.BytesIO(pdf_routes.button_rollover(stranger))) as pdf:
        assert "/R" in pdf.pages[0].Annots[0].AP
    with pikepdf.open(io.BytesIO(rewrite_pdf(pdf_routes.button_rollover(stranger)))) as pdf:
        annot = pdf.pages[0].Annots[0]
        assert set(annot.AP.keys()) == {"/N"} and "/RI" not in annot.MK
    with pikepdf.open(io.BytesIO(rewrite_pdf(pdf_routes.print_only_stamp(stranger)))) as pdf:
        assert len(pdf.pages[0].get("/Annots", [])) == 0
    with pikepdf.open(io.BytesIO(rewrite_pdf(pdf_routes.attachment(stranger)))) as pdf:
        assert len(pdf.attachments) == 0


def test_scripts_and_metadata_are_removed():
    pdf = pdf_routes.faceless_pdf()
    pdf.Root.OpenAction = pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")
    )
    pdf.Root.Metadata = pikepdf.Stream(pdf, b"<x:xmpmeta>xmpGImg:image</x:xmpmeta>")
    pdf.docinfo["/Author"] = "A teacher"
    clean = rewrite_pdf(pdf_routes.saved(pdf, compress_streams=False))
    for marker in (b"JavaScript", b"app.alert", b"xmpmeta", b"A teacher"):
        assert marker not in clean


def test_a_pdf_that_cannot_be_rewritten_is_withheld(settings):
    broken = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n"
    with pytest.raises(PdfUnreadable):
        rewrite_pdf(broken + b"%%EOF")
    with pytest.raises(RasterError):
        reencode(broken, "broken.pdf")
    assert decide(broken, snapshot(), settings, path="broken.pdf").verdict == WITHHOLD
    pdf = pdf_routes.faceless_pdf()
    locked = pdf_routes.saved(pdf, encryption=pikepdf.Encryption(owner="o", user="secret"))
    verdict = decide(locked, snapshot(), settings, path="locked.pdf")
    assert verdict.verdict == WITHHOLD and "password" in verdict.reasons[0]
