"""Atomic builds: the new site replaces output/ only when the whole build, gate included,
succeeded; a failed, stopped or disk-full build leaves the last good output and its publish
manifest byte for byte, and no process behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from site_common.processes import process_alive

from tests.conftest import ROOT, manifest_path
from tests.consent_gate_build.gate_helpers import (
    build_site,
    copy_face,
    no_face_image,
    seed_registry,
    write_article,
)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def leftovers(output: Path) -> list[str]:
    return sorted(p.name for p in output.parent.iterdir() if p.name.startswith(f".{output.name}."))


@pytest.fixture
def small_site(tmp_path, encodings):
    content = tmp_path / "content"
    copy_face(content, "people/obama/obama3.jpg", "images/news/speaker.jpg")
    no_face_image(content / "images/news/meadow.jpg", seed=3)
    write_article(
        content,
        "speaker",
        "![The speaker]({static}/images/news/speaker.jpg)\n\n"
        "![A meadow]({static}/images/news/meadow.jpg)",
    )
    registry = seed_registry(tmp_path / "registry", encodings, people=("obama",))
    return content, registry


def test_a_failed_build_leaves_the_previous_output_byte_identical(tmp_path, small_site, face_cache):
    content, registry = small_site
    good = build_site(content, tmp_path, "site", registry, face_cache)
    before, manifest = snapshot(good.output), manifest_path(good.output).read_bytes()
    assert "images/news/speaker.jpg" in before

    # The next build fails in the gate: the registry cannot be read.
    write_article(content, "later", "A later article.")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "registry.sqlite3").write_bytes(b"not a database" * 100)
    (bad / "consent.key").write_bytes(b"not a key")
    failed = _rebuild(
        content,
        good.output,
        face_cache,
        {
            "CONSENT_REGISTRY": str(bad / "registry.sqlite3"),
            "CONSENT_KEY_FILE": str(bad / "consent.key"),
        },
    )
    assert failed.returncode != 0
    assert snapshot(good.output) == before
    assert manifest_path(good.output).read_bytes() == manifest
    assert leftovers(good.output) == []


def test_a_full_disk_fails_the_build_and_leaves_the_output(tmp_path, small_site, face_cache):
    content, registry = small_site
    disk = tmp_path / "small-disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.decode().strip()})")
    try:
        output = disk / "output"
        first = _rebuild(content, output, face_cache, registry.env)
        assert first.returncode == 0, first.stderr
        before, manifest = snapshot(output), manifest_path(output).read_bytes()
        # Photos that cannot fit: noise does not compress.
        rng = np.random.default_rng(1)
        for i in range(3):
            noise = rng.integers(0, 255, (700, 700, 3), dtype=np.uint8)
            Image.fromarray(noise).save(content / "images/news" / f"noise-{i}.png")
        full = _rebuild(content, output, face_cache, registry.env)
        assert full.returncode != 0
        log = full.stdout + full.stderr
        assert "No space left" in log or "could not write" in log
        assert snapshot(output) == before
        assert manifest_path(output).read_bytes() == manifest
        assert leftovers(output) == []
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_killing_a_build_leaves_no_process_and_the_next_build_cleans_up(
    tmp_path, small_site, face_cache
):
    content, registry = small_site
    for i in range(6):  # distinct bytes: each photo gets face work in a worker process
        target = content / "images/news" / f"crowd-{i}.jpg"
        shutil.copyfile(content / "images/news/speaker.jpg", target)
        target.write_bytes(target.read_bytes() + bytes([i]))
    output = tmp_path / "out-killed"
    cmd = _pelican(content, output, tmp_path / "fresh-cache") + ["CONSENT_WORKERS=2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **registry.env})
    deadline = time.monotonic() + 120
    children: set[int] = set()
    while time.monotonic() < deadline and not children:
        children = _children(proc.pid)
        time.sleep(0.1)
    assert children, "the build never started its face workers"
    proc.send_signal(signal.SIGKILL)  # only the main process: its workers must follow
    proc.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(process_alive(pid) for pid in children):
        time.sleep(0.2)
    assert not [pid for pid in children if process_alive(pid)], "face workers outlived the build"
    assert not output.exists()
    assert leftovers(output), "the killed build's staging folder should still be there"
    # The next build (what cleans up) without the crowd photos: they were made for the
    # killed build's face workers, and would be searched for faces again here (10 s).
    for crowd in (content / "images/news").glob("crowd-*.jpg"):
        crowd.unlink()
    done = _rebuild(content, output, face_cache, registry.env)
    assert done.returncode == 0, done.stderr
    assert leftovers(output) == []


def _pelican(content: Path, output: Path, cache: Path) -> list[str]:
    return [
        sys.executable, "-m", "pelican", str(content), "-o", str(output),
        "-s", str(ROOT / "pelicanconf.py"), "-e",
        'PLUGINS=["consent_gate"]',
        f'CONSENT_MANIFEST_PATH="{manifest_path(output)}"',
        f'CONSENT_REPORT_PATH="{output.parent / "report.json"}"',
        f'CONSENT_CACHE_DIR="{cache}"',
    ]  # fmt: skip


def _rebuild(content: Path, output: Path, cache: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        _pelican(content, output, cache),
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.add(int(entry.name))
    return found
