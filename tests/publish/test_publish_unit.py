"""Unit tests for planning and uploading, against moto's in-memory S3."""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import ANY, Stubber
from moto import mock_aws
from s3_publish.clients import make_client
from s3_publish.errors import PublishError
from s3_publish.execute import changed_paths, invalidate_cloudfront
from s3_publish.headers import cache_control_for, content_type_for
from s3_publish.plan import plan_publish, scan_output
from s3_publish.settings import DEFAULTS, PublishSettings, normalize_prefix
from s3_publish.sync import publish
from site_gate.manifest import read_manifest

from tests.publish.publish_helpers import (
    SITE_FILES,
    FakeChecker,
    gate_manifest,
    settings_for,
    write_site,
)

BUCKET = "cedar-hollow-site"


@pytest.fixture
def s3(monkeypatch):
    for key in ("AWS_PROFILE", "S3_BUCKET", "S3_PREFIX", "S3_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


class RecordingClient:
    """Passes every call to the real client and records the writes, in order."""

    def __init__(self, client, fail_after: int | None = None):
        self._client = client
        self.calls: list[tuple[str, str]] = []
        self.fail_after = fail_after
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self._client, name)

    def put_object(self, **kwargs):
        with self._lock:
            if self.fail_after is not None and len(self.puts) >= self.fail_after:
                raise RuntimeError("connection dropped")
            self.calls.append(("put", kwargs["Key"]))
        return self._client.put_object(**kwargs)

    def delete_objects(self, **kwargs):
        with self._lock:
            for obj in kwargs["Delete"]["Objects"]:
                self.calls.append(("delete", obj["Key"]))
        return self._client.delete_objects(**kwargs)

    @property
    def puts(self) -> list[str]:
        return [key for op, key in self.calls if op == "put"]

    @property
    def deletes(self) -> list[str]:
        return [key for op, key in self.calls if op == "delete"]


def keys(client, prefix: str = "") -> set[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


def run(client, output, checker=None, **settings):
    return publish(
        output,
        settings_for(BUCKET, **settings),
        checker or FakeChecker(),
        gate_manifest(output),
        client=client,
    )


# ---------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    "name, expected",
    [
        ("index.html", "text/html; charset=utf-8"),
        ("calendar/school.ics", "text/calendar; charset=utf-8"),
        ("feeds/all.atom.xml", "application/atom+xml; charset=utf-8"),
        ("feeds/all.rss.xml", "application/rss+xml; charset=utf-8"),
        ("sitemap.xml", "application/xml; charset=utf-8"),
        ("site.webmanifest", "application/manifest+json; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
        ("theme/fonts/body.woff2", "font/woff2"),
        ("data/menu.json", "application/json; charset=utf-8"),
        ("robots.txt", "text/plain; charset=utf-8"),
        ("theme/css/style.css", "text/css; charset=utf-8"),
        ("images/PHOTO.JPG", "image/jpeg"),
        ("files/handbook.pdf", "application/pdf"),
        ("files/no-extension", "application/octet-stream"),
    ],
)
def test_content_type_for_every_kind_of_site_file(name, expected):
    assert content_type_for(name) == expected


def test_cache_control_first_matching_rule_wins():
    rules = tuple(DEFAULTS["S3_CACHE_CONTROL"])
    assert cache_control_for("news/2026/x/index.html", rules) == "max-age=300"
    assert cache_control_for("feeds/all.atom.xml", rules) == "max-age=300"
    assert cache_control_for("theme/js/menu.0123abcd.js", rules) == "max-age=31536000, immutable"
    # Not fingerprinted (no 8 hex digits): the default, not "immutable".
    assert cache_control_for("theme/js/menu.notahash.js", rules) == "max-age=3600"
    assert cache_control_for("images/garden.jpg", rules) == "max-age=3600"
    assert cache_control_for("x.css", (("*.html", "a"),)) is None


def test_settings_defaults_environment_and_validation():
    s = PublishSettings.from_mapping({"S3_BUCKET": "from-file", "S3_PREFIX": "/www/"}, env={})
    assert (s.bucket, s.prefix, s.max_deletes, s.gzip) == ("from-file", "www/", 50, False)
    env = {"S3_BUCKET": "from-env", "S3_PREFIX": "", "S3_ENDPOINT_URL": "http://127.0.0.1:9"}
    s = PublishSettings.from_mapping({"S3_BUCKET": "from-file", "S3_PREFIX": "www"}, env=env)
    assert (s.bucket, s.prefix, s.endpoint_url) == ("from-env", "www/", "http://127.0.0.1:9")
    assert normalize_prefix("/") == "" and normalize_prefix("a/b") == "a/b/"
    for bad in (-1, 1.5, "ten", True):
        with pytest.raises(ValueError, match="S3_MAX_DELETES"):
            PublishSettings.from_mapping({"S3_MAX_DELETES": bad}, env={})


# ---------------------------------------------------------------------------- planning


def test_first_publish_uploads_everything_with_headers(s3, site):
    result = run(s3, site)
    assert result.uploaded == len(SITE_FILES)
    assert keys(s3) == set(SITE_FILES)
    head = s3.head_object(Bucket=BUCKET, Key="news/2026/garden-beds/index.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert head["CacheControl"] == "max-age=300"
    head = s3.head_object(Bucket=BUCKET, Key="calendar/school.ics")
    assert head["ContentType"] == "text/calendar; charset=utf-8"
    head = s3.head_object(Bucket=BUCKET, Key="theme/js/menu.0123abcd.js")
    assert head["CacheControl"] == "max-age=31536000, immutable"
    body = s3.get_object(Bucket=BUCKET, Key="images/garden.jpg")["Body"].read()
    assert body == SITE_FILES["images/garden.jpg"]
    assert result.summary().startswith(
        f"Published to s3://{BUCKET}/: {len(SITE_FILES)} uploaded, 0 deleted (0 takedowns), "
        "0 unchanged."
    )


def test_identical_rebuild_uploads_nothing_even_with_new_mtimes(s3, site):
    run(s3, site)
    write_site(site)  # same bytes, new mtimes, as a rebuild leaves them
    for path in site.rglob("*"):
        os.utime(path, (1, 1))
    client = RecordingClient(s3)
    result = run(client, site)
    assert client.calls == []
    assert (result.uploaded, result.deleted, len(result.plan.unchanged)) == (0, 0, len(SITE_FILES))


def test_changed_file_is_the_only_upload_and_prefix_is_respected(s3, site):
    run(s3, site, S3_PREFIX="www")
    assert keys(s3) == {f"www/{name}" for name in SITE_FILES}
    (site / "theme/css/style.css").write_text("body { color: black; }")
    client = RecordingClient(s3)
    result = run(client, site, S3_PREFIX="www")
    assert client.puts == ["www/theme/css/style.css"]
    assert result.summary().startswith(
        f"Published to s3://{BUCKET}/www/: 1 uploaded, 0 deleted (0 takedowns), "
        f"{len(SITE_FILES) - 1} unchanged."
    )


def test_gzip_bodies_are_byte_stable_and_marked(s3, site):
    run(s3, site, S3_GZIP=True)
    obj = s3.get_object(Bucket=BUCKET, Key="theme/css/style.css")
    body = obj["Body"].read()
    assert obj["ContentEncoding"] == "gzip"
    assert gzip.decompress(body) == SITE_FILES["theme/css/style.css"].encode()
    assert obj["ETag"].strip('"') == hashlib.md5(body).hexdigest()
    # Binary files are sent as they are.
    assert "ContentEncoding" not in s3.head_object(Bucket=BUCKET, Key="images/garden.jpg")
    write_site(site)
    client = RecordingClient(s3)
    result = run(client, site, S3_GZIP=True)
    assert client.puts == [] and result.uploaded == 0


def test_upload_order_takedowns_first_assets_then_pages_deletions_last(s3, site):
    (site / "old-page.html").write_text("<p>old</p>")
    run(s3, site)
    (site / "old-page.html").unlink()
    (site / "index.html").write_text("<p>new home</p>")
    (site / "theme/css/style.css").write_text("body{}")
    (site / "images/new.png").write_bytes(b"\x89PNG new")
    checker = FakeChecker({"images/field-day.jpg": "consent revoked"})
    client = RecordingClient(s3)
    result = run(client, site, checker)
    ops = client.calls
    takedowns = {"images/field-day.jpg", "images/thumbnails/field-day-320w.jpg"}
    assert {key for _, key in ops[:2]} == takedowns and all(op == "delete" for op, _ in ops[:2])
    puts = client.puts
    assert set(puts) == {"index.html", "theme/css/style.css", "images/new.png"}
    assert puts[-1] == "index.html"  # pages after every asset
    assert ops[-1] == ("delete", "old-page.html")
    assert keys(s3).isdisjoint(takedowns | {"old-page.html"})
    assert (result.uploaded, result.deleted, result.takedowns) == (3, 3, 2)
    summary = result.summary()
    assert "3 uploaded, 3 deleted (2 takedowns)" in summary
    assert "  takedown images/field-day.jpg: consent revoked" in summary.splitlines()
    assert (
        "  takedown images/thumbnails/field-day-320w.jpg: derivative of withheld "
        "images/field-day.jpg" in summary.splitlines()
    )


def test_withheld_image_is_never_uploaded(s3, site):
    checker = FakeChecker({"images/garden.jpg": "unknown face"})
    result = run(s3, site, checker)
    assert "images/garden.jpg" not in keys(s3)
    assert [d.name for d in result.plan.withheld] == ["images/garden.jpg"]
    assert "  withheld images/garden.jpg: unknown face" in result.summary().splitlines()
    # Every image of the output was re-checked, not only the new ones.
    checker = FakeChecker()
    run(s3, site, checker)
    images = {n for n in SITE_FILES if n.endswith(".jpg")}
    assert set(checker.seen) == images


def test_image_dropped_from_output_is_rechecked_from_the_bucket(s3, site):
    run(s3, site)
    (site / "images/field-day.jpg").unlink()
    checker = FakeChecker({"images/field-day.jpg": "consent expired on 2026-01-01"})
    client = RecordingClient(s3)
    result = run(client, site, checker, S3_MAX_DELETES=0)
    # A takedown (uncapped), not an ordinary deletion stopped by the cap of 0.
    assert [t.key for t in result.plan.takedowns] == [
        "images/field-day.jpg",
        "images/thumbnails/field-day-320w.jpg",
    ]
    assert "images/field-day.jpg" not in keys(s3)
    assert "images/field-day.jpg" in checker.seen


def test_checker_failure_fails_closed(s3, site):
    def broken(files, names, hashes=None):
        raise OSError("registry locked")

    client = RecordingClient(s3)
    with pytest.raises(PublishError, match="consent re-check failed.*registry locked"):
        run(client, site, broken)
    assert client.calls == [] and keys(s3) == set()


def test_checker_missing_verdicts_fail_closed(s3, site):
    with pytest.raises(PublishError, match="returned 0 verdicts for 3 images"):
        run(s3, site, lambda files, names, hashes=None: [])
    assert keys(s3) == set()


# ---------------------------------------------------------------------------- deletion cap


def test_deletion_cap_stops_an_empty_publish(s3, site, tmp_path):
    run(s3, site)
    empty = tmp_path / "empty"
    empty.mkdir()
    client = RecordingClient(s3)
    with pytest.raises(PublishError, match="S3_MAX_DELETES allows \\(5\\)") as err:
        run(client, empty, S3_MAX_DELETES=5)
    assert "--max-deletes" in str(err.value)
    assert client.calls == [] and keys(s3) == set(SITE_FILES)


def test_deletion_cap_as_fraction_still_lets_takedowns_through(s3, site, tmp_path):
    run(s3, site)
    wrong = write_site(
        tmp_path / "wrong", {"images/field-day.jpg": SITE_FILES["images/field-day.jpg"]}
    )
    checker = FakeChecker({"images/field-day.jpg": "consent revoked"})
    client = RecordingClient(s3)
    with pytest.raises(PublishError, match="more than S3_MAX_DELETES allows \\(3\\).*2 takedowns"):
        run(client, wrong, checker, S3_MAX_DELETES=0.25)
    assert set(client.deletes) == {"images/field-day.jpg", "images/thumbnails/field-day-320w.jpg"}
    assert client.puts == []
    assert len(keys(s3)) == len(SITE_FILES) - 2


def test_deletions_within_the_cap_happen(s3, site):
    run(s3, site)
    (site / "robots.txt").unlink()
    result = run(s3, site, S3_MAX_DELETES=1)
    assert result.deleted == 1 and "robots.txt" not in keys(s3)


# ---------------------------------------------------------------------------- dry run


def test_dry_run_lists_changes_and_touches_nothing(s3, site):
    run(s3, site)
    (site / "index.html").write_text("<p>changed</p>")
    (site / "new.html").write_text("<p>new</p>")
    (site / "robots.txt").unlink()
    client = RecordingClient(s3)
    result = publish(
        site,
        settings_for(BUCKET),
        FakeChecker({"images/garden.jpg": "consent revoked"}),
        gate_manifest(site),
        client=client,
        dry_run=True,
    )
    assert client.calls == []
    lines = result.summary().splitlines()
    assert lines[0].startswith("Dry run for s3://cedar-hollow-site/: 2 to upload, 2 to delete")
    assert "  upload   index.html (changed)" in lines
    assert "  upload   new.html (new)" in lines
    assert "  delete   robots.txt" in lines
    assert "  takedown images/garden.jpg: consent revoked" in lines
    assert keys(s3) == set(SITE_FILES)
    assert (
        s3.get_object(Bucket=BUCKET, Key="index.html")["Body"].read().decode()
        == (SITE_FILES["index.html"])
    )


# ---------------------------------------------------------------------------- failures


def test_interrupted_publish_finishes_on_rerun_without_resending(s3, site):
    client = RecordingClient(s3, fail_after=5)
    with pytest.raises(PublishError, match="run publish again"):
        run(client, site, S3_WORKERS=1)
    arrived = keys(s3)
    assert len(arrived) == 5
    client = RecordingClient(s3)
    result = run(client, site)
    assert set(client.puts) == set(SITE_FILES) - arrived
    assert result.uploaded == len(SITE_FILES) - 5 and keys(s3) == set(SITE_FILES)


def test_a_picture_the_build_could_not_produce_keeps_its_published_copy(s3, site):
    run(s3, site)
    (site / "images/garden.jpg").unlink()  # a failed copy, a mistyped path
    checker = FakeChecker()
    result = publish(
        site,
        settings_for(BUCKET),
        checker,
        gate_manifest(site, missing=("images/garden.jpg",)),
        client=s3,
    )
    assert "images/garden.jpg" in keys(s3) and result.deleted == 0
    assert "images/garden.jpg" in checker.seen  # still re-checked against the registry
    revoked = FakeChecker({"images/garden.jpg": "consent revoked"})
    result = publish(
        site,
        settings_for(BUCKET),
        revoked,
        gate_manifest(site, missing=("images/garden.jpg",)),
        client=s3,
    )
    assert [t.key for t in result.plan.takedowns] == ["images/garden.jpg"]
    assert "images/garden.jpg" not in keys(s3)


def test_a_failed_upload_says_how_many_files_arrived(s3, site):
    from botocore.exceptions import EndpointConnectionError as Gone

    class Dropping(RecordingClient):
        def put_object(self, **kwargs):
            if len(self.puts) >= 4:
                raise Gone(endpoint_url="http://127.0.0.1:9")
            return super().put_object(**kwargs)

    with pytest.raises(PublishError) as err:
        run(Dropping(s3), site, S3_WORKERS=1)
    message = str(err.value)
    assert "4 files arrived before the stop" in message
    assert "Nothing was changed" not in message


def test_ctrl_c_stops_publishing_and_says_what_went_out(s3, site):
    from s3_publish.errors import PublishInterrupted

    class Interrupted(RecordingClient):
        def put_object(self, **kwargs):
            if len(self.puts) >= 3:
                raise KeyboardInterrupt
            return super().put_object(**kwargs)

    with pytest.raises(PublishInterrupted, match="3 of 15 files were uploaded") as err:
        run(Interrupted(s3), site, S3_WORKERS=1)
    assert "Run publish again to finish" in str(err.value)
    assert len(keys(s3)) == 3
    again = run(RecordingClient(s3), site)
    assert again.uploaded == len(SITE_FILES) - 3 and keys(s3) == set(SITE_FILES)


def _failing_puts(client, key: str, times: int | None) -> list[str]:
    """Make the first `times` PUTs of `key` (every one when None) fail as a dropped
    connection does, below botocore's retry handler; returns the keys of every PUT tried."""
    tried: list[str] = []

    def before_send(request, **kwargs):
        tried.append(urlsplit(request.url).path.lstrip("/"))
        if tried[-1] == key and (times is None or tried.count(key) <= times):
            raise EndpointConnectionError(endpoint_url=request.url)
        return None

    client.meta.events.register_first("before-send.s3.PutObject", before_send)
    return tried


def test_network_errors_are_retried_by_the_client(s3, site):
    client = make_client(settings_for(BUCKET))
    tried = _failing_puts(client, "index.html", times=2)
    result = run(client, site)
    assert tried.count("index.html") == 3 and result.uploaded == len(SITE_FILES)
    assert keys(s3) == set(SITE_FILES)


def test_a_put_is_tried_at_most_s3_max_attempts_times(s3, site):
    """botocore's standard retries are the only ones: no loop on top multiplies them."""
    client = make_client(settings_for(BUCKET, S3_MAX_ATTEMPTS=4))
    tried = _failing_puts(client, "index.html", times=None)
    with pytest.raises(PublishError, match="upload of index.html failed"):
        run(client, site, S3_MAX_ATTEMPTS=4)
    assert tried.count("index.html") == 4


def test_missing_bucket_gives_a_clear_error(s3, site):
    s3.delete_bucket(Bucket=BUCKET)
    with pytest.raises(PublishError, match="bucket cedar-hollow-site does not exist"):
        run(s3, site)


def test_missing_bucket_setting(s3, site):
    with pytest.raises(PublishError, match="no bucket to publish to"):
        publish(site, settings_for(None), FakeChecker(), gate_manifest(site), client=s3)


def test_missing_output_folder(s3, tmp_path):
    with pytest.raises(PublishError, match="does not exist: build the site first"):
        run(s3, tmp_path / "nothing")


# ---------------------------------------------------------------------------- CloudFront


def test_cloudfront_invalidation_of_changed_paths(s3, site):
    run(s3, site)
    (site / "news/2026/garden-beds/index.html").write_text("<p>edited</p>")
    (site / "robots.txt").unlink()
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    expected_paths = ["/news/2026/garden-beds/", "/news/2026/garden-beds/index.html", "/robots.txt"]
    with Stubber(cloudfront) as stub:
        stub.add_response(
            "create_invalidation",
            {"Location": "x", "Invalidation": _invalidation("I2EXAMPLE", expected_paths)},
            {
                "DistributionId": "E123EXAMPLE",
                "InvalidationBatch": {
                    "Paths": {"Quantity": 3, "Items": expected_paths},
                    "CallerReference": ANY,
                },
            },
        )
        result = publish(
            site,
            settings_for(BUCKET, CLOUDFRONT_DISTRIBUTION_ID="E123EXAMPLE"),
            FakeChecker(),
            gate_manifest(site),
            client=s3,
            cloudfront_client=cloudfront,
        )
        stub.assert_no_pending_responses()
    assert result.invalidation_id == "I2EXAMPLE"
    assert "CloudFront invalidation I2EXAMPLE created" in result.summary()


def test_no_invalidation_when_nothing_changed(s3, site):
    run(s3, site)
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    with Stubber(cloudfront):  # any call would fail: no responses queued
        result = publish(
            site,
            settings_for(BUCKET, CLOUDFRONT_DISTRIBUTION_ID="E123EXAMPLE"),
            FakeChecker(),
            gate_manifest(site),
            client=s3,
            cloudfront_client=cloudfront,
        )
    assert result.invalidation_id is None


def test_many_changed_paths_become_one_wildcard(s3, tmp_path):
    files = {f"p{i}/index.html": f"<p>{i}</p>" for i in range(80)}
    site = write_site(tmp_path / "o", files)
    manifest = read_manifest(gate_manifest(site), site)
    plan = plan_publish(s3, site, settings_for(BUCKET), FakeChecker(), manifest)
    assert len(changed_paths(plan)) == 160
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    with Stubber(cloudfront) as stub:
        stub.add_response(
            "create_invalidation",
            {"Invalidation": _invalidation("I3", ["/*"])},
            {
                "DistributionId": "E1",
                "InvalidationBatch": {
                    "Paths": {"Quantity": 1, "Items": ["/*"]},
                    "CallerReference": ANY,
                },
            },
        )
        assert invalidate_cloudfront(cloudfront, "E1", changed_paths(plan)) == "I3"


def _invalidation(invalidation_id: str, paths: list[str]) -> dict:
    import datetime

    return {
        "Id": invalidation_id,
        "Status": "InProgress",
        "CreateTime": datetime.datetime(2026, 1, 1),
        "InvalidationBatch": {
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": "ref",
        },
    }


def test_scan_output_md5_matches_bytes(tmp_path):
    site = write_site(tmp_path / "o", {"a.bin": b"\x00" * 3_000_000})
    (f,), refused = scan_output(
        site, settings_for(BUCKET), read_manifest(gate_manifest(site), site)
    )
    assert refused == []
    assert f.md5 == hashlib.md5(b"\x00" * 3_000_000).hexdigest() and f.size == 3_000_000
    assert isinstance(f.path, Path)


def test_refused_credentials_give_a_clear_error(s3, site):
    stubbed = boto3.client("s3", region_name="us-east-1")
    with Stubber(stubbed) as stub:
        stub.add_client_error(
            "list_objects_v2",
            service_error_code="InvalidAccessKeyId",
            service_message="The AWS Access Key Id you provided does not exist in our records.",
            http_status_code=403,
        )
        with pytest.raises(PublishError) as err:
            run(stubbed, site)
    message = str(err.value)
    assert message.startswith(f"S3 refused the credentials for bucket {BUCKET} at https://")
    assert "AWS_PROFILE / AWS_ACCESS_KEY_ID" in message and "Nothing was changed" in message


def test_cli_options_win_and_errors_exit_1(tmp_path, capsys, monkeypatch):
    from s3_publish import cli

    monkeypatch.setenv("S3_BUCKET", "from-env")
    monkeypatch.delenv("S3_PREFIX", raising=False)
    base = PublishSettings.from_mapping({"S3_BUCKET": "from-file", "S3_PREFIX": "www"})
    args = cli.build_parser().parse_args(
        ["--bucket", "from-cli", "--prefix", "/", "--max-deletes", "0"]
    )
    settings = cli.apply_options(base, args)
    assert (base.bucket, settings.bucket, settings.prefix, settings.max_deletes) == (
        "from-env",
        "from-cli",
        "",
        0,
    )
    assert cli.main(["--settings", str(tmp_path / "missing.py")]) == 1
    assert "the settings file" in capsys.readouterr().err
    bad = tmp_path / "bad.py"
    bad.write_text("S3_MAX_DELETES = 'lots'\n")
    assert cli.main(["--settings", str(bad), "--output", str(tmp_path)]) == 1
    assert "S3_MAX_DELETES must be" in capsys.readouterr().err
