"""`publish --build` with a build that does not finish: Ctrl-C of the build (a real SIGINT
to the real Pelican process) must stop the publish; the previous build's output is not
published in its place. Against the real SeaweedFS server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from consent_registry.registry import Registry
from site_gate.staging import PAUSE_ENV

from tests.conftest import ROOT
from tests.consent_gate_build.gate_helpers import no_face_image, write_article

pytestmark = pytest.mark.s3


def _settings_file(tmp_path: Path, content: Path, bucket: str, endpoint: str) -> Path:
    consent = tmp_path / "consent"
    Registry.open(consent / "registry.sqlite3", consent / "consent.key").close()
    path = tmp_path / "siteconf.py"
    path.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from pelicanconf import *  # noqa: F403\n"
        f"PATH = {str(content)!r}\n"
        f"OUTPUT_PATH = {str(tmp_path / 'output')!r}\n"
        f"THEME = {str(ROOT / 'themes' / 'school')!r}\n"
        f"PLUGIN_PATHS = [{str(ROOT / 'plugins')!r}]\n"
        'PLUGINS = ["consent_gate"]\n'
        f"CONSENT_REGISTRY = {str(consent / 'registry.sqlite3')!r}\n"
        f"CONSENT_KEY_FILE = {str(consent / 'consent.key')!r}\n"
        f"CONSENT_MANIFEST_PATH = {str(tmp_path / 'reports' / 'manifest.json')!r}\n"
        f"CONSENT_REPORT_PATH = {str(tmp_path / 'reports' / 'report.json')!r}\n"
        f"CONSENT_CACHE_DIR = {str(tmp_path / 'cache')!r}\n"
        f"S3_BUCKET = {bucket!r}\n"
        f"S3_ENDPOINT_URL = {endpoint!r}\n"
        "S3_MAX_DELETES = None\n"
    )
    return path


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def keys(local_s3, bucket) -> set[str]:
    pages = local_s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for p in pages for o in p.get("Contents", [])}


def test_ctrl_c_of_the_build_publishes_nothing(tmp_path, local_s3, s3_bucket):
    content = tmp_path / "content"
    no_face_image(content / "images" / "meadow.jpg", seed=2)
    write_article(content, "meadow", "![A meadow]({static}/images/meadow.jpg)")
    settings = _settings_file(tmp_path, content, s3_bucket, local_s3.env()["S3_ENDPOINT_URL"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CONSENT_"))}
    env.update(local_s3.env())
    cmd = [sys.executable, "-m", "s3_publish", "--build", "--settings", str(settings), "--quiet"]
    first = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "news/2026/meadow/index.html" in keys(local_s3, s3_bucket)
    before = keys(local_s3, s3_bucket)

    write_article(content, "later", "A later article.")
    # The build stops while Pelican writes (before the gate), and gets Ctrl-C there.
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**env, PAUSE_ENV: "staged"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if "paused at staged" in line or (not line and proc.poll() is not None):
            break
    assert "paused at staged" in seen[-1], "".join(seen)
    builds = [pid for pid in _children(proc.pid)]
    assert builds, "no build process under publish"
    for pid in builds:
        os.kill(pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, out + err
    assert "interrupted" in err and "nothing was published" in err
    assert "Published" not in out
    assert keys(local_s3, s3_bucket) == before
