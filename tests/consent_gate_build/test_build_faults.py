"""Builds under faults: a disk that fills up during re-encoding, Ctrl-C and SIGTERM, and
SIGKILL at each step of the swap that replaces output/. Whatever happens, the last good
site and its publish manifest are either in place byte for byte or replaced by the new
ones, never lost; no temp file is left behind; an interrupted build exits non-zero."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from site_gate.staging import PAUSE_ENV

from tests.conftest import ROOT, manifest_path
from tests.consent_gate_build.gate_helpers import (
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


def temp_files(*folders: Path) -> list[str]:
    found = []
    for folder in folders:
        if folder.is_dir():
            found += [
                str(p)
                for p in folder.rglob("*")
                if p.name.endswith((".tmp-gate", ".tmp")) or p.name.startswith(".tmp-")
            ]
    return sorted(found)


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


def pelican_cmd(content: Path, output: Path, cache: Path) -> list[str]:
    return [
        sys.executable, "-m", "pelican", str(content), "-o", str(output),
        "-s", str(ROOT / "pelicanconf.py"), "-e",
        'PLUGINS=["consent_gate"]',
        f'CONSENT_MANIFEST_PATH="{manifest_path(output)}"',
        f'CONSENT_REPORT_PATH="{output.parent / "report.json"}"',
        f'CONSENT_CACHE_DIR="{cache}"',
    ]  # fmt: skip


def build(content, output, cache, env, pause: str | None = None) -> subprocess.CompletedProcess:
    extra = {PAUSE_ENV: pause} if pause else {}
    return subprocess.run(
        pelican_cmd(content, output, cache),
        cwd=ROOT,
        env={**os.environ, **env, **extra},
        capture_output=True,
        text=True,
    )


def start_paused(content, output, cache, env, step: str) -> subprocess.Popen:
    """A build that stops at `step` of the swap and waits there to be signalled."""
    proc = subprocess.Popen(
        pelican_cmd(content, output, cache),
        cwd=ROOT,
        env={**os.environ, **env, PAUSE_ENV: step},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if f"paused at {step}" in line:
            return proc
    proc.kill()
    raise AssertionError(f"the build never reached {step}:\n{''.join(seen)}")


def add_noise_photos(content: Path, count: int = 3, size: int = 700) -> None:
    """Photos that cannot be compressed: their re-encodings fill a small disk."""
    rng = np.random.default_rng(1)
    for i in range(count):
        noise = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        Image.fromarray(noise).save(content / "images/news" / f"noise-{i}.png")


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "small-disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.decode().strip()})")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_cache_disk_that_fills_during_re_encoding_fails_the_build(
    tmp_path, small_site, small_disk
):
    """The re-encoded copies go to the consent cache: a full cache disk used to withhold
    the consented photos that did not fit, and the build exited 0 with them gone."""
    content, registry = small_site
    output, cache = tmp_path / "output", small_disk / "cache"
    first = build(content, output, cache, registry.env)
    assert first.returncode == 0, first.stderr
    before, manifest = snapshot(output), manifest_path(output).read_bytes()

    add_noise_photos(content)
    write_article(
        content,
        "noise",
        "\n\n".join(f"![Noise {i}]({{static}}/images/news/noise-{i}.png)" for i in range(3)),
    )
    full = build(content, output, cache, registry.env)
    log = full.stdout + full.stderr
    assert full.returncode != 0, log
    assert "No space left" in log
    assert snapshot(output) == before
    assert manifest_path(output).read_bytes() == manifest
    assert leftovers(output) == []
    assert temp_files(output, cache, tmp_path / "output.manifest.json") == []
    assert not list(tmp_path.glob(".tmp-manifest-*"))


def test_a_full_disk_for_the_manifest_leaves_site_and_manifest(
    tmp_path, small_site, small_disk, face_cache
):
    """The manifest is written (to a temp file) before the swap: no room for it, no swap."""
    content, registry = small_site
    output = tmp_path / "output"
    reports = small_disk / "reports"
    reports.mkdir()
    env = {**registry.env}
    cmd_manifest = reports / "output.manifest.json"

    def run():
        # The run's face cache: the manifest's disk is what fills, not the cache's.
        cmd = pelican_cmd(content, output, face_cache)
        cmd = [c for c in cmd if not c.startswith("CONSENT_MANIFEST_PATH")]
        cmd.append(f'CONSENT_MANIFEST_PATH="{cmd_manifest}"')
        return subprocess.run(
            cmd, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True
        )

    first = run()
    assert first.returncode == 0, first.stderr
    before, manifest = snapshot(output), cmd_manifest.read_bytes()
    filler = reports / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
    write_article(content, "later", "A later article.")
    failed = run()
    assert failed.returncode != 0, failed.stdout + failed.stderr
    assert "No space left" in failed.stdout + failed.stderr
    assert snapshot(output) == before
    assert cmd_manifest.read_bytes() == manifest
    assert [p.name for p in reports.iterdir()] == sorted(["filler", cmd_manifest.name])
    assert leftovers(output) == []


def test_stale_manifest_temp_files_are_removed(tmp_path, small_site, face_cache):
    content, registry = small_site
    output = tmp_path / "output"
    dead = tmp_path / ".tmp-manifest-999999999-abcd"
    dead.write_text("{half a manifest")
    old = tmp_path / ".tmp-manifest-x1y2z3"  # named as before writers were named by pid
    old.write_text("{")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    done = build(content, output, face_cache, registry.env)
    assert done.returncode == 0, done.stderr
    assert not dead.exists() and not old.exists()
    assert manifest_path(output).is_file()


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_build_exits_non_zero_and_leaves_the_site(
    tmp_path, small_site, face_cache, signum, status
):
    content, registry = small_site
    output = tmp_path / "output"
    assert build(content, output, face_cache, registry.env).returncode == 0
    before, manifest = snapshot(output), manifest_path(output).read_bytes()
    write_article(content, "later", "A later article.")

    proc = start_paused(content, output, face_cache, registry.env, "before-swap")
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert "stopped" in err
    assert snapshot(output) == before
    assert manifest_path(output).read_bytes() == manifest
    assert leftovers(output) == []


def test_ctrl_c_while_pelican_writes_exits_130(tmp_path, small_site, face_cache):
    """Ctrl-C before the gate runs (Pelican's own writing): Pelican alone ends with 0."""
    content, registry = small_site
    output = tmp_path / "output"
    proc = start_paused(content, output, face_cache, registry.env, "staged")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not output.exists()
    assert leftovers(output) == []
    assert not manifest_path(output).exists()


@pytest.mark.parametrize("step", ["before-swap", "between-renames", "after-swap"])
def test_a_kill_at_any_step_of_the_swap_never_loses_the_site(
    tmp_path, small_site, face_cache, step
):
    content, registry = small_site
    output = tmp_path / "output"
    assert build(content, output, face_cache, registry.env).returncode == 0
    old, old_manifest = snapshot(output), manifest_path(output).read_bytes()
    write_article(content, "later", "A later article.")
    new_page = "news/2026/later/index.html"
    assert new_page not in old

    proc = start_paused(content, output, face_cache, registry.env, step)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if step == "between-renames":
        assert not output.exists()  # the window the recovery is for
        assert any(".previous-" in name for name in leftovers(output))
        assert manifest_path(output).read_bytes() == old_manifest
        # publish puts the last good site back and finds it as its manifest says
        from s3_publish.plan import scan_output
        from site_gate.manifest import read_manifest

        from tests.publish.publish_helpers import settings_for

        manifest = read_manifest(manifest_path(output), output)
        files, refused = scan_output(output, settings_for("site"), manifest)
        assert refused == [] and snapshot(output) == old
    elif step == "before-swap":
        assert snapshot(output) == old
        assert manifest_path(output).read_bytes() == old_manifest
    else:
        assert new_page in snapshot(output)

    # The next build fails (the registry cannot be read): it must not lose the site.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "registry.sqlite3").write_bytes(b"not a database" * 100)
    (bad / "consent.key").write_bytes(b"not a key")
    failed = build(
        content,
        output,
        face_cache,
        {
            "CONSENT_REGISTRY": str(bad / "registry.sqlite3"),
            "CONSENT_KEY_FILE": str(bad / "consent.key"),
        },
    )
    assert failed.returncode != 0
    site = snapshot(output)
    if step == "after-swap":
        assert new_page in site  # the new site had landed before the kill
    else:
        assert site == old
    assert leftovers(output) == []

    done = build(content, output, face_cache, registry.env)
    assert done.returncode == 0, done.stderr
    assert new_page in snapshot(output)
    assert leftovers(output) == []


@pytest.mark.parametrize("step", ["before-swap", "between-renames", "after-swap"])
def test_the_swap_alone_killed_at_each_step(tmp_path, step):
    """The swap in a real process of its own (no build around it), SIGKILLed at each
    step: the old site with its manifest, or the new site with its new manifest (or, after
    the renames, the old manifest, which passes none of the new site's changes)."""
    final, staged = tmp_path / "output", tmp_path / ".output.building-1"
    for folder, text in ((final, "old"), (staged, "new")):
        (folder / "news").mkdir(parents=True)
        (folder / "news" / "index.html").write_text(text)
    manifest, new_manifest = tmp_path / "manifest.json", tmp_path / ".tmp-manifest-1-x"
    manifest.write_text("old manifest")
    new_manifest.write_text("new manifest")
    code = (
        "from pathlib import Path; from site_gate.staging import promote; "
        f"promote(Path({str(staged)!r}), Path({str(final)!r}), "
        f"manifest=(Path({str(new_manifest)!r}), Path({str(manifest)!r})))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **os.environ,
            PAUSE_ENV: step,
            "PYTHONPATH": os.pathsep.join(str(ROOT / f) for f in ("lib", "plugins", "apps")),
        },
        stderr=subprocess.PIPE,
        text=True,
    )
    assert f"paused at {step}" in proc.stderr.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    from site_gate.staging import clear_leftovers

    clear_leftovers(final)  # what the next build (or publish) does first
    site = (final / "news" / "index.html").read_text()
    if step == "after-swap":
        assert (site, manifest.read_text()) == ("new", "new manifest")
    else:
        assert (site, manifest.read_text()) == ("old", "old manifest")
    assert not any(".previous-" in p.name for p in tmp_path.iterdir())
