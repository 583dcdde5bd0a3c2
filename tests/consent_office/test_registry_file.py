"""The registry file: backups taken while `consent add` writes, restores, and a damaged
registry or a full disk named as such by `consent`, the build and `publish`."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from consent_cli.cli import main
from consent_registry.registry import Registry

from tests.conftest import ROOT, SHARED_FACES, run_pelican

# `consent add` in a loop, in its own process, with the face engine replaced by random
# templates so that hundreds of writes happen while the test takes its backups.
WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from face_engine import faces
    faces.reference_templates = lambda data, source="", face=None: [
        np.random.default_rng(10_000 + int(data)).normal(0, 0.1, 128)
    ]
    from consent_cli.cli import main
    photo = sys.argv[1]
    for n in range(100000):
        open(photo, "w").write(str(n))
        code = main(["add", f"S{n:05d}", "--name", f"Student {n}", "--photo", photo])
        if code != 0:
            sys.exit(code)
    """
)


@pytest.fixture
def paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    registry = tmp_path / "consent" / "registry.sqlite3"
    key = tmp_path / "keys" / "consent.key"
    monkeypatch.setenv("CONSENT_REGISTRY", str(registry))
    monkeypatch.setenv("CONSENT_KEY_FILE", str(key))
    return registry, key


def fill(registry: Path, key: Path, count: int) -> None:
    rng = np.random.default_rng(7)
    with Registry.open(registry, key) as opened:
        for n in range(count):
            opened.add(f"S{n:04d}", f"Student {n}", [rng.normal(0, 0.1, 128)], actor="set-up")


def damage(registry: Path) -> None:
    """Overwrite the second half of the file, as an interrupted copy or a failing disk does."""
    size = registry.stat().st_size
    with open(registry, "r+b") as handle:
        handle.seek(size // 2)
        handle.write(np.random.default_rng(1).bytes(size - size // 2))


def test_backups_taken_while_consent_add_writes_restore_whole(paths, tmp_path, capsys):
    registry, key = paths
    fill(registry, key, 1)
    photo = tmp_path / "photo.txt"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(photo)],
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(str(ROOT / f) for f in ("lib", "plugins", "apps")),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    backups = []
    try:
        deadline = time.monotonic() + 60
        while len(backups) < 4:
            assert writer.poll() is None, writer.stderr.read()
            assert time.monotonic() < deadline
            with sqlite3.connect(registry) as raw:
                written = raw.execute("SELECT COUNT(*) FROM people").fetchone()[0]
            if written < 5 * (len(backups) + 1):
                time.sleep(0.05)
                continue
            target = tmp_path / "backups" / f"b{len(backups)}.sqlite3"
            assert main(["backup", str(target)]) == 0
            backups.append(target)
    finally:
        writer.terminate()
        writer.wait(timeout=10)
    assert "Backed up the consent registry" in capsys.readouterr().out
    with sqlite3.connect(registry) as raw:
        final = raw.execute("SELECT COUNT(*) FROM people").fetchone()[0]
    counts = []
    for number, backup in enumerate(backups):
        restored = tmp_path / f"restored-{number}" / "registry.sqlite3"
        assert main(["restore", str(backup), "--registry", str(restored), "--yes"]) == 0
        out = capsys.readouterr().out
        assert "The audit log and every seal check out." in out, out
        with Registry.open(restored, key) as opened:
            assert not opened.verify_audit() and not opened.integrity_problems()
            people = opened.list_people()
            counts.append(len(people))
            # A consistent snapshot: every record's add is in the log, nothing more.
            added = {e.person_id for e in opened.audit_log() if e.action == "add"}
            assert added == {p.person_id for p in people}
    assert counts == sorted(counts) and counts[-1] <= final and counts[0] >= 5


def test_restore_replaces_a_damaged_registry_and_keeps_it_aside(paths, tmp_path, capsys):
    registry, key = paths
    fill(registry, key, 40)
    assert main(["backup", str(tmp_path / "backups")]) == 0  # a folder: a dated file in it
    (backup,) = (tmp_path / "backups").iterdir()
    damage(registry)
    capsys.readouterr()
    assert main(["list"]) == 1
    assert "damaged: restore from backup" in capsys.readouterr().err
    assert main(["restore", str(backup), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Restored" in out and "before-restore" in out
    assert main(["list"]) == 0
    assert "S0039" in capsys.readouterr().out
    with Registry.open(registry, key) as opened:
        assert opened.audit_log()[-1].action == "restore-backup"
    # A damaged backup is refused before anything is replaced.
    damage(backup)
    assert main(["restore", str(backup), "--yes"]) == 1
    assert "take an older backup" in capsys.readouterr().err
    assert main(["list"]) == 0


@pytest.mark.s3
def test_a_damaged_registry_stops_the_cli_the_build_and_publish(
    paths, tmp_path, capsys, local_s3, s3_bucket
):
    from tests.publish.publish_helpers import gate_manifest, write_site

    registry, key = paths
    fill(registry, key, 40)
    damage(registry)
    # Before: `consent list` listed a half-overwritten registry without a word.
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert "damaged: restore from backup" in err and "check --registry" not in err

    content = tmp_path / "content"
    (content / "images").mkdir(parents=True)
    (content / "images" / "kit.jpg").write_bytes(
        (SHARED_FACES / "people" / "kit_harington" / "kit1.jpg").read_bytes()
    )
    (content / "pages").mkdir()
    (content / "pages" / "about.md").write_text(
        "Title: About\n\n![Kit]({static}/images/kit.jpg)\n", encoding="utf-8"
    )
    build = run_pelican(tmp_path / "output", content=content, check=False)
    assert build.returncode != 0
    assert "damaged: restore from backup" in build.stdout + build.stderr

    site = write_site(tmp_path / "site")
    conf = tmp_path / "publishconf.py"
    conf.write_text(
        f"S3_BUCKET = {s3_bucket!r}\nOUTPUT_PATH = {str(site)!r}\n"
        f"CONSENT_MANIFEST_PATH = {str(gate_manifest(site))!r}\nPLUGINS = ['consent_gate']\n"
    )
    env = {**os.environ, **local_s3.env()}
    env.pop("AWS_PROFILE", None)
    published = subprocess.run(
        [sys.executable, "-m", "s3_publish", "--settings", str(conf), "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert published.returncode == 1
    assert "damaged: restore from backup" in published.stderr, published.stderr


def test_a_full_disk_is_named_and_nothing_is_saved(paths, tmp_path, capsys, monkeypatch):
    registry, key = paths
    fill(registry, key, 3)
    connect = sqlite3.connect

    def full_disk(*args, **kwargs):
        """SQLite's own "database or disk is full" once the file would have to grow."""
        db = connect(*args, **kwargs)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
        return db

    monkeypatch.setattr(sqlite3, "connect", full_disk)
    photo = tmp_path / "photo.txt"
    photo.write_text("x")
    from face_engine import faces

    big = [np.full(128, 0.01 * i) for i in range(200)]  # enough templates to grow the file
    monkeypatch.setattr(faces, "reference_templates", lambda data, source="", face=None: big)
    capsys.readouterr()
    assert main(["add", "S9999", "--name", "New Student", "--photo", str(photo)]) == 1
    err = capsys.readouterr().err
    assert "the disk is full" in err and "Free some space" in err
    monkeypatch.setattr(sqlite3, "connect", connect)
    with Registry.open(registry, key) as opened:
        assert opened.get("S9999") is None and len(opened.list_people()) == 3
