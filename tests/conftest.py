"""Shared test helpers: project paths and a real Pelican build in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_FACES = ROOT.parent / "shared" / "faces"


def manifest_path(output: Path) -> Path:
    """Where a test build into `output` writes its publish manifest."""
    return output.parent / f"{output.name}.manifest.json"


def run_pelican(
    output: Path,
    content: Path | None = None,
    settings_file: Path | None = None,
    extra: dict | None = None,
    env: dict | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Build a site with the project's settings into `output` and return the finished process.

    `extra` values are passed to Pelican as JSON (`-e KEY=value`), so they override
    pelicanconf.py exactly as a school's own settings would.
    """
    cmd = [
        sys.executable,
        "-m",
        "pelican",
        str(content or ROOT / "content"),
        "-o",
        str(output),
        "-s",
        str(settings_file or ROOT / "pelicanconf.py"),
    ]
    # The gate's report and publish manifest beside the output, never in the project's
    # reports/ folder, which parallel builds would share.
    extra = {
        "CONSENT_REPORT_PATH": str(output.parent / f"{output.name}.report.json"),
        "CONSENT_MANIFEST_PATH": str(manifest_path(output)),
        **(extra or {}),
    }
    # One -e with every pair: Pelican keeps only the last -e option given.
    cmd += ["-e", *(f"{key}={json.dumps(value)}" for key, value in extra.items())]
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"pelican failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def shared_faces() -> Path:
    if not SHARED_FACES.is_dir():
        pytest.fail(f"the shared face photos are missing: expected them at {SHARED_FACES}")
    return SHARED_FACES


# What a test reaches, read from the source of the test and of every fixture it uses
# (transitively), so a new test is sorted without anyone remembering to mark it.
# `make test-fast` leaves out the first three; `make test` runs everything.
REACHES = {
    "build": ("run_pelican", "build_site", "build_sample", "pelican.Pelican", "tools.demo"),
    "browser": ("chromium", "playwright"),
    "s3": ("LocalS3", "local_s3", "s3_server", "seaweed"),
    "face": ("face_engine", "face_recognition", "encodings"),
}


def _called_helpers(function) -> list:
    """The functions of the test tree that `function` calls by name (one level)."""
    code = getattr(function, "__code__", None)
    found = []
    for name in code.co_names if code else ():
        helper = getattr(function, "__globals__", {}).get(name)
        helper_code = getattr(helper, "__code__", None)
        if helper_code and Path(helper_code.co_filename).is_relative_to(ROOT / "tests"):
            found.append(helper)
    return found


def _reached_source(item: pytest.Item) -> str:
    import inspect

    roots = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for definitions in info.name2fixturedefs.values() if info else ():
        roots += [definition.func for definition in definitions]
    seen, parts, todo = set(), [], [f for f in roots if f is not None]
    while todo:
        function = inspect.unwrap(todo.pop())
        if id(function) in seen:
            continue
        seen.add(id(function))
        try:
            parts.append(inspect.getsource(function))
        except (OSError, TypeError):
            continue
        todo += _called_helpers(function)
    return "\n".join(parts)


def pytest_collection_modifyitems(config, items):
    for item in items:
        text = _reached_source(item)
        for marker, words in REACHES.items():
            if marker not in item.keywords and any(word in text for word in words):
                item.add_marker(getattr(pytest.mark, marker))
