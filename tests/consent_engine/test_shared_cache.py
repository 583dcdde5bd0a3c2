"""A district's shared face cache, on a real SeaweedFS server on 127.0.0.1 with the real
face models: a photo scanned by one machine is not scanned by another; what the bucket
holds reveals neither faces nor photos; an entry that was changed, moved, sealed with
another key or written by hand is never trusted; an unreachable store only costs time."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from consent_registry.settings import GateSettings, SettingsError
from face_engine import batch, decision
from face_engine.batch import check_files
from face_engine.cache import FaceCache
from face_engine.model import PUBLISH, WITHHOLD
from face_engine.shared_cache import SharedCacheError, new_key, open_store, parse_location
from s3_publish.local_s3 import LocalS3

from .conftest import record, snapshot

PHOTO = "people/obama/obama2.jpg"


@pytest.fixture(scope="module")
def local_s3(tmp_path_factory):
    """A real SeaweedFS server on 127.0.0.1 for this module only: stopped after it, so the
    rest of the session does not run beside one more server."""
    with LocalS3(tmp_path_factory.mktemp("shared-cache-s3")) as server:
        yield server


@pytest.fixture
def district(tmp_path, local_s3, monkeypatch):
    """Settings of two machines sharing one store, and the store's bucket."""
    for name, value in local_s3.env().items():
        monkeypatch.setenv(name, value)
    bucket = f"faces-{uuid.uuid4().hex[:10]}"
    local_s3.create_bucket(bucket)
    key_file = new_key(tmp_path / "district.key")

    def machine(name: str) -> GateSettings:
        base = GateSettings.from_mapping(
            {
                "CONSENT_SHARED_CACHE": f"s3://{bucket}/faces",
                "CONSENT_SHARED_CACHE_KEY_FILE": str(key_file),
                "CONSENT_SHARED_CACHE_ENDPOINT": local_s3.endpoint_url,
            }
        )
        return replace(base, cache_dir=tmp_path / name / "cache", workers=1)

    return machine, bucket, key_file


def _objects(local_s3, bucket: str) -> dict[str, bytes]:  # noqa: F811
    client = local_s3.client()
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def _no_scanning(monkeypatch) -> list[str]:
    scanned: list[str] = []

    def scan(path, encode, name):
        scanned.append(name)
        raise AssertionError(f"{name} was scanned although the shared cache holds it")

    monkeypatch.setattr(batch, "_detect_job", scan)
    return scanned


def test_a_photo_scanned_on_one_machine_is_not_scanned_on_another(
    district,
    local_s3,  # noqa: F811
    shared_faces,
    templates,
    monkeypatch,
):
    machine, bucket, _ = district
    photo = shared_faces / PHOTO
    snap = snapshot(record("obama", *templates["obama"]))
    first = FaceCache.for_settings(machine("a"))
    (verdict_a,) = check_files([photo], snap, machine("a"), progress=False, cache=first)
    assert verdict_a.verdict == PUBLISH and first.shared_writes == 1

    # What the bucket holds: one sealed entry, named without the photo's hash.
    ((name, blob),) = _objects(local_s3, bucket).items()
    assert name.startswith("faces/") and verdict_a.sha256 not in name
    assert verdict_a.sha256.encode() not in blob and b"encoding" not in blob
    local_entry = first.path_for(verdict_a.sha256).read_bytes()
    assert json.loads(local_entry)["faces"] and local_entry[:40] not in blob

    scanned = _no_scanning(monkeypatch)
    second = FaceCache.for_settings(machine("b"))
    (verdict_b,) = check_files([photo], snap, machine("b"), progress=False, cache=second)
    assert scanned == [] and second.shared_hits == 1
    assert verdict_b.verdict == PUBLISH
    assert [f.person_id for f in verdict_b.faces] == [f.person_id for f in verdict_a.faces]
    assert second.path_for(verdict_a.sha256).read_bytes() == local_entry


def test_entries_not_sealed_for_the_photo_with_the_district_key_are_never_trusted(
    district,
    local_s3,  # noqa: F811
    shared_faces,
    templates,
    tmp_path,
    caplog,
):
    """A hostile writer to the bucket tries to publish an unconsented face: an entry saying
    "no face" sealed with another key, one moved from a photo without faces, and a changed
    one. Each is refused and the photo is scanned (and withheld)."""
    machine, bucket, key_file = district
    stranger = shared_faces / PHOTO  # no record for him in this registry
    sha256 = decision._sha256(stranger.read_bytes())
    empty_photo = tmp_path / "empty.png"
    from .conftest import png_bytes

    empty_photo.write_bytes(png_bytes())
    settings = machine("a")
    store = open_store(settings.shared_cache, key_file, settings.shared_cache_endpoint)
    version = FaceCache(settings.cache_dir).version_key
    target = store.name(version, sha256)
    model_version = FaceCache(settings.cache_dir).model_version
    no_face = json.dumps(
        {
            "format": 2,
            "model_version": model_version,
            "sha256": sha256,
            "encoded": True,
            "faces": [],
        }
    ).encode()
    client = local_s3.client()
    snap = snapshot()

    # 1. Sealed with another key.
    foreign = replace(store, key=b"\x01" * 32)  # its own name and seal keys
    client.put_object(Bucket=bucket, Key=target, Body=foreign.seal(version, sha256, no_face))
    # 2. The district's real entry of a photo without faces, copied to the stranger's name.
    check_files([empty_photo], snap, machine("empty"), progress=False)
    empty_name = store.name(version, decision._sha256(empty_photo.read_bytes()))
    moved = client.get_object(Bucket=bucket, Key=empty_name)["Body"].read()
    # 3. A changed byte of a real sealed entry.
    genuine = store.seal(version, sha256, no_face)
    changed = genuine[:-1] + bytes([genuine[-1] ^ 1])

    for n, blob in enumerate((None, moved, changed)):
        if blob is not None:
            client.put_object(Bucket=bucket, Key=target, Body=blob)
        cache = FaceCache.for_settings(machine(f"victim-{n}"))
        with caplog.at_level(logging.WARNING):
            (verdict,) = check_files(
                [stranger], snap, machine(f"victim-{n}"), progress=False, cache=cache
            )
        assert cache.shared_hits == 0, n
        assert verdict.verdict == WITHHOLD and verdict.faces, n
        assert "did not open" in caplog.text
        caplog.clear()
        # The scan replaced the bad entry with the district's real one.
        real = client.get_object(Bucket=bucket, Key=target)["Body"].read()
        assert store.unseal(version, sha256, real) is not None


def test_an_unreachable_store_only_costs_time(shared_faces, templates, tmp_path, caplog):
    key_file = new_key(tmp_path / "district.key")
    settings = replace(
        GateSettings.from_mapping(
            {
                "CONSENT_SHARED_CACHE": "s3://district-faces/x",
                "CONSENT_SHARED_CACHE_KEY_FILE": str(key_file),
                # A closed port on this machine: connection refused at once.
                "CONSENT_SHARED_CACHE_ENDPOINT": "http://127.0.0.1:9",
            }
        ),
        cache_dir=tmp_path / "cache",
        workers=1,
    )
    snap = snapshot(record("obama", *templates["obama"]))
    with caplog.at_level(logging.WARNING):
        (verdict,) = check_files([shared_faces / PHOTO], snap, settings, progress=False)
    assert verdict.verdict == PUBLISH
    assert caplog.text.count("scanned on this machine only") == 1
    assert "s3://district-faces/x/" in caplog.text


def test_a_missing_key_says_what_to_do_and_scans_locally(tmp_path, caplog):
    settings = replace(
        GateSettings.from_mapping(
            {
                "CONSENT_SHARED_CACHE": "s3://district-faces/x",
                "CONSENT_SHARED_CACHE_KEY_FILE": str(tmp_path / "nowhere.key"),
            }
        ),
        cache_dir=tmp_path / "cache",
    )
    with caplog.at_level(logging.WARNING):
        cache = FaceCache.for_settings(settings)
    assert cache.shared is None
    assert "nowhere.key does not exist" in caplog.text and "consent shared-cache-key" in caplog.text


def test_a_key_is_made_once_and_readable_by_its_owner_only(tmp_path):
    path = new_key(tmp_path / "keys" / "district.key")
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(SharedCacheError, match="copy that file"):
        new_key(path)


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("district-faces", "not an S3 location"),
        ("s3:///faces", "not an S3 location"),
        ("s3://school-site-www/face-cache", "bucket the site is published to"),
    ],
)
def test_a_shared_cache_in_the_wrong_place_is_refused(location, message):
    with pytest.raises(SettingsError, match=message):
        GateSettings.from_mapping(
            {"CONSENT_SHARED_CACHE": location, "S3_BUCKET": "school-site-www"}
        )


def test_locations_name_a_bucket_and_a_prefix():
    assert parse_location("s3://district-faces") == ("district-faces", "")
    assert parse_location("s3://district-faces/a/b/") == ("district-faces", "a/b/")
    assert Path(GateSettings.from_mapping({}).shared_cache_key_file).name == "shared-cache.key"
