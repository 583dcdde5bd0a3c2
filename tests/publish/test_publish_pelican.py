"""Publishing real Pelican builds of the sample site to the local SeaweedFS server."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from consent_registry.registry import Registry
from consent_registry.settings import GateSettings
from s3_publish.consent import registry_checker
from s3_publish.sync import publish

from tests.conftest import ROOT, manifest_path, run_pelican
from tests.publish.publish_helpers import settings_for

pytestmark = pytest.mark.s3


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """An empty registry of the module's own and a copy of the sample content, built once:
    the first build of both tests (each test leaves output/ a build of the content as it
    then is, so either test can come first): three builds instead of four, 71 s -> 55 s for
    the module under load, measured."""
    work = tmp_path_factory.mktemp("pelican-publish")
    env = {
        "CONSENT_REGISTRY": str(work / "consent" / "registry.sqlite3"),
        "CONSENT_KEY_FILE": str(work / "consent" / "consent.key"),
    }
    Registry.open(Path(env["CONSENT_REGISTRY"]), Path(env["CONSENT_KEY_FILE"])).close()
    content = work / "content"
    shutil.copytree(ROOT / "content", content, ignore=shutil.ignore_patterns("gallery"))
    run_pelican(work / "output", content=content, env=env)
    return work, env


@pytest.fixture
def consent_env(work, monkeypatch):
    """The registry in the environment: the build's gate and the publish re-check both use it."""
    _, env = work
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env, GateSettings.from_mapping({"CONSENT_WORKERS": 1})


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
    work, consent_env, s3_env, s3_bucket
):
    env, gate = consent_env
    content, output = work[0] / "content", work[0] / "output"
    settings = settings_for(s3_bucket, s3_env["S3_ENDPOINT_URL"])
    first = publish(output, settings, registry_checker(gate), manifest_path(output))
    built = digests(output)
    assert first.uploaded == len(built) - len(first.plan.withheld) > 20
    assert "index.html" in built and any(name.endswith(".css") for name in built)

    run_pelican(output, content=content, env=env)
    assert digests(output) == built, "the build is not reproducible"
    again = publish(output, settings, registry_checker(gate), manifest_path(output))
    assert (again.uploaded, again.deleted) == (0, 0)
    assert len(again.plan.unchanged) == first.uploaded


def test_editing_one_article_uploads_only_the_files_that_changed(
    work, consent_env, s3_env, s3_bucket
):
    env, gate = consent_env
    content, output = work[0] / "content", work[0] / "output"
    article = sorted((content / "articles").glob("*.md"))[0]
    settings = settings_for(s3_bucket, s3_env["S3_ENDPOINT_URL"])
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
