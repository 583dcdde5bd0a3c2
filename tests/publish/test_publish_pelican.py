"""Publishing real Pelican builds of the sample site to the local SeaweedFS server."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from consent_registry.registry import Registry
from consent_registry.settings import GateSettings
from s3_publish.consent import registry_checker
from s3_publish.sync import publish

from tests.conftest import ROOT, manifest_path, run_pelican
from tests.publish.publish_helpers import settings_for

pytestmark = pytest.mark.s3


@pytest.fixture
def consent_env(tmp_path, monkeypatch):
    """An empty registry of its own: the build's gate and the publish re-check both use it."""
    env = {
        "CONSENT_REGISTRY": str(tmp_path / "consent" / "registry.sqlite3"),
        "CONSENT_KEY_FILE": str(tmp_path / "consent" / "consent.key"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    gate = GateSettings.from_mapping({"CONSENT_WORKERS": 1})
    Registry.open(gate.registry, gate.key_file).close()
    return env, gate


@pytest.fixture
def s3_env(local_s3, monkeypatch):
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    return local_s3.env()


def digests(folder) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_real_build_republished_after_identical_rebuild_uploads_nothing(
    tmp_path, consent_env, s3_env, s3_bucket
):
    env, gate = consent_env
    output = tmp_path / "output"
    settings = settings_for(s3_bucket, s3_env["S3_ENDPOINT_URL"])
    run_pelican(output, env=env)
    first = publish(output, settings, registry_checker(gate), manifest_path(output))
    built = digests(output)
    assert first.uploaded == len(built) - len(first.plan.withheld) > 20
    assert "index.html" in built and any(name.endswith(".css") for name in built)

    run_pelican(output, env=env)
    assert digests(output) == built, "the build is not reproducible"
    again = publish(output, settings, registry_checker(gate), manifest_path(output))
    assert (again.uploaded, again.deleted) == (0, 0)
    assert len(again.plan.unchanged) == first.uploaded


def test_editing_one_article_uploads_only_the_files_that_changed(
    tmp_path, consent_env, s3_env, s3_bucket
):
    env, gate = consent_env
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content, ignore=shutil.ignore_patterns("gallery"))
    article = sorted((content / "articles").glob("*.md"))[0]
    output = tmp_path / "output"
    settings = settings_for(s3_bucket, s3_env["S3_ENDPOINT_URL"])
    run_pelican(output, content=content, env=env)
    publish(output, settings, registry_checker(gate), manifest_path(output))
    before = digests(output)

    article.write_text(article.read_text() + "\n\nOne more sentence, added later.\n")
    run_pelican(output, content=content, env=env)
    after = digests(output)
    changed = {name for name, md5 in after.items() if before.get(name) != md5}
    assert changed and len(changed) < len(after) / 2

    result = publish(output, settings, registry_checker(gate), manifest_path(output))
    assert {f.name for f in result.plan.uploads} == changed
    # The search index's chunks are named by their content: an edited article's chunks are
    # replaced, so their old names are the only deletions.
    assert result.uploaded == len(changed)
    assert all(name.startswith("pagefind/") for name in result.plan.deletions)
    assert result.deleted == len(result.plan.deletions)
    assert any(name.startswith("news/") and name.endswith("/index.html") for name in changed)
