"""The `consent` command with the real face engine on the shared face photos, and the
installed console script."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from consent_cli.cli import main
from consent_registry.registry import Registry
from face_engine.model import sha256_bytes

from .conftest import CONSENT_SCRIPT

ROOT = Path(__file__).resolve().parents[2]
FACES = ROOT.parent / "shared" / "faces"
DEMO = ROOT / "consent" / "demo"


def consent(workdir: Path, office: dict, *args: str) -> subprocess.CompletedProcess:
    """Run the installed `consent` script in `workdir` (so its face cache lives there)."""
    env = {
        **os.environ,
        "CONSENT_REGISTRY": str(office["registry"]),
        "CONSENT_KEY_FILE": str(office["key_file"]),
    }
    return subprocess.run(
        [str(CONSENT_SCRIPT), *args], cwd=workdir, env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def office(tmp_path_factory) -> dict:
    """A registry holding Obama (from obama1.jpg), checked once against two photos."""
    if not FACES.is_dir():
        pytest.fail(f"the shared face photos are missing: expected them at {FACES}")
    assert CONSENT_SCRIPT.is_file(), f"the console script is not installed at {CONSENT_SCRIPT}"
    workdir = tmp_path_factory.mktemp("office")
    office = {
        "workdir": workdir,
        "registry": workdir / "consent" / "registry.sqlite3",
        "key_file": workdir / "keys" / "consent.key",
    }
    office["add"] = consent(
        workdir,
        office,
        "add", "OBAMA", "--name", "Barack Obama", "--role", "staff", "--expires", "2099-06-30",
        "--photo", str(FACES / "people/obama/obama1.jpg"),
    )  # fmt: skip
    # The check in this process (main(argv)): the console script is the add's test above,
    # and the check's exit code from the installed command is test_clock_cli's. A second
    # `consent` process loading the face engine cost 2 CPU-seconds.
    office["check"] = consent_in_process(
        workdir,
        office,
        "check", "--json",
        str(FACES / "people/obama/obama2.jpg"), str(FACES / "people/biden/biden1.jpg"),
    )  # fmt: skip
    return office


def consent_in_process(workdir: Path, office: dict, *args: str) -> subprocess.CompletedProcess:
    """`consent ARGS` as main(argv) in `workdir`, its registry given by option; the answer
    as a finished process's."""
    out, err = io.StringIO(), io.StringIO()
    where = ["--registry", str(office["registry"]), "--key-file", str(office["key_file"])]
    with contextlib.chdir(workdir), redirect_stdout(out), redirect_stderr(err):
        code = main([*args, *where])
    return subprocess.CompletedProcess(["consent", *args], code, out.getvalue(), err.getvalue())


def test_console_script_adds_with_the_real_engine(office):
    added = office["add"]
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == (
        "Added consent for OBAMA (Barack Obama): 1 reference photo, scopes website, "
        "expires 2099-06-30."
    )
    assert "Traceback" not in added.stderr
    with Registry.open(office["registry"], office["key_file"]) as registry:
        (person,) = registry.list_people()
    # The photo as it is and three scaled-down copies (faces.TEMPLATE_FACE_SIDES).
    assert person.templates == 4 and person.role == "staff"


def test_check_json_publishes_the_consented_face_and_withholds_the_other(office):
    checked = office["check"]
    assert checked.returncode == 3, checked.stderr  # one image withheld
    verdicts = json.loads(checked.stdout)
    assert [Path(v["path"]).name for v in verdicts] == ["obama2.jpg", "biden1.jpg"]
    obama, biden = verdicts
    for verdict in verdicts:
        assert set(verdict) >= {"path", "sha256", "verdict", "reasons", "faces", "approved_by"}
        assert len(verdict["faces"]) == 1
        assert set(verdict["faces"][0]["box"]) == {"top", "right", "bottom", "left"}
        assert verdict["reasons"]
    assert obama["verdict"] == "publish"
    assert obama["faces"][0]["person_id"] == "OBAMA"
    assert obama["faces"][0]["distance"] <= 0.5
    assert biden["verdict"] == "withhold"
    assert biden["faces"][0]["person_id"] is None
    assert biden["faces"][0]["distance"] > 0.5
    assert "unknown face" in biden["reasons"][0]
    assert biden["sha256"] == sha256_bytes((FACES / "people/biden/biden1.jpg").read_bytes())


def test_check_human_output(office, capsys, monkeypatch):
    monkeypatch.chdir(office["workdir"])  # reuse the face cache of the first check
    obama2 = FACES / "people/obama/obama2.jpg"
    biden1 = FACES / "people/biden/biden1.jpg"
    code = main(
        ["check", str(obama2), str(biden1), "--registry", str(office["registry"]),
         "--key-file", str(office["key_file"])]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 3
    lines = out.splitlines()
    assert lines[0].startswith(f"PUBLISH  {obama2} — all 1 face(s) have consent on file")
    assert lines[1].strip().startswith("face 1 at (") and "matched OBAMA" in lines[1]
    assert lines[2].startswith(f"WITHHOLD {biden1} — face at (")
    assert "unknown face" in lines[3]
    assert lines[-1] == "2 images: 1 publish, 1 withheld."


def test_review_then_approve_publishes_the_image(office, capsys, monkeypatch):
    monkeypatch.chdir(office["workdir"])
    where = ["--registry", str(office["registry"]), "--key-file", str(office["key_file"])]
    report = office["workdir"] / "reports" / "consent-report.json"
    report.parent.mkdir(exist_ok=True)
    images = [
        {**v, "output_path": f"images/{Path(v['path']).name}"}
        for v in json.loads(office["check"].stdout)
    ]
    report.write_text(json.dumps({"generated_at": "2026-11-23T10:00:00+00:00", "images": images}))

    assert main(["review", "--report", str(report), *where]) == 0
    out = capsys.readouterr().out
    assert "1 withheld image waiting for a decision" in out
    assert "biden1.jpg" in out and "obama2.jpg" not in out

    biden1 = FACES / "people/biden/biden1.jpg"
    approve = ["approve", str(biden1), "--by", "Ms Lee", "--reason", "visiting speaker"]
    # A face matching no record is not "nobody": the office says who it is.
    assert main([*approve, "--shows", "nobody", *where]) == 1
    out, err = capsys.readouterr()
    assert "matches no active record; closest: OBAMA Barack Obama" in out
    assert "--not-student" in err and "Nothing was approved" in err
    code = main([*approve, "--not-student", "visitor", *where])  # no one the school registers
    assert code == 0
    capsys.readouterr()
    assert main(["review", "--report", str(report), *where]) == 0
    out = capsys.readouterr().out
    assert "No withheld images waiting" in out and "approved since that build" in out

    assert main(["check", "--json", str(biden1), *where]) == 0
    (verdict,) = json.loads(capsys.readouterr().out)
    assert verdict["verdict"] == "publish" and verdict["approved_by"] == "Ms Lee"

    # A group photo: the gate recognises OBAMA in it, so the approval must name him...
    group = FACES / "groups/obama_and_biden.jpg"
    approve = ["approve", str(group), "--by", "Ms Lee", "--reason", "assembly", *where]
    assert main([*approve, "--shows", "nobody"]) == 1
    assert "the gate recognises OBAMA" in capsys.readouterr().err
    assert main([*approve, "--shows", "OBAMA"]) == 1  # and say who the other face is
    assert "--not-student" in capsys.readouterr().err
    assert main([*approve, "--shows", "OBAMA", "--not-student", "visitor"]) == 0
    capsys.readouterr()
    assert main(["check", "--json", str(group), *where]) == 0
    (verdict,) = json.loads(capsys.readouterr().out)
    assert verdict["verdict"] == "publish" and verdict["approved_by"] == "Ms Lee"

    # ...and revoking his consent takes down his own photo and the approved group photo.
    assert main(["revoke", "OBAMA", *where]) == 0
    out = capsys.readouterr().out
    assert "Photos showing OBAMA in the last build" in out
    assert "obama2.jpg: taken down from the website at the next publish" in out
    assert f"  {group}, approved by Ms Lee on " in out
    assert main(["check", "--json", str(FACES / "people/obama/obama2.jpg"), *where]) == 3
    (verdict,) = json.loads(capsys.readouterr().out)
    assert verdict["verdict"] == "withhold"
    assert main(["check", "--json", str(group), *where]) == 3
    (verdict,) = json.loads(capsys.readouterr().out)
    assert verdict["verdict"] == "withhold" and verdict["approved_by"] is None
    assert "no longer holds: OBAMA, shown in it: consent revoked" in verdict["reasons"][0]


def test_the_same_person_cannot_be_enrolled_under_a_second_id(tmp_path, capsys, monkeypatch):
    """Two photos of one person, two ids: refused, so revoking the first id cannot let the
    person's photos publish as the second."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSENT_REGISTRY", str(tmp_path / "registry.sqlite3"))
    monkeypatch.setenv("CONSENT_KEY_FILE", str(tmp_path / "consent.key"))
    kit = FACES / "people/kit_harington"
    assert main(["add", "S1024", "--name", "Kit Example", "--photo", str(kit / "kit1.jpg")]) == 0
    capsys.readouterr()
    second = ["add", "S2048", "--name", "Kit Again", "--photo", str(kit / "kit2.jpg")]
    assert main(second) == 1
    err = capsys.readouterr().err
    assert "the face in the photos for S2048 matches the record S1024" in err
    assert "--lookalike-of S1024" in err

    assert main(["revoke", "S1024"]) == 0
    capsys.readouterr()
    assert main(["check", "--json", str(kit / "kit3.jpg")]) == 3
    (verdict,) = json.loads(capsys.readouterr().out)
    assert verdict["verdict"] == "withhold"

    # Someone else's photo is no look-alike: added without a word.
    rose = FACES / "people/rose_leslie/rose1.jpg"
    assert main(["add", "S4096", "--name", "Rose Example", "--photo", str(rose)]) == 0
    # A confirmed look-alike (twins) is added, and the confirmation is audited.
    assert main([*second, "--lookalike-of", "S1024", "--by", "Ms Lee"]) == 0
    capsys.readouterr()
    assert main(["audit", "S2048", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["details"]["confirmed_lookalike_of"] == ["S1024"]


def test_import_with_the_real_engine_is_all_or_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CONSENT_REGISTRY", str(tmp_path / "registry.sqlite3"))
    monkeypatch.setenv("CONSENT_KEY_FILE", str(tmp_path / "consent.key"))
    export = tmp_path / "export.csv"
    export.write_text(
        "Student_Number,Name,Grade_Level,Photo Release,Photo\n"
        "S1,Joe Example,5,Y,people/biden/biden2.jpg\n"
        "S2,Group Example,5,Y,groups/obama_and_biden.jpg\n"
    )
    code = main(["import", str(export), "--photos-dir", str(FACES)])
    err = capsys.readouterr().err
    assert code == 1
    assert "row 3 (S2): 2 faces found in" in err and "obama_and_biden.jpg" in err
    assert "row 2" not in err
    with Registry.open(tmp_path / "registry.sqlite3", tmp_path / "consent.key") as registry:
        assert registry.list_people() == []


def test_demo_export_imports(tmp_path, capsys, monkeypatch):
    """consent/demo/students.csv with the reference photos the demo takes from installed
    packages (see consent/demo/README.md)."""
    import runpy

    photos = tmp_path / "demo-photos"
    runpy.run_path(str(DEMO / "demo_photos.py"), run_name="demo_photos")["copy_demo_photos"](photos)
    assert sorted(p.relative_to(photos).as_posix() for p in photos.rglob("*.*")) == [
        "DEMO-0001/grace_hopper.jpg",
        "DEMO-0002/astronaut.png",
    ]
    registry, key = tmp_path / "demo.sqlite3", tmp_path / "demo.key"
    code = main(
        ["import", str(DEMO / "students.csv"), "--photos-dir", str(photos),
         "--registry", str(registry), "--key-file", str(key), "--by", "demo"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Done: 1 added, 0 updated, 0 revoked." in out
    assert "Skipped 1: no photo release" in out and "DEMO-0002" in out
    assert "Skipped 1: expiry date already passed" in out and "DEMO-0003" in out
    with Registry.open(registry, key) as opened:
        (person,) = opened.list_people()
    assert person.person_id == "DEMO-0001" and person.templates == 4
    shutil.rmtree(photos)
