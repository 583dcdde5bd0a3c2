"""The project installs as one package: the wheel, in a fresh environment, gives the
`consent` and `publish` commands and builds a site through the consent gate with nothing of
the checkout beside it (no lib/, plugins/ or apps/ folder to fall back on).

The environment is made offline from uv's cache. `uv sync --frozen` fills that cache with
the locked wheels but never reads their metadata, and `uv lock` read the metadata of one
wheel per version (the first listed, often a macOS one), so resolving the platform wheels
from scratch offline fails ("brotli needs to be downloaded from a registry"). The test
therefore installs the locked versions first (`uv export --frozen`, without resolving),
then installs the wheel itself with resolution: uv reads the installed packages' metadata
and must find every requirement of the wheel met, so a dependency missing from the lock or
a version the lock does not allow still fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.build

UV = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")


def _run(cmd: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `cmd`; a failure shows its whole output."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, (
        f"{cmd[:3]} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh virtual environment holding the built wheel and the locked dependencies."""
    if not Path(UV).exists():
        pytest.fail(f"uv is missing: expected it on PATH or at {UV} (`make bootstrap`)")
    work = tmp_path_factory.mktemp("wheel")
    _run([UV, "build", "--wheel", "--offline", "-o", str(work / "dist")], cwd=ROOT)
    wheels = list((work / "dist").glob("*.whl"))
    assert len(wheels) == 1, wheels
    requirements = work / "requirements.txt"
    _run(
        [UV, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes"]
        + ["-o", str(requirements)],
        cwd=ROOT,
    )
    _run([UV, "venv", str(work / "venv")], cwd=work)
    python = str(work / "venv" / "bin" / "python")
    install = [UV, "pip", "install", "--offline", "--python", python]
    _run([*install, "--no-deps", "-r", str(requirements)], cwd=work)
    _run([*install, str(wheels[0])], cwd=work)
    _run([UV, "pip", "check", "--python", python], cwd=work)
    return work / "venv"


def _clean_env() -> dict[str, str]:
    """The environment without the checkout's: no PYTHONPATH, no active virtualenv."""
    drop = {"PYTHONPATH", "VIRTUAL_ENV", "CONSENT_REGISTRY", "CONSENT_KEY_FILE"}
    return {key: value for key, value in os.environ.items() if key not in drop}


@pytest.mark.parametrize("command", ["consent", "publish"])
def test_the_commands_run_from_the_installed_package(venv, tmp_path, command):
    proc = _run([str(venv / "bin" / command), "--help"], cwd=tmp_path, env=_clean_env())
    assert proc.stdout.lower().startswith(f"usage: {command}")  # click and argparse


def test_the_installed_package_builds_the_sample_site_through_the_gate(venv, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    for folder in ("content", "themes"):
        shutil.copytree(ROOT / folder, site / folder)
    shutil.copy2(ROOT / "pelicanconf.py", site / "pelicanconf.py")
    assert not any((site / folder).exists() for folder in ("lib", "plugins", "apps"))
    report = tmp_path / "report.json"
    settings = {
        "CONSENT_REPORT_PATH": str(report),
        "CONSENT_MANIFEST_PATH": str(tmp_path / "manifest.json"),
        "CONSENT_CACHE_DIR": str(tmp_path / "face-cache"),
    }
    cmd = [str(venv / "bin" / "pelican"), "content", "-o", "output", "-s", "pelicanconf.py"]
    cmd += ["-e", *(f"{key}={json.dumps(value)}" for key, value in settings.items())]
    _run(cmd, cwd=site, env=_clean_env())
    assert (site / "output" / "index.html").is_file()
    # The gate ran: its report lists the site's pictures.
    images = json.loads(report.read_text(encoding="utf-8"))["images"]
    assert images
