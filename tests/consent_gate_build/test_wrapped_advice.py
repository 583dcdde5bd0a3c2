"""The build's advice for a withheld photo survives Pelican's log wrapping: in an
80-column terminal the log handler cuts long lines, and the `consent approve` command
copied from the wrapped warning must still name the photo (the short hash is never cut,
and the command accepts it)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from consent_cli.cli import main as consent_main

from tests.conftest import ROOT, manifest_path
from tests.consent_gate_build.gate_helpers import copy_face, write_article


def test_the_approve_command_copied_from_a_wrapped_warning_works(tmp_path, capsys):
    content = tmp_path / "content"
    copy_face(content, "people/kit_harington/kit1.jpg", "images/trip/kit.jpg")
    write_article(content, "trip", "![A student on the trip]({static}/images/trip/kit.jpg)")
    output, report = tmp_path / "out", tmp_path / "report.json"
    registry, key_file = tmp_path / "registry.sqlite3", tmp_path / "consent.key"
    overrides = {
        "PLUGINS": ["consent_gate"],
        "CONSENT_REPORT_PATH": str(report),
        "CONSENT_MANIFEST_PATH": str(manifest_path(output)),
        "CONSENT_CACHE_DIR": str(tmp_path / "cache"),
    }
    command = [sys.executable, "-m", "pelican", str(content), "-o", str(output)]
    command += ["-s", str(ROOT / "pelicanconf.py"), "-e"]
    command += [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
    env = {**os.environ, "COLUMNS": "80", "CONSENT_REGISTRY": str(registry),
           "CONSENT_KEY_FILE": str(key_file)}  # fmt: skip
    build = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    printed = build.stdout + build.stderr
    lines = printed.splitlines()
    warning = [line for line in lines if "WARNING" in line and "withheld images/" in line]
    assert warning and len(warning[0]) <= 80  # the log handler wrapped the warning
    images = json.loads(report.read_text())["images"]
    (sha256,) = [i["sha256"] for i in images if i["output_path"] == "images/trip/kit.jpg"]
    # What the officer copies: the hash after `consent approve`, as one line shows it.
    (line,) = [line for line in lines if re.search(r"approve\s*$|approve [0-9a-f]", line)]
    after = printed.split("consent approve", 1)[1].split()[0]
    assert after in line or after in lines[lines.index(line) + 1]
    assert sha256.startswith(after) and len(after) >= 12

    argv = ["approve", after, "--registry", str(registry), "--key-file", str(key_file)]
    argv += ["--shows", "nobody", "--by", "Ms Lee", "--reason", "family agreed",
             "--report", str(report)]  # fmt: skip
    assert consent_main(argv) == 0, capsys.readouterr().err
    assert f"sha256 {sha256[:12]}" in capsys.readouterr().out
    from consent_registry.registry import Registry

    with Registry.open(registry, key_file) as opened:
        assert list(opened.approvals()) == [sha256]


def test_a_short_hash_two_images_share_or_none_has_is_refused(tmp_path, capsys):
    report = tmp_path / "report.json"
    images = [{"sha256": "ab" * 32, "output_path": "a.jpg"},
              {"sha256": "abababababab" + "0" * 52, "output_path": "b.jpg"}]  # fmt: skip
    report.write_text(json.dumps({"images": images}))
    tail = ["--registry", str(tmp_path / "r.sqlite3"), "--key-file", str(tmp_path / "k")]
    tail += ["--shows", "nobody", "--by", "x", "--reason", "y", "--report", str(report)]
    assert consent_main(["approve", "abababababab", *tail]) != 0
    assert "2 images of the build's report" in capsys.readouterr().err
    assert consent_main(["approve", "cdcdcdcdcdcd", *tail]) != 0
    assert "no image of the build's report" in capsys.readouterr().err
