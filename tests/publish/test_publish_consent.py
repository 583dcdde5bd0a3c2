"""The publish-time consent re-check with the real registry and face engine, against the
real SeaweedFS server: a revoked consent takes the photo and its derivatives down."""

from __future__ import annotations

import io
import shutil

import pytest
from consent_registry.registry import Registry
from consent_registry.settings import GateSettings
from PIL import Image
from s3_publish.consent import registry_checker
from s3_publish.errors import PublishError
from s3_publish.sync import publish

from tests.publish.publish_helpers import (
    PAGES_AND_ASSETS,
    gate_manifest,
    reference_templates_of,
    settings_for,
    write_site,
)

pytestmark = pytest.mark.s3

PHOTO = "images/gallery/obama2.jpg"
DERIVATIVE = "images/gallery/obama2-480w.jpg"


@pytest.fixture
def gate(tmp_path, monkeypatch, _session_face_cache):
    """A registry of the test's own; the face cache is the run's (content-addressed: the
    photo and its derivative are scanned once, not by every test)."""
    for key in ("CONSENT_REGISTRY", "CONSENT_KEY_FILE"):
        monkeypatch.delenv(key, raising=False)
    return GateSettings.from_mapping(
        {
            "CONSENT_REGISTRY": str(tmp_path / "consent" / "registry.sqlite3"),
            "CONSENT_KEY_FILE": str(tmp_path / "consent" / "consent.key"),
            "CONSENT_CACHE_DIR": str(_session_face_cache),
            "CONSENT_WORKERS": 1,
        }
    )


@pytest.fixture
def consented_student(gate, shared_faces):
    templates = reference_templates_of(shared_faces / "people/obama/obama1.jpg")
    with Registry.open(gate.registry, gate.key_file) as registry:
        registry.add("S1001", "Sam Student", templates)
    return "S1001"


@pytest.fixture
def photo_site(tmp_path, shared_faces):
    site = write_site(tmp_path / "output", PAGES_AND_ASSETS)
    photo = site / PHOTO
    photo.parent.mkdir(parents=True)
    shutil.copyfile(shared_faces / "people/obama/obama2.jpg", photo)
    smaller = io.BytesIO()
    Image.open(photo).resize((480, 920)).save(smaller, "JPEG", quality=85)
    (site / DERIVATIVE).write_bytes(smaller.getvalue())
    return site


@pytest.fixture
def env(local_s3, monkeypatch):
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    return local_s3.env()


def keys(local_s3, bucket) -> set[str]:
    pages = local_s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for p in pages for o in p.get("Contents", [])}


def test_revoked_consent_takes_the_photo_and_its_derivatives_down(
    env, local_s3, s3_bucket, gate, consented_student, photo_site
):
    settings = settings_for(s3_bucket, env["S3_ENDPOINT_URL"], S3_MAX_DELETES=0)
    first = publish(photo_site, settings, registry_checker(gate), gate_manifest(photo_site))
    assert first.plan.withheld == []
    assert {PHOTO, DERIVATIVE} <= keys(local_s3, s3_bucket)

    with Registry.open(gate.registry, gate.key_file) as registry:
        registry.revoke(consented_student)
    # The build has since dropped the smaller copy, but the original is still in output/
    # (as after a build that ran before the revocation): both must go.
    (photo_site / DERIVATIVE).unlink()
    again = publish(photo_site, settings, registry_checker(gate), gate_manifest(photo_site))

    assert {t.key for t in again.plan.takedowns} == {PHOTO, DERIVATIVE}
    assert again.takedowns == 2 and again.uploaded == 0
    assert keys(local_s3, s3_bucket) == set(PAGES_AND_ASSETS)
    lines = again.summary().splitlines()
    assert lines[0] == (
        f"Published to s3://{s3_bucket}/: 0 uploaded, 2 deleted (2 takedowns), "
        f"{len(PAGES_AND_ASSETS)} unchanged."
    )
    assert any(line.startswith(f"  takedown {PHOTO}: ") for line in lines)
    assert any(line.startswith(f"  takedown {DERIVATIVE}: ") for line in lines)
    assert any(line.startswith(f"  withheld {PHOTO}: ") for line in lines)


def test_photo_without_consent_is_never_uploaded(env, local_s3, s3_bucket, gate, photo_site):
    # A registry with nobody in it: the face matches no record.
    Registry.open(gate.registry, gate.key_file).close()
    settings = settings_for(s3_bucket, env["S3_ENDPOINT_URL"])
    result = publish(photo_site, settings, registry_checker(gate), gate_manifest(photo_site))
    assert {d.name for d in result.plan.withheld} == {PHOTO, DERIVATIVE}
    assert keys(local_s3, s3_bucket) == set(PAGES_AND_ASSETS)


def test_missing_registry_fails_closed(env, local_s3, s3_bucket, gate, photo_site):
    settings = settings_for(s3_bucket, env["S3_ENDPOINT_URL"])
    with pytest.raises(
        PublishError, match="there is no consent registry at .*nothing was published"
    ):
        publish(photo_site, settings, registry_checker(gate), gate_manifest(photo_site))
    assert keys(local_s3, s3_bucket) == set()
    assert not gate.registry.exists()


def test_registry_with_the_wrong_key_fails_closed(
    env, local_s3, s3_bucket, gate, consented_student, photo_site, tmp_path
):
    from dataclasses import replace

    wrong_key = replace(gate, key_file=tmp_path / "other.key")
    wrong_key.key_file.write_bytes(gate.key_file.read_bytes()[::-1])
    settings = settings_for(s3_bucket, env["S3_ENDPOINT_URL"])
    with pytest.raises(PublishError, match="cannot open the consent registry"):
        publish(photo_site, settings, registry_checker(wrong_key), gate_manifest(photo_site))
    assert keys(local_s3, s3_bucket) == set()
