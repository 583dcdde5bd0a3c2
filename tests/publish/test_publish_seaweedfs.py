"""Publishing against a real S3 server: SeaweedFS on 127.0.0.1, started by the session
fixture in conftest.py. These sites hold no images, so no consent check is involved
(test_publish_consent.py covers images with the real registry and face engine)."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import threading
import urllib.request

import pytest
from s3_publish.errors import PublishError
from s3_publish.local_s3 import SiteProxy
from s3_publish.sync import make_client, publish

from tests.conftest import ROOT
from tests.publish.publish_helpers import (
    PAGES_AND_ASSETS,
    FakeChecker,
    gate_manifest,
    settings_for,
    tiny_png,
    write_site,
)

pytestmark = pytest.mark.s3


def no_images(files, names, hashes=None):
    raise AssertionError(f"these sites hold no images, yet {names} were sent for checking")


@pytest.fixture
def env(local_s3, monkeypatch):
    """Point the standard boto3 credential chain at the local server."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    return local_s3.env()


@pytest.fixture
def pages(tmp_path):
    return write_site(tmp_path / "output", PAGES_AND_ASSETS)


def objects(local_s3, bucket) -> dict[str, str]:
    pages = local_s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"]: o["ETag"].strip('"') for p in pages for o in p.get("Contents", [])}


def run(output, bucket, endpoint, checker=no_images, client=None, **extra):
    settings = settings_for(bucket, endpoint, **extra)
    return publish(output, settings, checker, gate_manifest(output), client=client)


class FailingClient:
    """The real client, except that PUTs fail once `allowed` of them went through."""

    def __init__(self, client, allowed: int):
        self._client, self.allowed, self.puts = client, allowed, []
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self._client, name)

    def put_object(self, **kwargs):
        with self._lock:
            if len(self.puts) >= self.allowed:
                raise ConnectionResetError("network gone")
            self.puts.append(kwargs["Key"])
        return self._client.put_object(**kwargs)


class OrderClient(FailingClient):
    def __init__(self, client):
        super().__init__(client, allowed=10**9)
        self.calls = []

    def put_object(self, **kwargs):
        self.calls.append(("put", kwargs["Key"]))
        return super().put_object(**kwargs)

    def delete_objects(self, **kwargs):
        self.calls += [("delete", o["Key"]) for o in kwargs["Delete"]["Objects"]]
        return self._client.delete_objects(**kwargs)


def test_first_publish_then_identical_rebuild_uploads_nothing(env, local_s3, s3_bucket, pages):
    endpoint = env["S3_ENDPOINT_URL"]
    first = run(pages, s3_bucket, endpoint)
    assert first.uploaded == len(PAGES_AND_ASSETS)
    stored = objects(local_s3, s3_bucket)
    assert set(stored) == set(PAGES_AND_ASSETS)
    # Single-part PUTs: the server's ETag is the file's MD5.
    body = PAGES_AND_ASSETS["theme/css/style.css"].encode()
    assert stored["theme/css/style.css"] == hashlib.md5(body).hexdigest()
    head = local_s3.client().head_object(Bucket=s3_bucket, Key="calendar/school.ics")
    assert head["ContentType"] == "text/calendar; charset=utf-8"
    assert head["CacheControl"] == "max-age=300"

    write_site(pages, PAGES_AND_ASSETS)  # a rebuild: same bytes, new mtimes
    for path in pages.rglob("*"):
        os.utime(path, (2, 2))
    again = run(pages, s3_bucket, endpoint)
    assert (again.uploaded, again.deleted, len(again.plan.unchanged)) == (
        0,
        0,
        len(PAGES_AND_ASSETS),
    )
    assert objects(local_s3, s3_bucket) == stored


def test_gzip_variant_round_trip(env, local_s3, s3_bucket, pages):
    run(pages, s3_bucket, env["S3_ENDPOINT_URL"], S3_GZIP=True)
    obj = local_s3.client().get_object(Bucket=s3_bucket, Key="index.html")
    assert obj["ContentEncoding"] == "gzip"
    assert gzip.decompress(obj["Body"].read()).decode() == PAGES_AND_ASSETS["index.html"]
    again = run(pages, s3_bucket, env["S3_ENDPOINT_URL"], S3_GZIP=True)
    assert again.uploaded == 0


def test_interrupted_publish_finishes_without_resending(env, local_s3, s3_bucket, pages):
    endpoint = env["S3_ENDPOINT_URL"]
    failing = FailingClient(make_client(settings_for(s3_bucket, endpoint)), allowed=4)
    with pytest.raises(PublishError, match="run publish again to finish"):
        run(pages, s3_bucket, endpoint, client=failing, S3_WORKERS=2)
    arrived = set(objects(local_s3, s3_bucket))
    assert arrived == set(failing.puts) and len(arrived) == 4

    recording = OrderClient(make_client(settings_for(s3_bucket, endpoint)))
    result = run(pages, s3_bucket, endpoint, client=recording)
    assert set(recording.puts) == set(PAGES_AND_ASSETS) - arrived
    assert result.uploaded == len(PAGES_AND_ASSETS) - 4
    assert set(objects(local_s3, s3_bucket)) == set(PAGES_AND_ASSETS)


def test_wrong_credentials_change_nothing(env, local_s3, s3_bucket, pages, monkeypatch):
    endpoint = env["S3_ENDPOINT_URL"]
    run(pages, s3_bucket, endpoint)
    before = objects(local_s3, s3_bucket)
    (pages / "index.html").write_text("<p>changed</p>")
    (pages / "robots.txt").unlink()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(PublishError) as err:
        run(pages, s3_bucket, endpoint)
    assert str(err.value).startswith(
        f"S3 refused the credentials for bucket {s3_bucket} at {endpoint}"
    )
    assert "SignatureDoesNotMatch" in str(err.value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody")
    with pytest.raises(PublishError, match="InvalidAccessKeyId"):
        run(pages, s3_bucket, endpoint)
    assert objects(local_s3, s3_bucket) == before


def test_deletion_cap_stops_an_accidental_empty_publish(env, local_s3, s3_bucket, pages, tmp_path):
    endpoint = env["S3_ENDPOINT_URL"]
    run(pages, s3_bucket, endpoint)
    before = objects(local_s3, s3_bucket)
    empty = tmp_path / "empty-output"
    empty.mkdir()
    with pytest.raises(PublishError, match="S3_MAX_DELETES"):
        run(empty, s3_bucket, endpoint, S3_MAX_DELETES=3)
    assert objects(local_s3, s3_bucket) == before


def test_order_takedowns_assets_pages_deletions(env, local_s3, s3_bucket, tmp_path):
    endpoint = env["S3_ENDPOINT_URL"]
    files = {**PAGES_AND_ASSETS, "gone.html": "<p>old</p>", "images/trip.png": tiny_png()}
    site = write_site(tmp_path / "o", files)
    run(site, s3_bucket, endpoint, FakeChecker())
    (site / "gone.html").unlink()
    for name in ("index.html", "news/2026/garden-beds/index.html", "theme/css/style.css"):
        (site / name).write_text(f"changed {name}")
    (site / "theme/css/new.css").write_text("p{}")
    recording = OrderClient(make_client(settings_for(s3_bucket, endpoint)))
    result = run(
        site,
        s3_bucket,
        endpoint,
        FakeChecker({"images/trip.png": "consent revoked"}),
        client=recording,
    )
    ops = recording.calls
    assert ops[0] == ("delete", "images/trip.png")
    kinds = ["page" if key.endswith(".html") else "asset" for op, key in ops if op == "put"]
    assert kinds == ["asset", "asset", "page", "page"]
    assert ops[-1] == ("delete", "gone.html")
    assert result.summary().splitlines()[:2] == [
        f"Published to s3://{s3_bucket}/: 4 uploaded, 2 deleted (1 takedowns), "
        f"{len(PAGES_AND_ASSETS) - 3} unchanged.",
        "  takedown images/trip.png: consent revoked",
    ]
    assert "images/trip.png" not in objects(local_s3, s3_bucket)


def test_cli_publishes_with_settings_file_and_env(env, local_s3, s3_bucket, pages, tmp_path):
    settings = tmp_path / "publishconf.py"
    settings.write_text(
        f"S3_BUCKET = 'overridden-by-env'\nS3_PREFIX = 'www'\nOUTPUT_PATH = {str(pages)!r}\n"
        f"CONSENT_REGISTRY = {str(tmp_path / 'no-registry.sqlite3')!r}\n"
        f"CONSENT_MANIFEST_PATH = {str(gate_manifest(pages))!r}\n"
        "PLUGINS = ['consent_gate']\n"
    )
    cli_env = {**os.environ, **env, "S3_BUCKET": s3_bucket}
    cmd = [sys.executable, "-m", "s3_publish", "--settings", str(settings), "--quiet"]
    proc = subprocess.run(
        cmd + ["--dry-run"], env=cli_env, capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Dry run for s3://{s3_bucket}/www/: {len(PAGES_AND_ASSETS)}")
    assert objects(local_s3, s3_bucket) == {}
    proc = subprocess.run(cmd, env=cli_env, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(
        f"Published to s3://{s3_bucket}/www/: {len(PAGES_AND_ASSETS)} uploaded, 0 deleted"
    )
    assert set(objects(local_s3, s3_bucket)) == {f"www/{n}" for n in PAGES_AND_ASSETS}
    # Errors: exit code 1 and a message naming what to fix.
    bad_env = {**cli_env, "AWS_SECRET_ACCESS_KEY": "wrong"}
    proc = subprocess.run(cmd, env=bad_env, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert "S3 refused the credentials" in proc.stderr and "AWS_PROFILE" in proc.stderr


def test_published_site_opens_from_the_bucket(env, local_s3, pages):
    local_s3.create_bucket("public-site")
    run(pages, "public-site", env["S3_ENDPOINT_URL"], S3_PREFIX="demo")
    with urllib.request.urlopen(local_s3.site_url("public-site", "demo")) as response:
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert response.read().decode() == PAGES_AND_ASSETS["index.html"]
    proxy = SiteProxy(("127.0.0.1", 0), local_s3.endpoint_url, "public-site", "demo")
    proxy.serve_in_thread()
    try:
        with urllib.request.urlopen(proxy.url + "news/2026/garden-beds/") as response:
            assert response.read().decode() == PAGES_AND_ASSETS["news/2026/garden-beds/index.html"]
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(proxy.url + "no/such/page/")
        assert err.value.code == 404
        assert err.value.read().decode() == PAGES_AND_ASSETS["404.html"]
    finally:
        proxy.shutdown()
        proxy.server_close()
