"""Takedowns under faults, against the real SeaweedFS server with the real registry and
face engine: a takedown follows what must not be online (the withheld files and the
publish log), not the bucket's listing; a failed delete names the photos still online;
the pages that showed a taken-down photo go up again with the placeholder; a photo whose
face work is not cached is decided from the persons the build recorded, never rescanned."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
from botocore.exceptions import ClientError
from consent_registry.registry import Registry
from consent_registry.settings import GateSettings
from s3_publish.consent import registry_checker
from s3_publish.errors import PublishError
from s3_publish.publish_log import PublishLog, log_path_for
from s3_publish.sync import publish

from tests.consent_gate_build.gate_helpers import no_face_image
from tests.publish.publish_helpers import (
    PAGES_AND_ASSETS,
    gate_manifest,
    reference_templates_of,
    settings_for,
    write_site,
)

pytestmark = pytest.mark.s3

PHOTO = "images/gallery/obama2.jpg"
ARTICLE = "news/2026/science-fair/index.html"
ALT = "Sam Student holding the volcano at the science fair"
ARTICLE_HTML = (
    "<!doctype html><html><head><title>Science fair</title></head><body><main>"
    "<h1>Science fair</h1><p>Projects from every class.</p>"
    f'<p><img src="../../../{PHOTO}" alt="{ALT}" width="480"></p>'
    "<p>Thanks to every family who came.</p></main></body></html>"
)


@pytest.fixture
def gate(tmp_path, monkeypatch, _session_face_cache):
    """A registry of the test's own; the face cache is the run's (content-addressed: the
    same photo is scanned once, not by every test), except where a cold one is the point."""
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
def student(gate, shared_faces):
    templates = reference_templates_of(shared_faces / "people/obama/obama1.jpg")
    with Registry.open(gate.registry, gate.key_file) as registry:
        registry.add("S1001", "Sam Student", templates)
    return "S1001"


@pytest.fixture
def site(tmp_path, shared_faces):
    site = write_site(tmp_path / "output", {**PAGES_AND_ASSETS, ARTICLE: ARTICLE_HTML})
    (site / PHOTO).parent.mkdir(parents=True)
    shutil.copyfile(shared_faces / "people/obama/obama2.jpg", site / PHOTO)
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


def revoke(gate, person_id: str) -> None:
    with Registry.open(gate.registry, gate.key_file) as registry:
        registry.revoke(person_id)


class _NoPages:
    def paginate(self, **kwargs):
        return iter([{"KeyCount": 0}])


class EmptyListing:
    """The real client, but the bucket's listing comes back empty (as in the fault run)."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def get_paginator(self, name):
        return _NoPages() if name == "list_objects_v2" else self._client.get_paginator(name)


class FailingDeletes(EmptyListing):
    """The real client, but DeleteObjects fails with a server error every time."""

    def get_paginator(self, name):
        return self._client.get_paginator(name)

    def delete_objects(self, **kwargs):
        raise ClientError(
            {"Error": {"Code": "InternalError", "Message": "We encountered an internal error"}},
            "DeleteObjects",
        )


def test_a_withheld_photo_comes_down_when_the_listing_is_empty(
    env, local_s3, s3_bucket, gate, student, site
):
    settings = settings_for(s3_bucket, env["S3_ENDPOINT_URL"])
    publish(site, settings, registry_checker(gate), gate_manifest(site))
    assert PHOTO in keys(local_s3, s3_bucket)

    revoke(gate, student)
    blind = EmptyListing(local_s3.client())
    result = publish(site, settings, registry_checker(gate), gate_manifest(site), client=blind)
    assert PHOTO in {t.key for t in result.plan.takedowns}
    assert PHOTO not in keys(local_s3, s3_bucket)


def test_a_photo_the_build_dropped_comes_down_by_the_publish_log(
    env, local_s3, s3_bucket, gate, student, site
):
    """The photo is no longer in output/ (the build withheld it) and the listing is empty:
    only the publish log knows it was published."""
    settings = settings_for(s3_bucket, env["S3_ENDPOINT_URL"])
    manifest = gate_manifest(site)
    publish(site, settings, registry_checker(gate), manifest)
    live = PublishLog(log_path_for(manifest), s3_bucket).live()
    assert PHOTO in live and ARTICLE in live

    revoke(gate, student)
    (site / PHOTO).unlink()
    blind = EmptyListing(local_s3.client())
    result = publish(site, settings, registry_checker(gate), gate_manifest(site), client=blind)
    assert [t.key for t in result.plan.takedowns] == [PHOTO]
    assert result.takedowns == 1
    assert PHOTO not in keys(local_s3, s3_bucket)
    assert PHOTO not in PublishLog(log_path_for(manifest), s3_bucket).live()


def test_a_failed_delete_names_every_photo_still_online(
    env, local_s3, s3_bucket, gate, student, site
):
    settings = settings_for(s3_bucket, env["S3_ENDPOINT_URL"])
    publish(site, settings, registry_checker(gate), gate_manifest(site))
    revoke(gate, student)
    broken = FailingDeletes(local_s3.client())
    with pytest.raises(PublishError) as failed:
        publish(site, settings, registry_checker(gate), gate_manifest(site), client=broken)
    message = str(failed.value)
    assert f"still online  {PHOTO}" in message
    assert "consent revoked" in message or "S1001" in message
    assert PHOTO in keys(local_s3, s3_bucket)  # as the message says


def test_a_takedown_republishes_the_page_with_the_placeholder(
    env, local_s3, s3_bucket, gate, student, site
):
    settings = settings_for(s3_bucket, env["S3_ENDPOINT_URL"])
    publish(site, settings, registry_checker(gate), gate_manifest(site))
    s3 = local_s3.client()
    live = s3.get_object(Bucket=s3_bucket, Key=ARTICLE)["Body"].read().decode()
    assert PHOTO in live and ALT in live

    revoke(gate, student)
    result = publish(site, settings, registry_checker(gate), gate_manifest(site))
    assert PHOTO in {t.key for t in result.plan.takedowns}
    assert ARTICLE in {f.key for f in result.plan.uploads}
    live = s3.get_object(Bucket=s3_bucket, Key=ARTICLE)["Body"].read().decode()
    assert "photo-withheld" in live
    assert "obama2" not in live and ALT not in live
    assert "Thanks to every family who came." in live
    # output/ keeps what the gate passed: the next publish uploads the page again only
    # if the photo's consent comes back.
    assert ALT in (site / ARTICLE).read_text()
    again = publish(site, settings, registry_checker(gate), gate_manifest(site))
    assert again.uploaded == 0


def _record_persons(manifest, name: str, persons: list[str]) -> None:
    document = json.loads(manifest.read_text())
    document["files"][name]["persons"] = persons
    document["files"][name]["face_record"] = True  # as the gate writes it
    manifest.write_text(json.dumps(document))


def test_a_cache_miss_is_decided_from_the_persons_the_build_recorded(
    env, local_s3, s3_bucket, gate, student, tmp_path
):
    """The build recorded Sam in the photo; its published copy shows no face the engine
    finds now (as a re-encoded copy may differ). With no face work cached, publish must
    not scan the copy: Sam's withdrawal takes the photo down."""
    gate = replace(gate, cache_dir=tmp_path / "cache")  # cold: nothing of the run's in it
    site = write_site(tmp_path / "output2", dict(PAGES_AND_ASSETS))
    no_face_image(site / "images/trip.jpg", seed=5)
    manifest = gate_manifest(site)
    _record_persons(manifest, "images/trip.jpg", [student])
    settings = settings_for(s3_bucket, env["S3_ENDPOINT_URL"])

    first = publish(site, settings, registry_checker(gate), manifest)
    assert "images/trip.jpg" in keys(local_s3, s3_bucket)

    revoke(gate, student)
    second = publish(site, settings, registry_checker(gate), manifest)
    assert [t.key for t in second.plan.takedowns] == ["images/trip.jpg"]
    reasons = " ".join(second.plan.takedowns[0].reasons)
    assert "S1001" in reasons and "revoked" in reasons
    assert "images/trip.jpg" not in keys(local_s3, s3_bucket)
    # Reported, and no new scan of the published copy was made (nothing in the face cache).
    assert any("decided from the persons the build recorded" in n for n in first.plan.notes)
    assert not any(gate.cache_dir.rglob("*.json")), "publish scanned the photo again"
