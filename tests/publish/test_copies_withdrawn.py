"""A withdrawal reaches the faces the gate saw only in pictures it made of a file: a photo
stored squeezed (no face the detector finds in the file) that a page stretches back to a
face. The build passes it while the person has consent, and the manifest keeps whom the
stretched copy shows; after a revoke, publish alone (no rebuild) takes it down."""

from __future__ import annotations

import json

from PIL import Image
from s3_publish.consent import registry_checker
from s3_publish.sync import publish

from tests.conftest import manifest_path
from tests.consent_gate_build import render_helpers as rh
from tests.consent_gate_build.gate_helpers import build_site, write_article
from tests.publish.publish_helpers import settings_for
from tests.publish.test_default_deny import _bucket, _gate
from tests.publish.test_default_deny import encodings_registry as encodings_registry


def test_a_revoke_takes_down_a_photo_whose_face_only_its_page_shows(
    tmp_path, local_s3, s3_bucket, encodings_registry, monkeypatch
):
    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    registry = encodings_registry(tmp_path / "registry")  # S1001 (obama) has consent
    content = tmp_path / "content"
    photo = rh.portrait(rh.CONSENTED, width=640)  # squeezed, no face the detector finds
    squeezed = photo.resize((photo.width // 4, photo.height), Image.Resampling.LANCZOS)
    (content / "images").mkdir(parents=True)
    rh.save_jpeg(squeezed, content / "images" / "thin.jpg")
    write_article(
        content,
        "stretched",
        "Assembly.\n\n"
        f'<img src="/images/thin.jpg" alt="Assembly" width="{photo.width}" '
        f'height="{photo.height}">\n',
    )
    build = build_site(content, tmp_path, "site", registry, tmp_path / "cache")
    assert "thin.jpg" in build.page("stretched")
    manifest = json.loads(manifest_path(build.output).read_text(encoding="utf-8"))
    entry = manifest["files"]["images/thin.jpg"]
    assert entry["persons"] == []  # the stored file shows no face the detector finds
    assert entry["copy_persons"] == ["S1001"]

    def run():
        return publish(
            build.output,
            settings_for(s3_bucket, local_s3.endpoint_url),
            registry_checker(_gate(registry, tmp_path)),
            manifest_path(build.output),
        )

    run()
    assert "images/thin.jpg" in _bucket(local_s3, s3_bucket)

    with registry.open() as reg:
        reg.revoke("S1001")
    result = run()
    assert [t.name for t in result.plan.takedowns] == ["images/thin.jpg"]
    published = _bucket(local_s3, s3_bucket)
    assert "images/thin.jpg" not in published
    page = published["news/2026/stretched/index.html"].decode("utf-8")
    assert "thin.jpg" not in page and "photo-withheld" in page


def test_a_checker_that_cannot_decide_from_the_record_withholds_the_copies():
    """A checker without ``from_record`` (another checker, a test double) never lets a file
    whose face was seen only in a copy through unchecked."""
    from types import SimpleNamespace

    from s3_publish.consent import decide_copies

    def checker(files, names, hashes=None):
        return []

    files = [SimpleNamespace(name="images/thin.jpg", copy_persons=("S1001",))]
    (decision,) = decide_copies(checker, files)
    assert not decision.publish and "cannot be re-checked" in decision.reasons[0]
