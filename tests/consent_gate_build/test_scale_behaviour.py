"""The gate at scale, on real builds: the face-worker count does not change a verdict or a
published byte, and the cache is found from wherever the build runs (CONSENT_ROOT)."""

from __future__ import annotations

import json
from pathlib import Path

from face_engine.batch import default_workers

from tests.conftest import manifest_path
from tests.consent_gate_build.gate_helpers import (
    build_site,
    copy_face,
    jpeg_with_gps_xmp_thumbnail,
    no_face_image,
    seed_registry,
    write_article,
)


def _site(content: Path) -> None:
    photos = {
        "images/club/kit.jpg": "people/kit_harington/kit2.jpg",
        "images/club/obama.jpg": "people/obama/obama1.jpg",
        "images/club/alex.jpg": "people/alex_lacamoire/alex2.jpg",
        "images/club/group.jpg": "groups/kit_and_rose.jpg",
        "images/club/pair.jpg": "groups/obama_and_biden.jpg",
    }
    for target, source in photos.items():
        copy_face(content, source, target)
    no_face_image(content / "images" / "club" / "field.jpg")
    jpeg_with_gps_xmp_thumbnail(
        content / "images" / "club" / "kit.jpg", content / "images" / "club" / "kit-gps.jpg"
    )
    names = sorted(Path(target).name for target in photos) + ["field.jpg", "kit-gps.jpg"]
    body = "\n\n".join(f"![Club photo]({{static}}/images/club/{name})" for name in names)
    write_article(content, "club", body)


def _published(build) -> dict[str, str]:
    manifest = json.loads(manifest_path(build.output).read_text(encoding="utf-8"))
    return {path: entry["sha256"] for path, entry in manifest["files"].items()}


def _verdicts(build) -> dict[str, tuple]:
    return {
        image["output_path"]: (image["verdict"], tuple(image["reasons"]))
        for image in build.report["images"]
    }


def test_one_worker_and_the_default_give_the_same_verdicts_and_bytes(tmp_path, encodings):
    registry = seed_registry(tmp_path / "registry", encodings, people=("kit", "obama", "rose"))
    content = tmp_path / "content"
    _site(content)
    builds = {
        workers: build_site(
            content,
            tmp_path,
            f"workers-{workers}",
            registry,
            tmp_path / f"cache-{workers}",  # cold: every photo through the face engine
            extra={"CONSENT_WORKERS": workers},
        )
        for workers in (1, 0, 3)  # one process, the default, a pool of three
    }
    assert default_workers() >= 1
    one = builds[1]
    verdicts = _verdicts(one)
    assert {v for v, _ in verdicts.values()} == {"publish", "withhold"}
    assert verdicts["images/club/alex.jpg"][0] == "withhold"
    assert verdicts["images/club/kit.jpg"][0] == "publish"
    for workers, build in builds.items():
        assert _verdicts(build) == verdicts, f"CONSENT_WORKERS={workers}"
        assert _published(build) == _published(one), f"CONSENT_WORKERS={workers}"
        for path in _published(one):
            assert (build.output / path).read_bytes() == (one.output / path).read_bytes()


def test_the_cache_is_found_from_any_working_directory(tmp_path, encodings):
    registry = seed_registry(tmp_path / "registry", encodings, people=("kit",))
    content = tmp_path / "content"
    copy_face(content, "people/kit_harington/kit2.jpg", "images/a.jpg")
    write_article(content, "club", "![Kit at the club]({static}/images/a.jpg)")
    project = tmp_path / "project"
    project.mkdir()
    cache = project / ".cache" / "consent"
    entries = []
    for where in ("somewhere", "elsewhere"):
        cwd = tmp_path / where
        cwd.mkdir()
        build = build_site(
            content,
            tmp_path,
            "site",
            registry,
            Path(".cache/consent"),  # relative: taken from CONSENT_ROOT
            extra={"CONSENT_ROOT": str(project)},
            cwd=cwd,
        )
        assert build.image("images/a.jpg")["verdict"] == "publish"
        assert not (cwd / ".cache").exists()
        entries.append(
            sorted((p.name, p.stat().st_mtime_ns) for p in cache.glob("[0-9a-f]*/*/*.json"))
        )
    assert entries[0]  # the photo (and the theme's pictures) examined once
    assert entries[1] == entries[0]  # the second build did no face work: it found the cache


def test_two_machines_of_a_district_scan_each_photo_once(tmp_path, encodings, monkeypatch):
    """Two sites built on different machines (their own caches) share a store on the real
    S3 server: the second build takes every photo's faces from it, and decides and
    publishes exactly as the first."""
    import uuid

    from face_engine.shared_cache import new_key
    from s3_publish.local_s3 import LocalS3

    registry = seed_registry(tmp_path / "registry", encodings, people=("kit", "obama", "rose"))
    content = tmp_path / "content"
    _site(content)
    key_file = new_key(tmp_path / "district.key")
    with LocalS3(tmp_path / "s3") as server:
        bucket = f"district-{uuid.uuid4().hex[:8]}"
        server.create_bucket(bucket)
        shared = {
            "CONSENT_SHARED_CACHE": f"s3://{bucket}/faces",
            "CONSENT_SHARED_CACHE_KEY_FILE": str(key_file),
            "CONSENT_SHARED_CACHE_ENDPOINT": server.endpoint_url,
        }
        client = server.client()

        def stored() -> dict[str, bytes]:
            listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
            return {
                o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
                for o in listed
            }

        builds = []
        after = []
        for machine in ("north", "south"):
            builds.append(
                build_site(
                    content,
                    tmp_path,
                    machine,
                    registry,
                    tmp_path / machine / "cache",
                    extra=shared,
                    env=server.env(),
                )
            )
            after.append(stored())
    north, south = builds
    # A sealed entry for each of the 8 photos the first machine scanned.
    assert len(after[0]) >= 8
    # The second machine scanned nothing: it added no entry and rewrote none.
    assert after[1] == after[0]
    assert "shared face cache" not in north.log and "scanned on this machine" not in south.log
    assert _verdicts(south) == _verdicts(north)
    assert _published(south) == _published(north)
