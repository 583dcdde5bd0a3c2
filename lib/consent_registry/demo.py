"""Demo gallery: two sample photos and a demo registry in which one person has consent.

The photos come from installed packages (scikit-image's astronaut, matplotlib's Grace
Hopper sample); they are copied at demo time and never committed. The demo registry gives
the astronaut photo's subject consent for the website and has no record for the other,
so a demo build publishes one photo and withholds the other.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from PIL import Image, ImageOps

GALLERY = Path("images") / "gallery"
CONSENTED_ID = "DEMO-S001"
CONSENTED_NAME = "Jordan Example"
# (left, top, right, bottom) of the astronaut photo that goes into the gallery.
ASTRONAUT_CROP = (0, 0, 512, 320)


def sample_photos() -> dict[str, Path]:
    """{file name in the gallery: source path} for the two demo photos."""
    import matplotlib
    import skimage

    return {
        "astronaut.png": Path(skimage.__file__).parent / "data" / "astronaut.png",
        "grace_hopper.jpg": Path(matplotlib.__file__).parent
        / "mpl-data"
        / "sample_data"
        / "grace_hopper.jpg",
    }


def prepare_demo(content_dir: Path, registry_path: Path, key_file: Path) -> list[Path]:
    """Copy the demo photos into content_dir/images/gallery and seed the demo registry.

    Returns the copied files. Safe to run again: the record is replaced, not duplicated.
    """
    from face_engine.faces import reference_templates

    from .registry import Registry

    gallery = Path(content_dir) / GALLERY
    gallery.mkdir(parents=True, exist_ok=True)
    copied = []
    for name, source in sample_photos().items():
        if not source.is_file():
            raise FileNotFoundError(
                f"demo photo {source} is missing: install the dev dependencies "
                "(uv sync) so scikit-image and matplotlib are there"
            )
        target = gallery / name
        if name == "astronaut.png":
            # Head and shoulders only: the mission patch lower down reads as a face to
            # the detector, which would (rightly, failing closed) withhold the photo.
            with Image.open(source) as photo:
                photo.crop(ASTRONAUT_CROP).save(target, "PNG")
        else:
            shutil.copyfile(source, target)
        copied.append(target)

    # The reference is a mirrored copy, as a consent office's own photo would differ.
    with Image.open(gallery / "astronaut.png") as photo:
        mirrored = ImageOps.mirror(photo.convert("RGB"))
    buffer = io.BytesIO()
    mirrored.save(buffer, "PNG")
    templates = reference_templates(buffer.getvalue(), source="astronaut (mirrored)")

    registry_path = Path(registry_path)
    registry_path.parent.mkdir(parents=True, exist_ok=True)
    with Registry.open(registry_path, Path(key_file)) as registry:
        registry.add(
            CONSENTED_ID,
            CONSENTED_NAME,
            templates,
            role="student",
            scopes=("website",),
            actor="demo",
            replace=True,
        )
    return copied
