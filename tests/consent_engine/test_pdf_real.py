"""PDF newsletters with the real models: the faces of every rendered page and of every
picture inside decide the file, like a photo's."""

from __future__ import annotations

import io

from face_engine.decision import decide
from face_engine.model import PUBLISH, WITHHOLD
from PIL import Image

from .conftest import record, snapshot


def newsletter(*photos: Image.Image) -> bytes:
    pages = [Image.new("RGB", (1275, 1650), "white") for _ in photos]
    for page, photo in zip(pages, photos, strict=True):
        photo = photo.convert("RGB")
        photo.thumbnail((700, 700))
        page.paste(photo, (200, 300))
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:], resolution=150)
    return buffer.getvalue()


def test_a_newsletter_is_published_only_when_every_face_has_consent(
    shared_faces, templates, settings
):
    obama = Image.open(shared_faces / "people/obama/obama3.jpg")
    lin = Image.open(shared_faces / "people/lin_manuel_miranda/lin1.png")
    registry = snapshot(record("obama", *templates["obama"]))

    consented = decide(newsletter(obama), registry, settings, path="news.pdf")
    assert consented.verdict == PUBLISH, consented.reasons
    assert {face.person_id for face in consented.faces} == {"obama"}

    # The unconsented face is on page 2: every page counts.
    mixed = decide(newsletter(obama, lin), registry, settings, path="news.pdf")
    assert mixed.verdict == WITHHOLD
    assert any("unknown face" in reason for reason in mixed.reasons)


def test_a_pdf_that_cannot_be_checked_is_withheld(settings):
    verdict = decide(b"%PDF-1.7\n%broken\n", snapshot(), settings, path="broken.pdf")
    assert verdict.verdict == WITHHOLD
    assert "cannot be checked" in verdict.reasons[0]
