"""Helpers shared by the publishing tests: small site folders and a consent checker for the
unit tests (the integration tests use the real registry)."""

from __future__ import annotations

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
    "theme/fonts/body.woff2": b"wOF2\x00\x01fakefont",
    "robots.txt": "User-agent: *\n",
    "images/garden.jpg": b"\xff\xd8\xff\xe0garden-photo-bytes",
    "images/field-day.jpg": b"\xff\xd8\xff\xe0field-day-bytes",
    "images/thumbnails/field-day-320w.jpg": b"\xff\xd8\xff\xe0field-day-small",
}


def write_site(root: Path, files: dict[str, str | bytes] | None = None) -> Path:
    for name, body in (SITE_FILES if files is None else files).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, str):
            path.write_text(body, encoding="utf-8")
        else:
            path.write_bytes(body)
    return root


class FakeChecker:
    """Withholds the images named in `withhold` ({name: reason}); records what it saw."""

    def __init__(self, withhold: dict[str, str] | None = None):
        self.withhold = dict(withhold or {})
        self.seen: list[str] = []

    def __call__(self, files, names):
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
