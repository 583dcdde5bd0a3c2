"""Published rasters hold only the pixels the face engine checked: unit tests of the shared
decoder (face_engine.imaging) and the re-encoder (site_gate.raster), no face models."""

from __future__ import annotations

import io

import numpy as np
import pytest
from face_engine.imaging import decode_display, detection_views
from PIL import ExifTags, Image, ImageCms
from site_gate.raster import RasterError, reencode
from site_gate.sniff import Kind, sniff


def _bytes(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _pattern(size=(64, 48), seed=1) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def test_metadata_and_orientation_are_gone_and_reencoding_is_deterministic():
    image = Image.new("RGB", (64, 32), (200, 30, 30))
    exif = image.getexif()
    exif[ExifTags.Base.Orientation] = 6  # rotate 90 degrees to display
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (41.0, 2.0, 3.0)
    data = _bytes(image, "JPEG", exif=exif, xmp=b"<x:xmpmeta/>", comment=b"by a parent")
    clean = reencode(data, "photo.jpg")
    published = Image.open(io.BytesIO(clean))
    assert published.format == "JPEG"
    assert published.size == (32, 64)  # orientation applied to the pixels
    assert not published.getexif()
    assert not any(
        segment.startswith((b"Exif", b"http://ns.adobe.com")) for _, segment in published.applist
    )
    assert "comment" not in published.info
    assert reencode(data, "photo.jpg") == clean  # deterministic: a rebuild uploads nothing


def test_bytes_after_the_image_are_not_published():
    data = _bytes(_pattern(), "JPEG") + b"HIDDEN" + _bytes(_pattern(seed=2), "PNG")
    clean = reencode(data)
    assert b"HIDDEN" not in clean and b"\x89PNG" not in clean
    assert clean.count(b"\xff\xd8\xff") == 1


def test_second_pictures_of_mpo_and_ico_files_are_dropped():
    first, second = _pattern(seed=3), _pattern(seed=4)
    mpo = io.BytesIO()
    first.save(mpo, "MPO", save_all=True, append_images=[second])
    clean = reencode(mpo.getvalue())
    assert Image.open(io.BytesIO(clean)).format == "JPEG"
    assert getattr(Image.open(io.BytesIO(clean)), "n_frames", 1) == 1

    big = _pattern((64, 64), seed=5)
    ico = _bytes(big, "ICO", sizes=[(16, 16), (32, 32), (64, 64)])
    clean_ico = reencode(ico)
    assert sniff(clean_ico, "favicon.ico").detail == "PNG"  # a browser shows PNG bytes
    assert Image.open(io.BytesIO(clean_ico)).size == (64, 64)


def test_every_frame_of_an_animation_is_checked_and_published():
    blank = Image.new("RGBA", (40, 40), (255, 255, 255, 255))
    hidden = _pattern((40, 40), seed=6).convert("RGBA")
    apng = _bytes(blank, "PNG", save_all=True, append_images=[hidden], duration=[100, 5000])
    display = decode_display(apng)
    assert len(display.frames) == 2
    assert np.array_equal(np.asarray(display.frames[1])[:, :, :3], np.asarray(hidden)[:, :, :3])
    clean = Image.open(io.BytesIO(reencode(apng)))
    assert clean.n_frames == 2


def test_a_picture_in_the_alpha_channel_or_under_transparency_is_seen():
    face_like = np.asarray(_pattern((32, 32), seed=7).convert("L"))
    # White everywhere; the picture lives only in the alpha channel.
    rgba = np.dstack([np.full((32, 32, 3), 255, np.uint8), face_like])
    views = detection_views(decode_display(_bytes(Image.fromarray(rgba, "RGBA"), "PNG")).frames[0])
    assert any(np.array_equal(v[:, :, 0], face_like) for v in views)

    # A picture in the colour channels under alpha 1 (invisible on any page, but in the file).
    colour = np.asarray(_pattern((32, 32), seed=8))
    faint = np.dstack([colour, np.full((32, 32), 1, np.uint8)])
    views = detection_views(decode_display(_bytes(Image.fromarray(faint, "RGBA"), "PNG")).frames[0])
    assert any(np.array_equal(v, colour) for v in views)

    # Colour under fully transparent pixels is zeroed before publishing.
    hidden = np.dstack([colour, np.zeros((32, 32), np.uint8)])
    clean = np.asarray(Image.open(io.BytesIO(reencode(_bytes(Image.fromarray(hidden), "PNG")))))
    assert not clean[:, :, :3].any()


def test_colour_profiles_are_applied_then_dropped():
    image = _pattern(seed=9)
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = _bytes(image, "PNG", icc_profile=srgb)
    clean = Image.open(io.BytesIO(reencode(data)))
    assert "icc_profile" not in clean.info
    # A profile that cannot be applied is an error (withheld), never silently ignored.
    with pytest.raises(RasterError):
        reencode(_bytes(image, "PNG", icc_profile=profile[:40]))


def test_png_gamma_is_applied_as_a_browser_does():
    dark = Image.new("RGB", (8, 8), (16, 16, 16))
    data = _bytes(dark, "PNG")
    # With a gAMA chunk of 1.0 and no profile, a browser brightens these pixels a lot.
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    gamma = _bytes(dark, "PNG", pnginfo=info)
    assert gamma  # Pillow cannot write gAMA itself: splice the chunk in by hand below.
    import struct
    import zlib

    chunk_data = struct.pack(">I", 100000)  # gamma 1.0: decoded with exponent 1/2.2
    chunk = struct.pack(">I", 4) + b"gAMA" + chunk_data
    chunk += struct.pack(">I", zlib.crc32(b"gAMA" + chunk_data))
    with_gamma = data[:33] + chunk + data[33:]
    shown = np.asarray(decode_display(with_gamma).frames[0])
    assert shown.mean() > 50 > np.asarray(dark).mean()


def test_truncated_or_damaged_images_are_errors():
    data = _bytes(_pattern(), "JPEG")
    with pytest.raises(RasterError):
        reencode(data[: len(data) // 2])
    with pytest.raises(RasterError):
        reencode(b"\xff\xd8\xff" + b"not really a jpeg")


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("BMP", "PNG"), ("TIFF", "PNG"), ("WEBP", "WEBP"), ("GIF", "GIF"), ("PNG", "PNG")],
)
def test_formats_become_ones_every_browser_shows(fmt, expected):
    clean = reencode(_bytes(_pattern(seed=10), fmt))
    found = sniff(clean, "x")
    assert found.kind == Kind.RASTER and found.detail == expected
