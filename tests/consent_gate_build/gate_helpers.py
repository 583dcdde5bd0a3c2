"""Helpers for the consent gate's build tests: a small site in a temp folder, photos from
the shared face set, and consent registries seeded with the real face engine."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageDraw

from tests.conftest import ROOT, SHARED_FACES, manifest_path, share_drawings

# Reference photos the registries are seeded from; the site uses other photos of the same
# people, as a consent office's form photo differs from the photos on the website.
REFERENCES = {
    "obama": "people/obama/obama2.jpg",
    "biden": "people/biden/biden2.jpg",
    "kit": "people/kit_harington/kit1.jpg",
    "rose": "people/rose_leslie/rose1.jpg",
}
# person key -> (person_id, name, role)
PEOPLE = {
    "obama": ("S1001", "Barack Obama", "student"),
    "biden": ("T2001", "Joe Biden", "staff"),
    "kit": ("S1002", "Kit Harington", "student"),
    "rose": ("S1003", "Rose Leslie", "student"),
}


def face_path(relative: str) -> Path:
    path = SHARED_FACES / relative
    if not path.is_file():
        pytest.fail(f"shared face photo missing: {path}")
    return path


def reference_encodings() -> dict[str, list[np.ndarray]]:
    from face_engine.faces import reference_templates

    return {
        key: reference_templates(face_path(rel).read_bytes(), source=rel)
        for key, rel in REFERENCES.items()
    }


@dataclass
class RegistryFiles:
    path: Path
    key_file: Path

    @property
    def env(self) -> dict[str, str]:
        return {"CONSENT_REGISTRY": str(self.path), "CONSENT_KEY_FILE": str(self.key_file)}

    def open(self):
        from consent_registry.registry import Registry

        return Registry.open(self.path, self.key_file)


def seed_registry(folder: Path, encodings, people=PEOPLE, expires=None) -> RegistryFiles:
    """A registry in `folder` giving website consent to `people` (keys of PEOPLE)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = RegistryFiles(folder / "registry.sqlite3", folder / "consent.key")
    with files.open() as registry:
        for key in people:
            person_id, name, role = PEOPLE[key]
            registry.add(
                person_id,
                name,
                encodings[key],
                role=role,
                scopes=("website",),
                expires=(expires or {}).get(key),
                actor="test",
            )
    return files


def no_face_image(path: Path, size=(480, 320), seed=0, orientation: int | None = None) -> Path:
    """A landscape-like picture without any face: sky, hills and a sun."""
    rng = np.random.default_rng(seed)
    width, height = size
    image = Image.new("RGB", size, (120 + seed * 7 % 100, 170, 220))
    draw = ImageDraw.Draw(image)
    for i in range(3):
        top = int(height * (0.5 + 0.12 * i))
        colour = tuple(int(c) for c in rng.integers(30, 140, 3))
        draw.polygon(
            [(0, top), (width // 2, top - 40), (width, top), (width, height), (0, height)],
            fill=colour,
        )
    draw.rectangle([width - 90, 20, width - 40, 70], fill=(250, 210, 60))
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[ExifTags.Base.Orientation] = orientation
        kwargs["exif"] = exif
    image.save(path, "JPEG", quality=90, **kwargs)
    return path


def jpeg_with_gps_xmp_thumbnail(source: Path, target: Path) -> Path:
    """A copy of `source` carrying GPS coordinates, XMP and a JFXX embedded thumbnail."""
    image = Image.open(source)
    exif = image.getexif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (41.0, 47.0, 3.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (73.0, 44.0, 1.0)
    exif[ExifTags.Base.Make] = "SchoolCam"
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
        b'dc:creator="Photographer Name"/></rdf:RDF></x:xmpmeta>'
    )
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=92, exif=exif, xmp=xmp)
    data = buffer.getvalue()
    # Splice in a JFXX APP0 segment holding a JPEG thumbnail, right after SOI.
    thumb = io.BytesIO()
    small = image.convert("RGB")
    small.thumbnail((80, 80))
    small.save(thumb, "JPEG", quality=70)
    payload = b"JFXX\x00\x10" + thumb.getvalue()
    segment = b"\xff\xe0" + (len(payload) + 2).to_bytes(2, "big") + payload
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data[:2] + segment + data[2:])
    return target


def write_article(content: Path, slug: str, body: str, image: str | None = None) -> Path:
    meta = [
        f"Title: Test article {slug}",
        "Date: 2026-10-01 10:00",
        "Category: News",
        f"Slug: {slug}",
        f"Summary: Test article {slug}.",
    ]
    if image:
        meta.append(f"Image: {image}")
    path = content / "articles" / f"{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(meta) + "\n\n" + body.strip() + "\n", encoding="utf-8")
    return path


def copy_face(content: Path, relative: str, target: str) -> Path:
    destination = content / target
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(face_path(relative), destination)
    return destination


def cache_sharing_faces(folder: Path, shared: Path) -> Path:
    """A consent cache of its own (re-encoded copies, the sites' indexes, its own prune)
    whose face results are `shared`'s: for a test about the cache or the disk it is on,
    not about face work, which a cold cache of its own does again for every photo and the
    theme's pictures (10-20 s a build on a busy machine, measured)."""
    from face_engine.cache import FaceCache

    faces = FaceCache(shared).directory
    faces.mkdir(parents=True, exist_ok=True)
    own = FaceCache(folder).directory
    own.parent.mkdir(parents=True, exist_ok=True)
    own.symlink_to(faces, target_is_directory=True)
    return folder


@dataclass
class Build:
    output: Path
    report_path: Path
    log: str  # stdout + stderr, whitespace collapsed (the log wraps long lines)
    returncode: int

    @property
    def report(self) -> dict:
        return json.loads(self.report_path.read_text(encoding="utf-8"))

    def image(self, output_path: str) -> dict:
        for entry in self.report["images"]:
            if entry["output_path"] == output_path:
                return entry
        raise AssertionError(f"{output_path} not in the report")

    def page(self, slug: str) -> str:
        return (self.output / "news" / "2026" / slug / "index.html").read_text(encoding="utf-8")


def build_site(
    content: Path,
    work: Path,
    name: str,
    registry: RegistryFiles | None,
    cache_dir: Path,
    extra: dict | None = None,
    env: dict | None = None,
    check: bool = True,
    cwd: Path = ROOT,
    debug: bool = False,
) -> Build:
    """Build `content` into work/out-<name> (emptied first, as a bench's rebuild; the gate
    keeps what a rebuild reuses per output folder). `debug`: Pelican's -D log."""
    output = work / f"out-{name}"
    report_path = work / f"report-{name}.json"
    if output.exists():
        shutil.rmtree(output)
    missing = work / "no-registry"
    environment = (
        registry.env
        if registry
        else {
            "CONSENT_REGISTRY": str(missing / "registry.sqlite3"),
            "CONSENT_KEY_FILE": str(missing / "consent.key"),
        }
    )
    environment = {**environment, "COLUMNS": "1000", **(env or {})}
    share_drawings(cache_dir, environment)
    overrides = {
        # Only the gate: these tests are about it, not about the other plugins.
        "PLUGINS": ["consent_gate"],
        "CONSENT_REPORT_PATH": str(report_path),
        "CONSENT_MANIFEST_PATH": str(manifest_path(output)),
        "CONSENT_CACHE_DIR": str(cache_dir),
        **(extra or {}),
    }
    # One -e with every pair: Pelican keeps only the last of several -e options.
    cmd = [sys.executable, "-m", "pelican", str(content), "-o", str(output)]
    cmd += ["-s", str(ROOT / "pelicanconf.py"), *(["-D"] if debug else []), "-e"]
    cmd += [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
    proc = subprocess.run(
        cmd, cwd=cwd, env={**os.environ, **environment}, capture_output=True, text=True
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"pelican failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    log = " ".join((proc.stdout + "\n" + proc.stderr).split())
    return Build(output, report_path, log, proc.returncode)


def today() -> date:
    return date.today()


def days_from_today(days: int) -> date:
    return date.today() + timedelta(days=days)
