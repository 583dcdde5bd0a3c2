"""What a warm rebuild skips, and why that never publishes unchecked bytes: the built-photo
index (site_gate.inventory), re-encoded copies linked into place (site_gate.raster),
remembered verdicts (site_gate.memo) and the cache's upkeep (site_gate.cache_upkeep).
Unit tests, no face models."""

from __future__ import annotations

import io
import os
import shutil
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from consent_registry.settings import GateSettings
from face_engine.model import (
    PUBLISH,
    WITHHOLD,
    ConsentRecord,
    FaceBox,
    FaceResult,
    Verdict,
    sha256_bytes,
)
from PIL import ExifTags, Image
from site_gate import cache_upkeep
from site_gate.inventory import BuiltPhotos, inventory
from site_gate.memo import VerdictMemo, memo_key
from site_gate.output_scan import names_in, student_name_tokens
from site_gate.raster import RasterError, ReencodeCache, reencode
from site_gate.sniff import Kind


def _jpeg(seed: int, gps: bool = False, size: tuple[int, int] = (64, 48)) -> bytes:
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    params = {}
    if gps:
        exif = image.getexif()
        exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] = "N"
        params["exif"] = exif
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **params)
    return buffer.getvalue()


def _same_size_other_picture(data: bytes, seed: int) -> bytes:
    """Other pixels in exactly as many bytes (a JPEG comment pads it)."""
    other = _jpeg(seed, size=(32, 24))
    assert len(other) < len(data)
    pad = len(data) - len(other) - 4
    return other[:2] + b"\xff\xfe" + (pad + 2).to_bytes(2, "big") + b"x" * pad + other[2:]


def _build(content_file: Path, output: Path, rel: str = "images/a.jpg") -> Path:
    """What Pelican does with a static file: a fresh copy (a new modification time)."""
    target = output / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    shutil.copyfile(content_file, target)
    return target


def test_a_photo_changed_with_its_time_set_back_publishes_the_pixels_checked(tmp_path):
    output, site = tmp_path / "output", tmp_path / "cache" / "sites" / "one"
    content = tmp_path / "content" / "images" / "a.jpg"
    content.parent.mkdir(parents=True)
    original = _jpeg(1, gps=True)
    content.write_bytes(original)
    stat = os.stat(content)
    sources = {"images/a.jpg": content}
    photo = _build(content, output)
    built = BuiltPhotos(site, sources)
    [first] = inventory(output, built)
    assert (first.kind, first.sha256, first.unread) == (Kind.RASTER, sha256_bytes(original), False)
    built.save()
    copies = ReencodeCache(tmp_path / "cache" / "published")
    placed = copies.place(photo, first.sha256, first.rel)
    copies.save()
    assert photo.read_bytes() == reencode(original)
    assert placed.sha256 == sha256_bytes(photo.read_bytes())
    assert placed.content_type == "image/jpeg"

    # The next build copies the same content file again: taken unread.
    _build(content, output)
    [again] = inventory(output, BuiltPhotos(site, sources))
    assert again.unread and again.sha256 == first.sha256

    # A hostile edit of the content file: other pixels, same size, its time set back. The
    # index takes it for the old bytes, and what is placed is the old bytes' checked copy,
    # never the new ones.
    forged = _same_size_other_picture(original, seed=2)
    assert len(forged) == len(original)
    content.write_bytes(forged)
    os.utime(content, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    photo = _build(content, output)
    [taken] = inventory(output, BuiltPhotos(site, sources))
    assert taken.unread and taken.sha256 == first.sha256
    ReencodeCache(tmp_path / "cache" / "published").place(photo, taken.sha256, taken.rel)
    assert photo.read_bytes() == reencode(original)

    # With no checked copy cached, the re-encoder reads the file and refuses it.
    photo = _build(content, output)
    with pytest.raises(RasterError, match="changed while the gate was checking it"):
        ReencodeCache(tmp_path / "other-cache").place(photo, taken.sha256, taken.rel)


def _built_once(tmp_path: Path) -> tuple[Path, Path, Path, dict[str, Path]]:
    """A photo built once and recorded in its site's index: (output, site cache, content
    file, sources)."""
    output, site = tmp_path / "output", tmp_path / "cache" / "sites" / "one"
    content = tmp_path / "content.jpg"
    content.write_bytes(_jpeg(1))
    sources = {"images/a.jpg": content}
    _build(content, output)
    built = BuiltPhotos(site, sources)
    inventory(output, built)
    built.save()
    return output, site, content, sources


def test_a_changed_photo_is_read_again(tmp_path):
    output, site, content, sources = _built_once(tmp_path)
    assert inventory(output, BuiltPhotos(site, sources))[0].unread

    content.write_bytes(_jpeg(3))  # edited: a new modification time
    _build(content, output)
    [found] = inventory(output, BuiltPhotos(site, sources))
    assert not found.unread and found.sha256 == sha256_bytes(_jpeg(3))
    built = BuiltPhotos(site, sources)
    inventory(output, built)
    built.save()
    # Written over by something else after the copy (another size): read again.
    (output / "images" / "a.jpg").write_bytes(_jpeg(3) + b"more")
    assert not inventory(output, BuiltPhotos(site, sources))[0].unread
    _build(content, output)
    assert inventory(output, BuiltPhotos(site, sources))[0].unread
    # Not copied from a content file (another plugin wrote it), or no site folder: read.
    assert not inventory(output, BuiltPhotos(site, {}))[0].unread
    assert not inventory(output, BuiltPhotos(None, sources))[0].unread


def test_a_photo_not_copied_is_taken_from_the_index_and_copied_only_when_needed(tmp_path):
    output, site, content, sources = _built_once(tmp_path)
    shutil.rmtree(output)
    output.mkdir()
    assert BuiltPhotos(site, sources).unchanged_photos() == {"images/a.jpg"}

    # Not copied: listed unread from the index, as a file to come.
    built = BuiltPhotos(site, sources, uncopied={"images/a.jpg"})
    [photo] = inventory(output, built)
    assert (photo.rel, photo.kind, photo.unread, photo.on_disk) == (
        "images/a.jpg",
        Kind.RASTER,
        True,
        False,
    )
    assert photo.sha256 == sha256_bytes(_jpeg(1)) and not photo.path.exists()
    # Its bytes needed (no cached re-encoding, a blur): copied, and checked against the hash.
    built.copy_in(photo)
    assert photo.on_disk and photo.path.read_bytes() == _jpeg(1)

    # Changed after Pelican was told to skip it, with its time set back: the copy made when
    # the bytes are needed no longer hashes as decided, and is refused and removed.
    photo = inventory(tmp_path / "empty", BuiltPhotos(site, sources, {"images/a.jpg"}))[0]
    stat = os.stat(content)
    content.write_bytes(_same_size_other_picture(_jpeg(1), 9))
    os.utime(content, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(OSError, match="changed during the build: rebuild"):
        built.copy_in(photo)
    assert not photo.path.exists()

    # Changed visibly (a new time) before the inventory: copied and read like any file.
    content.write_bytes(_jpeg(3))
    built = BuiltPhotos(site, sources, uncopied={"images/a.jpg"})
    assert built.unchanged_photos() == set()
    [photo] = inventory(tmp_path / "fresh", built)
    assert (photo.unread, photo.on_disk, photo.sha256) == (False, True, sha256_bytes(_jpeg(3)))
    # A file another writer put at that path is read, whatever the index says.
    other = tmp_path / "other" / "images" / "a.jpg"
    other.parent.mkdir(parents=True)
    other.write_bytes(_jpeg(5))
    [photo] = inventory(tmp_path / "other", BuiltPhotos(site, sources, {"images/a.jpg"}))
    assert (photo.on_disk, photo.sha256) == (True, sha256_bytes(_jpeg(5)))
    # Only paths with a content file can be left uncopied.
    assert BuiltPhotos(site, {}, uncopied={"images/a.jpg"}).uncopied == frozenset()


def test_cached_copies_are_linked_read_only_and_redone_when_changed_in_place(tmp_path):
    original = _jpeg(4, gps=True)
    source = sha256_bytes(original)
    copies = ReencodeCache(tmp_path / "published")
    outputs = []
    for name in ("one", "two"):
        photo = tmp_path / name / "a.jpg"
        photo.parent.mkdir()
        photo.write_bytes(original)
        copies.place(photo, source, "a.jpg")
        outputs.append(photo)
    copies.save()
    cached = copies.directory / source[:2] / source
    assert os.stat(outputs[0]).st_ino == os.stat(outputs[1]).st_ino == os.stat(cached).st_ino
    assert not os.stat(cached).st_mode & 0o222  # read-only

    # Changed in place through a link in an output folder (as root, or after a chmod):
    # the record no longer matches, so the next build re-encodes instead of trusting it.
    os.chmod(outputs[0], 0o644)
    with open(outputs[0], "r+b") as handle:
        handle.write(b"\xff\xd8\xff\xfeBAD")
    later = time.time() + 5
    os.utime(cached, (later, later))
    fresh = tmp_path / "three" / "a.jpg"
    fresh.parent.mkdir()
    fresh.write_bytes(original)
    placed = ReencodeCache(tmp_path / "published").place(fresh, source, "a.jpg")
    assert fresh.read_bytes() == reencode(original)
    assert placed.sha256 == sha256_bytes(reencode(original))


def _settings(tmp_path: Path, **changes) -> GateSettings:
    registry, key = tmp_path / "registry.sqlite3", tmp_path / "consent.key"
    if not registry.exists():
        registry.write_bytes(b"rows")
        key.write_bytes(b"k" * 32)
    base = GateSettings.from_mapping(
        {"CONSENT_REGISTRY": str(registry), "CONSENT_KEY_FILE": str(key)}
    )
    return replace(base, registry=registry, key_file=key, cache_dir=tmp_path / "cache", **changes)


def test_the_memo_key_changes_with_everything_a_verdict_depends_on(tmp_path, monkeypatch):
    monkeypatch.delenv("CONSENT_REGISTRY", raising=False)
    monkeypatch.delenv("CONSENT_KEY_FILE", raising=False)
    settings = _settings(tmp_path)
    today = date(2026, 11, 27)
    key = memo_key(settings, today, "model-1")
    assert memo_key(settings, today, "model-1") == key
    changed = {
        "another day": memo_key(settings, date(2026, 11, 28), "model-1"),
        "another model": memo_key(settings, today, "model-2"),
        "another tolerance": memo_key(replace(settings, tolerance=0.5), today, "model-1"),
        "another scope": memo_key(replace(settings, scope="print"), today, "model-1"),
        "blur": memo_key(replace(settings, blur=True), today, "model-1"),
        "detect-only": memo_key(replace(settings, mode="detect-only"), today, "model-1"),
    }
    assert key not in changed.values(), changed
    settings.registry.write_bytes(b"rows, one revoked")  # any write to the registry
    assert memo_key(settings, today, "model-1") != key
    wal = settings.registry.with_name(settings.registry.name + "-wal")
    before = memo_key(settings, today, "model-1")
    wal.write_bytes(b"a write not yet checkpointed")
    assert memo_key(settings, today, "model-1") != before
    settings.key_file.write_bytes(b"j" * 32)
    assert memo_key(settings, today, "model-1") not in (key, before)


def test_the_memo_gives_back_verdicts_under_its_key_only_and_holds_no_name(tmp_path):
    records = [
        ConsentRecord("S1", "Avery Quintero", "student", frozenset({"website"}), None,
                      False, False, ()),
    ]  # fmt: skip
    verdict = Verdict(
        "images/a.jpg",
        "ab" * 32,
        WITHHOLD,
        ["1 unknown face"],
        [FaceResult(FaceBox(1, 20, 30, 2), None, 0.71, None, False, "unknown face")],
        blurred=[FaceBox(3, 9, 9, 3)],
    )
    memo = VerdictMemo("key-1", "fingerprint", True, student_name_tokens(records))
    memo.remember(verdict, ("S1",))
    verdict.verdict = PUBLISH  # later changes to the object are not remembered
    memo.save(tmp_path)
    text = (tmp_path / "verdict-memo.json").read_text()
    assert "Avery" not in text and "quintero" not in text.lower()

    loaded = VerdictMemo.load(tmp_path, "key-1")
    assert loaded.complete and loaded.fingerprint == "fingerprint"
    got = loaded.get("ab" * 32, "images/a.jpg")
    assert got.verdict.verdict == WITHHOLD and got.persons == ("S1",)
    assert got.verdict.to_json() == {**verdict.to_json(), "verdict": WITHHOLD}
    assert loaded.get("ab" * 32, "images/b.jpg") is None  # same bytes, another path
    assert names_in("Field day with Quintero family", loaded.names) == ["quintero"]
    assert not VerdictMemo.load(tmp_path, "key-2").complete  # another registry state

    (tmp_path / "verdict-memo.json").write_text('{"key": "key-1", "names": 3}')
    assert not VerdictMemo.load(tmp_path, "key-1").complete


def _entry(folder: Path, sha: str, age_days: float, now: float, size: int = 100) -> Path:
    path = folder / sha[:2] / sha
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (now - age_days * 86400, now - age_days * 86400))
    return path


def test_pruning_keeps_what_any_recent_site_uses(tmp_path):
    cache, now = tmp_path / "cache", time.time()
    faces, copies = cache / ("f" * 16), cache / "published" / ("v" + "a" * 12)
    old_faces = cache / ("0" * 16)  # an earlier face-engine version
    used, other_site, unused, fresh = "a" * 64, "b" * 64, "c" * 64, "d" * 64
    kept = [_entry(faces, used, 40, now), _entry(copies, used, 40, now)]
    kept += [_entry(faces, other_site, 40, now), _entry(faces, fresh, 0.1, now)]
    gone = [_entry(faces, unused, 40, now), _entry(copies, unused, 40, now)]
    gone += [_entry(old_faces, used, 40, now)]
    cache_upkeep.record_use(cache, tmp_path / "site-a", {used})
    cache_upkeep.record_use(cache, tmp_path / "site-b", {other_site})
    stale = cache_upkeep.record_use(cache, tmp_path / "site-c", {unused})
    os.utime(stale, (now - 31 * 86400, now - 31 * 86400))  # a site not built for a month
    assert stale.parent == cache_upkeep.site_folder(cache, tmp_path / "site-c")

    pruned = cache_upkeep.prune(cache, {faces, copies}, keep_days=30, max_bytes=1 << 30, now=now)
    assert all(path.exists() for path in kept)
    assert not any(path.exists() for path in gone)
    assert pruned.files == len(gone) and pruned.bytes_freed == 100 * len(gone)
    assert not stale.parent.exists()  # the site's folder went with it

    # Over the cap, the oldest site's photos go first; the newest site's stay.
    site_b = cache_upkeep.site_folder(cache, tmp_path / "site-b") / cache_upkeep.LEDGER
    os.utime(site_b, (now - 86400, now - 86400))
    cache_upkeep.prune(cache, {faces, copies}, keep_days=30, max_bytes=500, now=now)
    assert (faces / used[:2] / used).exists()
    assert not (faces / other_site[:2] / other_site).exists()


def test_pruning_runs_once_a_day(tmp_path):
    cache, now = tmp_path / "cache", time.time()
    cache.mkdir()
    calls = []

    def current(folder: Path) -> set[Path]:
        calls.append(folder)
        return set()

    assert cache_upkeep.prune_if_due(cache, current, 30, 1 << 30, now=now) is not None
    assert cache_upkeep.prune_if_due(cache, current, 30, 1 << 30, now=now + 60) is None
    assert cache_upkeep.prune_if_due(cache, current, 30, 1 << 30, now=now + 2 * 86400)
    assert len(calls) == 2
