"""What may be published as it is, for every kind but photos and PDFs: unit tests of
site_gate.policy with crafted files (no face models)."""

from __future__ import annotations

import base64
import gzip
import io

from PIL import Image
from site_gate.policy import file_problem
from site_gate.sniff import SEARCH_MARKER, Kind, sniff


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (180, 120, 90)).save(buffer, "JPEG")
    return buffer.getvalue()


def _problem(data: bytes, name: str) -> str | None:
    return file_problem(sniff(data, name), data)


def test_search_data_passes_unless_it_carries_a_picture():
    words = gzip.compress(SEARCH_MARKER + b'{"url":"/news/","content":"Garden beds"}', mtime=0)
    assert sniff(words, "pagefind/fragment/en_1.pf_fragment").kind == Kind.SEARCH
    assert _problem(words, "pagefind/fragment/en_1.pf_fragment") is None
    wasm = gzip.compress(SEARCH_MARKER + b"\x00asm\x01\x00\x00\x00" + bytes(range(256)) * 8)
    assert _problem(wasm, "pagefind/wasm.en.pagefind") is None

    hidden = gzip.compress(SEARCH_MARKER + b"\x81\x82" + _jpeg() + b"\x00")
    assert "holds a picture at byte" in _problem(hidden, "pagefind/index/en_2.pf_index")
    b64 = base64.b64encode(_jpeg()).decode()
    as_text = gzip.compress(SEARCH_MARKER + f'{{"image":"data:image/jpeg;base64,{b64}"}}'.encode())
    assert "data: URL" in _problem(as_text, "pagefind/fragment/en_3.pf_fragment")
    named = gzip.compress(SEARCH_MARKER + b'{"url":"/","meta":{"image":"/images/a.jpg"}}')
    assert "names a page's picture" in _problem(named, "pagefind/fragment/en_4.pf_fragment")
    # Any other gzip stream is an archive, withheld.
    assert sniff(gzip.compress(b"<svg/>"), "a.svgz").kind == Kind.ARCHIVE
    assert "cannot be checked" in _problem(gzip.compress(b"<svg/>"), "a.svgz")


def test_a_picture_written_as_hexadecimal_in_a_script_is_found():
    script = f'const photo = "{_jpeg().hex()}";\n'.encode()
    assert "hexadecimal data" in _problem(script, "theme/js/photo.js")
    assert _problem(b"const colours = ['ff0000', '00ff00'];\n", "theme/js/ok.js") is None


def test_text_files_that_only_talk_are_published():
    css = b".hero { background: url('../images/garden.jpg') } /* a file the gate checks */\n"
    assert _problem(css, "theme/css/site.css") is None
    assert _problem(b'{"name": "Cedar Hollow"}', "site.webmanifest") is None
    assert _problem(b"\xff\xfe\x00garbage", "notes.txt") is not None  # not text, not known


def test_base64_broken_into_lines_is_found():
    folded = base64.encodebytes(_jpeg()).decode()  # 76 characters a line, as MIME writes
    vcard = f"BEGIN:VCARD\nPHOTO;ENCODING=b;TYPE=JPEG:\n{folded}END:VCARD\n".encode()
    assert "base64 data in lines" in _problem(vcard, "staff/ms-lee.vcf")
    ics_folded = "\r\n ".join(
        base64.b64encode(_jpeg()).decode()[i : i + 74] for i in range(0, 4000, 74)
    )
    ics = (
        f"BEGIN:VCALENDAR\r\nATTACH;ENCODING=BASE64;VALUE=BINARY:{ics_folded}\r\nEND:VCALENDAR\r\n"
    )
    assert _problem(ics.encode(), "calendars/photo.ics") is not None


def test_pictures_written_as_text_are_pictures():
    from face_engine.imaging import decode_display

    ppm = "P3\n4 4\n255\n" + " ".join(["200 120 90"] * 16) + "\n"
    found = sniff(ppm.encode(), "notes.txt")
    assert found.kind == Kind.RASTER  # checked by the face engine, re-encoded as PNG
    assert decode_display(ppm.encode()).frames[0].size == (4, 4)
    postscript = b"%!PS-Adobe-3.0\n/picstr 3 string def\n64 64 8 [64 0 0 64 0 0]\n"
    assert sniff(postscript, "flyer.ps").kind == Kind.UNKNOWN
    assert "PostScript" in _problem(postscript, "flyer.ps")
