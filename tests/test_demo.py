"""End to end: `make demo`'s script builds the sample site through the consent gate and
publishes it to a real local S3 server; one demo photo is published, the other withheld.
It runs in a fresh copy of the project, as it seeds the demo registry and photos there."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import copy_env


def test_demo_builds_gates_and_publishes(tmp_path, project_copy):
    output = tmp_path / "output"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.demo",
            "--no-serve",
            "--output",
            str(output),
            "--s3-data",
            str(tmp_path / "s3"),
        ],
        cwd=project_copy,
        env=copy_env(project_copy),
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    gallery = output / "images" / "gallery"
    assert (gallery / "astronaut.png").is_file(), log
    assert not (gallery / "grace_hopper.jpg").exists(), log
    page = (output / "news" / "2026" / "fall-festival-photos" / "index.html").read_text()
    assert "Photo withheld: consent not on file" in page
    assert "grace_hopper.jpg" not in page
    assert "Published to s3://site/:" in log
    assert "(0 takedowns)" in log
