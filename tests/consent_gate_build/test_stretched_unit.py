"""The shape rules of stretched copies (``site_gate.stretched``) and the size a page gives a
picture (``html_uses.shown_size``), without faces, Pelican or a browser."""

from __future__ import annotations

import pytest
from PIL import Image
from site_gate.html_uses import shown_size
from site_gate.pages import scan_document
from site_gate.stretched import MAX_SIDE, StretchedCheck, parse_shown, stretched_size


@pytest.mark.parametrize(
    ("attrs", "shown"),
    [
        ({"width": "320", "height": "400"}, "320x400"),
        ({"width": "320px", "height": " 400 "}, "320x400"),
        ({"style": "width:320px;height:400px;max-width:none"}, "320x400"),
        # The style wins over the attributes, its last declaration of each.
        ({"width": "80", "height": "400", "style": "width: 10px; width: 320px"}, "320x400"),
        ({"width": "80", "style": "height: 40px !important"}, "80x40"),
        ({"width": "50%", "height": "300"}, ""),  # a share of the page says no shape
        ({"style": "max-width:100px;height:30px"}, ""),
        ({"width": "0", "height": "30"}, ""),
        ({}, ""),
    ],
)
def test_the_size_a_page_gives_a_picture(attrs, shown):
    assert shown_size(attrs) == shown


def test_img_uses_carry_their_shown_size():
    page = (
        '<p><img src="/images/a.jpg" width="400" height="100">'
        '<img srcset="/images/b.jpg 2x" style="width:10px;height:20px"><img src="/c.jpg"></p>'
    )
    uses = {use.url: use.shown for use in scan_document(page, "html")}
    assert uses == {"/images/a.jpg": "400x100", "/images/b.jpg": "10x20", "/c.jpg": ""}


def test_stretched_size_keeps_one_side_and_stretches_the_other():
    assert stretched_size((80, 400), (320, 400)) == (320, 400)  # a quarter width back
    assert stretched_size((400, 100), (100, 100)) == (400, 400)  # squeezed in height
    assert stretched_size((400, 300), (410, 300)) is None  # within 15 %
    assert stretched_size((400, 300), (400 * 1.16, 300)) == (464, 300)
    big = stretched_size((5000, 3000), (4000, 600))
    assert big is not None and max(big) == MAX_SIDE and abs(big[0] / big[1] - 4000 / 600) < 0.01
    assert parse_shown("320x400") == (320.0, 400.0) and parse_shown("") is None


def test_a_stretched_copy_is_decided_once_and_an_error_withholds(tmp_path):
    photo = tmp_path / "thin.png"
    Image.new("RGB", (80, 400), "grey").save(photo)
    seen = []

    def decide(paths, names):
        seen.append((Image.open(paths[0]).size, names[0]))
        return [("an unknown face", ())]

    check = StretchedCheck(tmp_path / "cache", decide)
    reason = check.reason("images/thin.png", photo, "ab" * 32, "320x400")
    assert reason and "stretched to 320x400 from 80x400" in reason and "unknown face" in reason
    assert check.reason("images/thin.png", photo, "ab" * 32, "640x800") == reason  # same shape
    assert seen == [((320, 400), "images/thin.png at 320x400 (stored 80x400)")]
    assert check.reason("images/thin.png", photo, "ab" * 32, "80x400") is None
    assert check.persons_of == {}  # nobody recorded for a copy that was withheld


def test_whom_a_passed_stretched_copy_shows_is_kept_for_every_page_path(tmp_path):
    """A copy that passes because its person has consent records that person against the
    photo (the manifest keeps it, so publish withholds the photo after a withdrawal),
    also where another path holds the same photo."""
    photo = tmp_path / "thin.png"
    Image.new("RGB", (80, 400), "grey").save(photo)
    calls = []

    def decide(paths, names):
        calls.append(names[0])
        return [("", ("s-104",))]

    check = StretchedCheck(tmp_path / "cache", decide)
    assert check.reason("images/thin.png", photo, "ab" * 32, "320x400") is None
    assert check.reason("images/copy.png", photo, "ab" * 32, "320x400") is None
    assert len(calls) == 1
    assert check.persons_of == {"images/thin.png": {"s-104"}, "images/copy.png": {"s-104"}}

    def broken(paths, names):
        raise RuntimeError("the detector stopped")

    failing = StretchedCheck(tmp_path / "cache2", broken)
    why = failing.reason("images/thin.png", photo, "cd" * 32, "320x400")
    assert why and "could not be checked" in why and "the detector stopped" in why
    missing = StretchedCheck(tmp_path / "cache3", decide)
    assert "could not be read" in missing.reason("x.png", tmp_path / "gone.png", "", "9x1")
