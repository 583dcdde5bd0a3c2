"""Default deny, end to end: a site holding an unconsented face by every route an outsider
found is built through the real gate and published to a real SeaweedFS bucket; then every
object in the bucket (and every file in output/) is downloaded, every picture any byte of
it can yield is decoded, and no face in them may be the unconsented person.

Each attack file is first checked to really carry the face (the same detector finds it),
so a route that stops carrying the face fails the test instead of passing it silently.
"""

from __future__ import annotations

import base64
import functools
import gzip
import io
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from PIL import Image
from s3_publish.consent import registry_checker
from s3_publish.errors import PublishError
from s3_publish.sync import publish
from site_gate.manifest import read_manifest

from tests.conftest import ROOT, SHARED_FACES, manifest_path
from tests.consent_gate_build.gate_helpers import build_site, seed_registry, write_article
from tests.leak_check import FaceMatcher
from tests.publish.publish_helpers import reference_templates_of, settings_for

pytestmark = pytest.mark.s3

UNCONSENTED = SHARED_FACES / "people/biden/biden2.jpg"  # nobody gave consent for him
CONSENTED = SHARED_FACES / "people/obama/obama3.jpg"  # S1001 has consent on file


def _jpeg(image: Image.Image, **params) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90, **params)
    return buffer.getvalue()


def _save(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _video(frames: list[Image.Image]) -> bytes:
    import tempfile

    import cv2

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clip.mp4")
        size = frames[0].size
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 5, size)
        for frame in frames:
            writer.write(np.asarray(frame.convert("RGB").resize(size))[:, :, ::-1].copy())
        writer.release()
        with open(path, "rb") as handle:
            return handle.read()


def attack_files() -> dict[str, bytes]:
    """{path under content/: bytes}: the unconsented face by every file route."""
    return dict(_attack_files())


@functools.cache
def _attack_files() -> dict[str, bytes]:
    # Made once for the carrier check and the build (the AVIF, video and PDF encodes: 3.8 s
    # a call under load, measured).
    face = Image.open(UNCONSENTED).convert("RGB")
    face.thumbnail((480, 480))
    small = face.copy()
    small.thumbnail((200, 200))
    consented = Image.open(CONSENTED).convert("RGB")
    consented.thumbnail((480, 480))
    face_jpeg = _jpeg(face)
    blank = Image.new("RGBA", face.size, (255, 255, 255, 255))
    grey = np.asarray(face.convert("L"))
    in_alpha = Image.fromarray(np.dstack([np.full(grey.shape + (3,), 255, np.uint8), grey]), "RGBA")
    under_alpha = Image.fromarray(
        np.dstack([np.asarray(face), np.full(grey.shape, 1, np.uint8)]), "RGBA"
    )
    mpo = io.BytesIO()
    consented.save(mpo, "MPO", save_all=True, append_images=[face])
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="480" height="480">'
        f'<image href="data:image/jpeg;base64,{base64.b64encode(face_jpeg).decode()}" '
        'width="480" height="480"/></svg>'
    ).encode()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("class-photo.jpg", face_jpeg)
    b64 = base64.b64encode(_jpeg(small)).decode()
    escaped = b64.replace("/", "\\/")  # as JSON writers escape slashes
    a = "images/attack/"
    return {
        a + "face.avif": _save(face, "AVIF"),
        a + "favicon.ico": _save(face.resize((256, 256)), "ICO", sizes=[(256, 256)]),
        a + "face.jfif": face_jpeg,
        a + "face.pjpeg": face_jpeg,
        a + "moving.png": _save(
            blank, "PNG", save_all=True, append_images=[face.convert("RGBA")], duration=[50, 9000]
        ),
        a + "notes.txt": face_jpeg,
        a + "data.dat": face_jpeg,
        a + "README": face_jpeg,
        a + "clip.mp4": _video([face] * 5),
        a + "newsletter.pdf": _save(face, "PDF", resolution=72),
        a + "photos.zip": archive.getvalue(),
        a + "drawing.svgz": gzip.compress(svg),
        a + "drawing.svg": svg,
        a + "in-alpha.png": _save(in_alpha, "PNG"),
        a + "under-alpha.png": _save(under_alpha, "PNG"),
        # A consented photo carrying the unconsented one after its end, in a comment, or as
        # the second picture of an MPO file.
        a + "trailer.jpg": _jpeg(consented) + face_jpeg,
        a + "comment.jpg": _jpeg(consented, comment=_jpeg(small)),
        a + "second.jpg": mpo.getvalue(),
        a + "style.css": f".hero {{ background: url('data:image/jpeg;base64,{b64}') }}\n".encode(),
        a + "data.json": f'{{"photo": "{escaped}"}}'.encode(),
    }


def attack_pages(b64: str) -> dict[str, str]:
    """{slug: raw HTML}: the face written into pages by every route."""
    jpeg = f"data:image/jpeg;base64,{b64}"
    return {
        "as-text": f'<p><img alt="x" src="data:text/plain;base64,{b64}"></p>',
        "odd-spelling": f'<p><img alt="x" src="DATA:Image/JPEG ; BASE64,{b64}"></p>',
        "style-attribute": f"<div style=\"background-image:url('{jpeg}')\">Hello</div>",
        "style-element": f"<style>.hero{{background:url({jpeg})}}</style><p class=hero>Hi</p>",
        "object": f'<object data="{jpeg}" type="image/jpeg">photo</object>',
        "embed": f'<embed src="{jpeg}" type="image/jpeg">',
        "iframe": f'<iframe title="photo" src="{jpeg}"></iframe>',
        "input": f'<form><input type="image" alt="Go" src="{jpeg}"></form>',
        "poster": f'<video controls poster="{jpeg}"></video>',
        "foreign-object": (
            '<svg width="200" height="200"><foreignObject width="200" height="200">'
            f'<img xmlns="http://www.w3.org/1999/xhtml" src="{jpeg}"/></foreignObject></svg>'
        ),
        "script": (
            '<script>document.body.style.background = "url(data:image/jpeg;base64," + '
            f'"{b64}" + ")";</script>'
        ),
        "entity": f'<p><img alt="x" src="data&#58;image/jpeg;base64,{b64}"></p>',
    }


@pytest.fixture(scope="module")
def matcher() -> FaceMatcher:
    if not SHARED_FACES.is_dir():
        pytest.fail(f"the shared face photos are missing: expected them at {SHARED_FACES}")
    return FaceMatcher(SHARED_FACES / "people/biden/biden1.jpg")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    folder = tmp_path_factory.mktemp("registry")
    encodings = {"obama": reference_templates_of(SHARED_FACES / "people/obama/obama1.jpg")}
    return seed_registry(folder, encodings, people=("obama",))


@pytest.fixture(scope="module")
def face_cache(_session_face_cache):
    """The run's face cache for the passing builds and publish-time re-checks: it is
    content-addressed (the same photo is searched once, as publish reuses a build's faces,
    and the photos here are the ones other modules search too); the killed builds keep cold
    caches of their own."""
    return _session_face_cache


@pytest.fixture(scope="module")
def attacked_site(tmp_path_factory, registry, face_cache):
    work = tmp_path_factory.mktemp("attack")
    content = work / "content"
    files = attack_files()
    for name, data in files.items():
        path = content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    ok = content / "images/ok/speaker.jpg"
    ok.parent.mkdir(parents=True)
    shutil.copyfile(CONSENTED, ok)
    small = Image.open(UNCONSENTED).convert("RGB")
    small.thumbnail((200, 200))
    b64 = base64.b64encode(_jpeg(small)).decode()
    pages = attack_pages(b64)
    for slug, html in pages.items():
        write_article(content, slug, f"Text before.\n\n{html}\n\nText after.\n")
    write_article(content, "speaker", "![The speaker]({static}/images/ok/speaker.jpg)")
    build = build_site(content, work, "site", registry, face_cache, extra={"CONSENT_WORKERS": 1})
    return build, files, pages


def _bucket(local_s3, bucket) -> dict[str, bytes]:
    client = local_s3.client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def test_every_attack_file_really_carries_the_face(matcher):
    small = Image.open(UNCONSENTED).convert("RGB")
    small.thumbnail((200, 200))
    carriers = dict(attack_files())
    b64 = base64.b64encode(_jpeg(small)).decode()
    carriers.update({f"page {k}": v.encode() for k, v in attack_pages(b64).items()})
    blind = [name for name, data in carriers.items() if not matcher.shows(data)]
    assert blind == [], f"the leak detector cannot see the face in {blind}"
    assert not matcher.shows(CONSENTED.read_bytes())


def test_no_route_leaks_the_face_into_output_or_the_bucket(
    attacked_site, matcher, registry, local_s3, s3_bucket, monkeypatch, face_cache
):
    build, files, pages = attacked_site
    leaked = [
        path.relative_to(build.output).as_posix()
        for path in sorted(build.output.rglob("*"))
        if path.is_file() and matcher.shows(path.read_bytes())
    ]
    assert leaked == [], f"unconsented face in output/: {leaked}"

    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings = settings_for(s3_bucket, local_s3.endpoint_url)
    gate = _gate(registry, face_cache)
    result = publish(build.output, settings, registry_checker(gate), manifest_path(build.output))
    published = _bucket(local_s3, s3_bucket)
    assert result.uploaded == len(published) > 10
    leaked = [key for key, data in published.items() if matcher.shows(data)]
    assert leaked == [], f"unconsented face in the bucket: {leaked}"

    # The gate is not simply refusing everything: the consented photo went out, and the
    # pages that used the face still went out with a placeholder where it was.
    assert "images/ok/speaker.jpg" in published
    assert "news/2026/speaker/index.html" in published
    for name in files:
        assert name not in published or not matcher.shows(published[name]), name
    placeholders = sum(
        data.count(b'class="photo-withheld"')
        for key, data in published.items()
        if key.endswith(".html") and "/news/2026/" in f"/{key}"
    )
    assert placeholders >= 1


def test_published_content_types_come_from_the_bytes(attacked_site, local_s3, s3_bucket):
    build, _files, _pages = attacked_site
    manifest = read_manifest(manifest_path(build.output), build.output)
    types = {name: entry.content_type for name, entry in manifest.entries.items()}
    assert types["images/ok/speaker.jpg"] == "image/jpeg"
    assert types["index.html"].startswith("text/html")
    # Nothing the gate withheld is listed, and nothing listed is missing from output/.
    assert "images/attack/face.jfif" not in types
    for name in types:
        assert (build.output / name).is_file(), name


def test_a_build_without_the_gate_cannot_be_published(
    tmp_path, local_s3, s3_bucket, registry, face_cache
):
    content = tmp_path / "content"
    shutil.copyfile(UNCONSENTED, _mkdir(content / "images/news") / "visitor.jpg")
    write_article(content, "visitor", "![A visitor]({static}/images/news/visitor.jpg)")
    build = build_site(
        content, tmp_path, "off", registry, tmp_path / "cache", extra={"CONSENT_ENABLED": False}
    )
    assert (build.output / "images/news/visitor.jpg").is_file()
    assert not manifest_path(build.output).exists()
    with pytest.raises(PublishError, match="there is no publish manifest"):
        publish(
            build.output,
            settings_for(s3_bucket, local_s3.endpoint_url),
            registry_checker(_gate(registry, face_cache)),
            manifest_path(build.output),
        )
    assert _bucket(local_s3, s3_bucket) == {}


def test_files_added_or_changed_after_the_build_are_refused(
    tmp_path, local_s3, s3_bucket, registry, monkeypatch, face_cache
):
    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    content = tmp_path / "content"
    shutil.copyfile(CONSENTED, _mkdir(content / "images/news") / "speaker.jpg")
    write_article(content, "speaker", "![The speaker]({static}/images/news/speaker.jpg)")
    build = build_site(content, tmp_path, "late", registry, face_cache)
    shutil.copyfile(UNCONSENTED, build.output / "images/news/visitor.jpg")
    shutil.copyfile(UNCONSENTED, build.output / "images/news/speaker.jpg")
    with pytest.raises(PublishError, match="2 file\\(s\\) in the output were not passed") as err:
        publish(
            build.output,
            settings_for(s3_bucket, local_s3.endpoint_url),
            registry_checker(_gate(registry, face_cache)),
            manifest_path(build.output),
        )
    assert "images/news/visitor.jpg: not passed by the consent gate" in str(err.value)
    assert "images/news/speaker.jpg: changed since the consent gate checked it" in str(err.value)
    assert _bucket(local_s3, s3_bucket) == {}


def test_a_build_killed_during_the_gate_publishes_nothing_it_did_not_check(
    tmp_path, local_s3, s3_bucket, registry, monkeypatch, face_cache
):
    """Killed in the middle of the gate, a first build leaves nothing to publish; a rebuild
    killed the same way leaves the last checked site and its manifest as they were."""
    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    content = tmp_path / "content"
    folder = _mkdir(content / "images/many")
    # Six half-size photos, not twelve full ones: the good build checks every one (2-4 s of
    # face work each under load, measured), and the five left when the first is checked (where the
    # builds are killed) are still seconds of work against a 0.05 s poll.
    speaker = Image.open(CONSENTED)
    speaker = _jpeg(speaker.resize((speaker.width // 2, speaker.height // 2)))
    for i in range(6):  # distinct bytes, so each is face-checked
        (folder / f"speaker-{i:02d}.jpg").write_bytes(speaker + bytes([i]))
    write_article(content, "many", "Many photos.")
    output = tmp_path / "out-killed"

    def killed_build(cache: str) -> None:
        cmd = [
            sys.executable, "-m", "pelican", str(content), "-o", str(output),
            "-s", str(ROOT / "pelicanconf.py"), "-e",
            'PLUGINS=["consent_gate"]',
            f'CONSENT_MANIFEST_PATH="{manifest_path(output)}"',
            f'CONSENT_CACHE_DIR="{tmp_path / cache}"',
            f'CONSENT_REPORT_PATH="{tmp_path / "report-killed.json"}"',
            "CONSENT_WORKERS=1",
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **registry.env})
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(tmp_path.glob(f"{cache}/*/*/*.json")):
            time.sleep(0.05)  # the gate has checked its first photo: it is mid-way
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    killed_build("cache-first")
    assert not manifest_path(output).exists()
    with pytest.raises(PublishError, match="there is no publish manifest"):
        publish(
            output,
            settings_for(s3_bucket, local_s3.endpoint_url),
            registry_checker(_gate(registry, face_cache)),
            manifest_path(output),
        )
    assert _bucket(local_s3, s3_bucket) == {}

    good = build_site(content, tmp_path, "killed", registry, face_cache)
    before = {p: p.read_bytes() for p in good.output.rglob("*") if p.is_file()}
    manifest = manifest_path(output).read_bytes()
    killed_build("cache-second")
    assert {p: p.read_bytes() for p in output.rglob("*") if p.is_file()} == before
    assert manifest_path(output).read_bytes() == manifest
    result = publish(
        output,
        settings_for(s3_bucket, local_s3.endpoint_url),
        registry_checker(_gate(registry, face_cache)),
        manifest_path(output),
    )
    assert result.uploaded == len(before)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"CONSENT_TOLERANCE": 0.9}, "CONSENT_TOLERANCE = 0.9 is unsafe"),
        ({"CONSENT_IMAGE_EXTENSIONS": [".png"]}, "CONSENT_IMAGE_EXTENSIONS is set"),
        ({"PLUGINS": ["consent_gate", "site_alerts"]}, "is not the last of PLUGINS"),
    ],
)
def test_unsafe_settings_fail_the_build(tmp_path, registry, extra, message):
    content = tmp_path / "content"
    shutil.copyfile(UNCONSENTED, _mkdir(content / "images/news") / "visitor.jpg")
    write_article(content, "visitor", "![A visitor]({static}/images/news/visitor.jpg)")
    build = build_site(
        content, tmp_path, "unsafe", registry, tmp_path / "cache", extra=extra, check=False
    )
    assert build.returncode != 0
    assert message in build.log
    assert not manifest_path(build.output).exists()
    assert not (build.output / "images/news/visitor.jpg").exists()


def test_a_cache_inside_the_output_is_refused(tmp_path, registry):
    content = tmp_path / "content"
    shutil.copyfile(CONSENTED, _mkdir(content / "images/news") / "speaker.jpg")
    write_article(content, "speaker", "![The speaker]({static}/images/news/speaker.jpg)")
    output = tmp_path / "out-inside"
    build = build_site(content, tmp_path, "inside", registry, output / "cache", check=False)
    assert build.returncode != 0
    assert "CONSENT_CACHE_DIR" in build.log and "inside the output folder" in build.log
    assert not (output / "cache").exists() or not any((output / "cache").rglob("*.json"))


def test_publish_refuses_settings_without_the_gate(tmp_path, local_s3, s3_bucket):
    from s3_publish.cli import main

    conf = tmp_path / "conf.py"
    conf.write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom pelicanconf import *\n"
        'PLUGINS = ["site_alerts"]\n'
        f"S3_BUCKET = {s3_bucket!r}\nS3_ENDPOINT_URL = {local_s3.endpoint_url!r}\n"
        f"OUTPUT_PATH = {str(tmp_path / 'output')!r}\n"
    )
    (tmp_path / "output").mkdir()
    assert main(["--settings", str(conf), "--quiet"]) == 1
    assert _bucket(local_s3, s3_bucket) == {}


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def _gate(registry, cache):
    from consent_registry.settings import GateSettings

    return GateSettings.from_mapping(
        {
            "CONSENT_REGISTRY": str(registry.path),
            "CONSENT_KEY_FILE": str(registry.key_file),
            "CONSENT_CACHE_DIR": str(cache),
            "CONSENT_WORKERS": 1,
        }
    )


GROUP = SHARED_FACES / "groups/obama_and_biden.jpg"  # S1001 with a person who has no record


def _publish_to(bucket, local_s3, registry, output, face_cache):
    return publish(
        output,
        settings_for(bucket, local_s3.endpoint_url),
        registry_checker(_gate(registry, face_cache)),
        manifest_path(output),
    )


def _group_site(tmp_path, registry, name, cache):
    content = tmp_path / "content"
    if not content.exists():
        shutil.copyfile(GROUP, _mkdir(content / "images/news") / "group.jpg")
        write_article(content, "group", "![Two visitors]({static}/images/news/group.jpg)")
    return build_site(content, tmp_path, name, registry, cache)


@pytest.fixture(scope="module")
def group_sha256(tmp_path_factory, registry, face_cache) -> str:
    """The group photo's hash as a build that withholds it reports it (one of its two people
    has no record), built once for the two tests below: they approve the photo by it."""
    withheld = _group_site(tmp_path_factory.mktemp("group"), registry, "before", face_cache)
    entry = withheld.image("images/news/group.jpg")
    assert entry["verdict"] == "withhold"
    return entry["sha256"]


def test_an_approval_no_longer_holds_once_a_person_it_names_is_revoked(
    tmp_path,
    local_s3,
    s3_bucket,
    encodings_registry,
    monkeypatch,
    matcher,
    face_cache,
    group_sha256,
):
    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    registry = encodings_registry(tmp_path / "registry")
    sha256 = group_sha256
    with registry.open() as reg:
        reg.approve(sha256, by="M. Chen", reason="both families agreed", shows=("S1001",))
    approved = _group_site(tmp_path, registry, "approved", face_cache)
    assert approved.image("images/news/group.jpg")["verdict"] == "publish"
    _publish_to(s3_bucket, local_s3, registry, approved.output, face_cache)
    assert "images/news/group.jpg" in _bucket(local_s3, s3_bucket)

    with registry.open() as reg:
        reg.revoke("S1001")
    # No rebuild: the publish-time re-check alone takes the photo down.
    result = _publish_to(s3_bucket, local_s3, registry, approved.output, face_cache)
    assert [t.name for t in result.plan.takedowns] == ["images/news/group.jpg"]
    published = _bucket(local_s3, s3_bucket)
    assert "images/news/group.jpg" not in published
    assert not any(matcher.shows(data) for data in published.values())


def test_rows_written_without_the_key_publish_nothing(
    tmp_path, local_s3, s3_bucket, encodings_registry, monkeypatch, face_cache, group_sha256
):
    import sqlite3
    from datetime import UTC, datetime

    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    registry = encodings_registry(tmp_path / "registry")
    sha256 = group_sha256
    with sqlite3.connect(registry.path) as db:  # an approval forged with plain sqlite3
        columns = [row[1] for row in db.execute("PRAGMA table_info(approvals)")]
        values = {
            "sha256": sha256,
            "approved_by": "someone",
            "reason": "forged",
            "approved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        db.execute(
            f"INSERT INTO approvals ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
            list(values.values()),
        )
        assert set(values) <= set(columns)
    after = _group_site(tmp_path, registry, "forged", face_cache)
    assert after.image("images/news/group.jpg")["verdict"] == "withhold"
    _publish_to(s3_bucket, local_s3, registry, after.output, face_cache)
    assert "images/news/group.jpg" not in _bucket(local_s3, s3_bucket)


@pytest.fixture
def encodings_registry():
    encodings = {"obama": reference_templates_of(SHARED_FACES / "people/obama/obama1.jpg")}

    def make(folder):
        return seed_registry(folder, encodings, people=("obama",))

    return make
