"""The manifest records the settings that built it, and `publish` refuses a build made with
weaker settings than its own: a development build (`make html`, no CONSENT_STRICT) with a
hot-linked picture is never uploaded by `publish` with the production settings."""

from __future__ import annotations

import json

import pytest
from consent_registry.registry import Registry
from consent_registry.settings import GateSettings
from s3_publish.cli import main
from site_gate.manifest import BuildSettings, ManifestError, read_manifest

from tests.conftest import ROOT, manifest_path
from tests.consent_gate_build.gate_helpers import build_site, write_article
from tests.consent_gate_build.render_helpers import LISTINGS_OFF

pytestmark = pytest.mark.s3

REMOTE = "https://photos.example.net/field-day/crowd.jpg"


@pytest.fixture
def registry_env(tmp_path, monkeypatch):
    env = {
        "CONSENT_REGISTRY": str(tmp_path / "consent" / "registry.sqlite3"),
        "CONSENT_KEY_FILE": str(tmp_path / "consent" / "consent.key"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    gate = GateSettings.from_mapping({})
    Registry.open(gate.registry, gate.key_file).close()
    return env


@pytest.fixture(scope="module")
def face_cache(tmp_path_factory):
    """One face cache for the builds that find a browser: content-addressed, so the theme's
    pictures are searched once (the build without a browser keeps a cold cache: what it may
    take from a warm one is what it tests)."""
    return tmp_path_factory.mktemp("settings-cache")


class _Registry:  # what build_site takes: the environment naming the registry
    def __init__(self, env):
        self.env = env


def _publish_conf(tmp_path, local_s3, bucket, output, cache, settings="publishconf.py"):
    conf = tmp_path / f"publish-{bucket}.py"
    conf.write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom {settings[:-3]} import *\n"
        'PLUGINS = ["consent_gate"]\n'
        f"S3_BUCKET = {bucket!r}\nS3_ENDPOINT_URL = {local_s3.endpoint_url!r}\n"
        f"OUTPUT_PATH = {str(output)!r}\n"
        f"CONSENT_MANIFEST_PATH = {str(manifest_path(output))!r}\n"
        f"CONSENT_CACHE_DIR = {str(cache)!r}\n"
        "CONSENT_WORKERS = 1\n"
    )
    return conf


def _keys(local_s3, bucket) -> set[str]:
    listed = local_s3.client().list_objects_v2(Bucket=bucket)
    return {item["Key"] for item in listed.get("Contents", [])}


def test_a_development_build_is_refused_by_publish(
    tmp_path, local_s3, s3_bucket, registry_env, monkeypatch, capsys, face_cache
):
    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    content = tmp_path / "content"
    write_article(content, "field-day", f"The crowd at field day.\n\n![Crowd]({REMOTE})")
    cache = face_cache
    # `make html`: pelicanconf.py, no CONSENT_STRICT, so the hot-linked picture stays.
    build = build_site(content, tmp_path, "dev", _Registry(registry_env), cache)
    assert REMOTE in build.page("field-day")
    recorded = json.loads(manifest_path(build.output).read_text())["built_with"]
    assert recorded["strict"] is False and recorded["mode"] == "recognise"

    conf = _publish_conf(tmp_path, local_s3, s3_bucket, build.output, cache)
    assert main(["--settings", str(conf), "--quiet"]) == 1
    message = " ".join(capsys.readouterr().err.split())
    assert "weaker consent settings" in message and "CONSENT_STRICT was off" in message
    assert "make publish" in message and "Nothing was changed" in message
    assert _keys(local_s3, s3_bucket) == set()

    # Built with the settings it is published with, the same content goes up, without
    # the hot-linked picture (and without the listing pages, which show no picture here:
    # half of the build's renderings, 20 CPU-seconds with them, 14 without).
    build = build_site(
        content,
        tmp_path,
        "prod",
        _Registry(registry_env),
        cache,
        extra={"CONSENT_STRICT": True, "CONSENT_RENDER_CHECK": True, **LISTINGS_OFF},
    )
    assert REMOTE not in build.page("field-day")
    assert json.loads(manifest_path(build.output).read_text())["built_with"]["render_check"]
    conf = _publish_conf(tmp_path, local_s3, s3_bucket, build.output, cache)
    assert main(["--settings", str(conf), "--quiet"]) == 0, capsys.readouterr().err
    assert "news/2026/field-day/index.html" in _keys(local_s3, s3_bucket)


def _settings(**changes) -> BuildSettings:
    base = BuildSettings.of(GateSettings.from_mapping({"CONSENT_STRICT": True}))
    return BuildSettings(**{**base.__dict__, **changes})


@pytest.mark.parametrize(
    ("built", "said"),
    [
        ({"strict": False}, "CONSENT_STRICT was off"),
        ({"blur": True}, "CONSENT_BLUR was on"),
        ({"tolerance": 0.6}, "CONSENT_TOLERANCE was 0.6"),
        ({"margin": 0.0}, "CONSENT_MARGIN was 0.0"),
        ({"min_face_px": 10}, "CONSENT_MIN_FACE_PX was 10"),
        ({"scope": "yearbook"}, "CONSENT_SCOPE was 'yearbook'"),
    ],
)
def test_every_weaker_setting_is_refused(tmp_path, built, said):
    from site_gate.manifest import write_manifest

    output = tmp_path / "output"
    output.mkdir()
    path = tmp_path / "manifest.json"
    write_manifest(
        path, output=output, registry_fingerprint="x", entries=[], built_with=_settings(**built)
    )
    with pytest.raises(ManifestError, match="weaker consent settings") as caught:
        read_manifest(path, output, wanted=_settings())
    assert said in str(caught.value)
    # The same or stronger settings pass.
    assert read_manifest(path, output, wanted=_settings(**built)).built_with == _settings(**built)


def test_stricter_builds_and_render_check_compare_as_expected():
    assert _settings(mode="detect-only", tolerance=0.5).weaker_than(_settings()) == []
    assert _settings().weaker_than(_settings(mode="detect-only"))
    (said,) = _settings().weaker_than(_settings(render_check=True))
    assert said.startswith("the rendered-page face check did not run")


def test_a_manifest_that_does_not_record_its_settings_is_refused(tmp_path):
    output = tmp_path / "output"
    output.mkdir()
    path = tmp_path / "manifest.json"
    path.write_text(
        json.dumps(
            {
                "format": 1,
                "output": str(output.resolve()),
                "generated_at": "2026-01-01T00:00:00+00:00",
                "registry_fingerprint": "x",
                "files": {},
            }
        )
    )
    with pytest.raises(ManifestError, match="another version"):
        read_manifest(path, output)


def test_a_build_whose_pages_were_not_rendered_is_refused(
    tmp_path, local_s3, s3_bucket, registry_env, monkeypatch, capsys
):
    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    content = tmp_path / "content"
    write_article(content, "notice", "The office is closed on Friday.")
    cache = tmp_path / "cache"
    # Strict, but without a browser: the rendered-page check cannot run (a development build).
    build = build_site(
        content,
        tmp_path,
        "no-browser",
        _Registry(registry_env),
        cache,
        extra={"CONSENT_STRICT": True, "CONSENT_RENDER_CHECK": True},
        env={"CONSENT_CHROMIUM": str(tmp_path / "no-such-browser")},
        check=False,
    )
    if build.returncode == 0:
        recorded = json.loads(manifest_path(build.output).read_text())["built_with"]
        assert recorded["render_check"] is False
        conf = _publish_conf(tmp_path, local_s3, s3_bucket, build.output, cache)
        assert main(["--settings", str(conf), "--quiet"]) == 1
        assert "rendered-page face check did not run" in capsys.readouterr().err
    else:  # or the build refuses to finish without its browser: no manifest at all
        assert not manifest_path(build.output).exists()
    assert _keys(local_s3, s3_bucket) == set()


def test_an_environment_that_turns_the_render_check_off_is_refused(
    tmp_path, local_s3, s3_bucket, registry_env, monkeypatch, capsys, face_cache
):
    """publishconf.py asks for the rendered-page check; CONSENT_RENDER_CHECK=0 in the shell
    turns it off for the build (the environment wins there), but not for what publish
    requires."""
    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    content = tmp_path / "content"
    write_article(content, "notice", "The office is closed on Friday.")
    cache = face_cache
    weakened = {"CONSENT_RENDER_CHECK": "0"}
    build = build_site(
        content,
        tmp_path,
        "env-off",
        _Registry(registry_env),
        cache,
        extra={"CONSENT_STRICT": True, "CONSENT_RENDER_CHECK": True},
        env=weakened,
    )
    recorded = json.loads(manifest_path(build.output).read_text())["built_with"]
    assert recorded["render_check"] is False  # what ran, not what the file asked for
    conf = _publish_conf(tmp_path, local_s3, s3_bucket, build.output, cache)
    monkeypatch.setenv("CONSENT_RENDER_CHECK", "0")
    assert main(["--settings", str(conf), "--quiet"]) == 1
    message = " ".join(capsys.readouterr().err.split())
    assert "rendered-page face check did not run" in message
    assert "CONSENT_RENDER_CHECK=0" in message and "unset CONSENT_RENDER_CHECK" in message
    assert "Nothing was changed" in message
    assert _keys(local_s3, s3_bucket) == set()

    # `publish --build` refuses before it builds: the build would take the environment.
    before = manifest_path(build.output).stat().st_mtime_ns
    assert main(["--settings", str(conf), "--build", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "building:" not in captured.out
    assert "not building with" in captured.err and "CONSENT_RENDER_CHECK=0" in captured.err
    assert manifest_path(build.output).stat().st_mtime_ns == before
    assert _keys(local_s3, s3_bucket) == set()

    # The environment may make the file's settings stronger, never weaker: with the
    # variable unset, the same weakened build is still refused.
    monkeypatch.delenv("CONSENT_RENDER_CHECK")
    assert main(["--settings", str(conf), "--quiet"]) == 1
    message = " ".join(capsys.readouterr().err.split())
    assert "rendered-page face check did not run" in message and "unset" not in message
    assert _keys(local_s3, s3_bucket) == set()
