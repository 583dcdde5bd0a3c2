"""The publish summary says what it deleted: Pagefind's old search-index files (renamed at
every build) as such, every other key by name; the deletion cap's message counts them too.
Against the real local S3 server."""

from __future__ import annotations

import pytest
from s3_publish.errors import PublishError
from s3_publish.sync import publish

from tests.publish.publish_helpers import PAGES_AND_ASSETS, gate_manifest, settings_for, write_site

pytestmark = pytest.mark.s3


def no_images(files, names, hashes=None):
    raise AssertionError(f"these sites hold no images, yet {names} were sent for checking")


def site(folder, index_build: str, extra: dict | None = None):
    files = dict(PAGES_AND_ASSETS)
    for n in range(4):
        files[f"pagefind/fragment/en_{index_build}{n}.pf_fragment"] = b"fragment"
    files.update(extra or {})
    return write_site(folder, files)


def run(output, bucket, endpoint, **extra):
    settings = settings_for(bucket, endpoint, **extra)
    return publish(output, settings, no_images, gate_manifest(output), client=None)


@pytest.fixture
def env(local_s3, monkeypatch):
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    return local_s3.env()


def test_summary_names_the_search_index_and_each_other_deletion(env, s3_bucket, tmp_path):
    endpoint = env["S3_ENDPOINT_URL"]
    run(site(tmp_path / "one", "a", {"old-page/index.html": b"<p>old</p>"}), s3_bucket, endpoint)
    result = run(site(tmp_path / "two", "b"), s3_bucket, endpoint)
    lines = result.summary().splitlines()
    assert "5 deleted (0 takedowns)" in lines[0]
    assert any("deleted  4 old search-index files (pagefind/" in line for line in lines), lines
    assert "  deleted  old-page/index.html" in lines


def test_the_cap_counts_the_search_index_files(env, s3_bucket, tmp_path):
    endpoint = env["S3_ENDPOINT_URL"]
    run(site(tmp_path / "one", "a"), s3_bucket, endpoint)
    with pytest.raises(PublishError, match=r"delete 4 objects .*\(4 of them old Pagefind"):
        run(site(tmp_path / "two", "b"), s3_bucket, endpoint, S3_MAX_DELETES=2)
