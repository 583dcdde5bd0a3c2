"""Helpers shared by the publishing tests: small site folders and a consent checker for the
unit tests (the integration tests use the real registry)."""

from __future__ import annotations

import functools
from pathlib import Path

from face_engine.model import PUBLISH, WITHHOLD, Verdict
from s3_publish.settings import PublishSettings

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp")

SITE_FILES = {
    "index.html": "<!doctype html><title>Home</title><img src='images/garden.jpg'>",
    "news/2026/garden-beds/index.html": "<!doctype html><title>Garden beds</title>",
    "404.html": "<!doctype html><title>Not found</title>",
    "theme/css/style.css": "body { color: #222; }\n" * 40,
    "theme/js/menu.0123abcd.js": "document.body.dataset.ready = '1';\n",
    "feeds/all.atom.xml": "<?xml version='1.0'?><feed></feed>",
    "sitemap.xml": "<?xml version='1.0'?><urlset></urlset>",
    "calendar/school.ics": "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
    "site.webmanifest": '{"name": "Cedar Hollow School"}',
    "favicon.svg": "<svg xmlns='http://www.w3.org/2000/svg'></svg>",
    "theme/fonts/body.woff2": "outline font",  # replaced by tiny_font() below
    "robots.txt": "User-agent: *\n",
    "images/garden.jpg": b"\xff\xd8\xff\xe0garden-photo-bytes",
    "images/field-day.jpg": b"\xff\xd8\xff\xe0field-day-bytes",
    "images/thumbnails/field-day-320w.jpg": b"\xff\xd8\xff\xe0field-day-small",
}


def tiny_font() -> bytes:
    """A real WOFF2 outline font of one glyph (fontTools), as a theme would ship."""
    import io

    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    pen = TTGlyphPen(None)
    pen.moveTo((0, 0))
    pen.lineTo((0, 500))
    pen.lineTo((500, 0))
    pen.closePath()
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "A"])
    builder.setupCharacterMap({65: "A"})
    builder.setupGlyf({".notdef": pen.glyph(), "A": pen.glyph()})
    builder.setupHorizontalMetrics({".notdef": (500, 0), "A": (500, 0)})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Test", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    builder.font.flavor = "woff2"
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


SITE_FILES["theme/fonts/body.woff2"] = tiny_font()


def tiny_png(colour=(30, 120, 60)) -> bytes:
    """A real (faceless) PNG file."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    return buffer.getvalue()


@functools.cache
def _templates(photo: Path) -> tuple:
    from face_engine.faces import reference_templates

    return tuple(reference_templates(photo.read_bytes(), photo.name))


def reference_templates_of(photo: Path) -> list:
    """A consent-office reference photo's templates, made once per process: the same photo
    is enrolled by most tests here (2.6 s of face work each time under load, measured)."""
    return list(_templates(photo))


def write_site(root: Path, files: dict[str, str | bytes] | None = None) -> Path:
    for name, body in (SITE_FILES if files is None else files).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, str):
            path.write_text(body, encoding="utf-8")
        else:
            path.write_bytes(body)
    return root


def gate_manifest(output: Path, missing: tuple[str, ...] = ()) -> Path:
    """A publish manifest passing every file of `output` as it is now, as the consent gate
    writes it at the end of a build (kinds and Content-Types from the bytes)."""
    import hashlib

    from consent_registry.settings import GateSettings
    from site_gate.manifest import BuildSettings, ManifestEntry, write_manifest
    from site_gate.policy import FACE_KINDS
    from site_gate.sniff import content_type, sniff

    entries = []
    for path in sorted(p for p in output.rglob("*") if p.is_file()):
        name = path.relative_to(output).as_posix()
        data = path.read_bytes()
        found = sniff(data, name)
        digest = hashlib.sha256(data).hexdigest()
        entries.append(
            ManifestEntry(
                path=name,
                sha256=digest,
                kind=str(found.kind),
                content_type=content_type(found, name, data),
                source_sha256=digest if found.kind in FACE_KINDS else "",
            )
        )
    manifest = output.parent / f"{output.name}.manifest.json"
    write_manifest(
        manifest,
        output=output,
        registry_fingerprint="test",
        entries=entries,
        built_with=BuildSettings.of(GateSettings.from_mapping({"CONSENT_STRICT": True})),
        missing=missing,
    )
    return manifest


class FakeChecker:
    """Withholds the images named in `withhold` ({name: reason}); records what it saw."""

    def __init__(self, withhold: dict[str, str] | None = None):
        self.withhold = dict(withhold or {})
        self.seen: list[str] = []

    def __call__(self, files, names, hashes=None):
        self.seen.extend(names)
        verdicts = []
        for name in names:
            reason = self.withhold.get(name)
            verdicts.append(
                Verdict(
                    path=name,
                    sha256="",
                    verdict=WITHHOLD if reason else PUBLISH,
                    reasons=[reason] if reason else [],
                )
            )
        return verdicts


def settings_for(bucket: str, endpoint_url: str | None = None, **extra) -> PublishSettings:
    values = {"S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint_url, **extra}
    return PublishSettings.from_mapping(values, env={})


# The same site without images: no consent check is involved in publishing it.
PAGES_AND_ASSETS = {
    name: body for name, body in SITE_FILES.items() if not name.endswith(IMAGE_EXTENSIONS)
}
