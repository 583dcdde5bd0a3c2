"""The `consent` command, called through main() with the face engine replaced."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest
from consent_registry.cli import main
from consent_registry.registry import Registry
from face_engine.model import PUBLISH, WITHHOLD, FaceBox, FaceResult, Verdict, sha256_bytes

from .conftest import fake_encoding, write_photo


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def people(paths) -> dict:
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        return {p.person_id: p for p in registry.list_people()}


def test_add_then_list_and_show(paths, fake_faces, capsys, tmp_path):
    one = write_photo(tmp_path / "jamie1.jpg", 1)
    two = write_photo(tmp_path / "jamie2.jpg", 2)
    code, out, err = run(
        capsys,
        "add", "S1024", "--name", "Jamie Rivera", "--photo", str(one), "--photo", str(two),
        "--expires", "2099-06-30", "--grade", "5", "--by", "Ms Lee",
    )  # fmt: skip
    assert code == 0
    assert out.strip() == (
        "Added consent for S1024 (Jamie Rivera): 2 reference photos, scopes website, "
        "expires 2099-06-30."
    )
    assert "Created a new key file" in err and "Back it up" in err
    assert fake_faces == [str(one), str(two)]

    code, out, _ = run(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "ID", "NAME", "ROLE", "GRADE", "SCOPES", "EXPIRES", "STATUS", "TEMPLATES",
    ]  # fmt: skip
    assert lines[1].split() == [
        "S1024", "Jamie", "Rivera", "student", "5", "website", "2099-06-30", "active", "2",
    ]  # fmt: skip

    code, out, _ = run(capsys, "list", "--json")
    (entry,) = json.loads(out)
    assert entry["id"] == "S1024" and entry["templates"] == 2 and entry["status"] == "active"
    assert f"{fake_encoding(1)[0]:.5f}" not in out

    code, out, _ = run(capsys, "show", "S1024")
    assert code == 0
    assert "S1024: Jamie Rivera" in out and "templates:  2" in out
    assert "Ms Lee: add S1024" in out


def test_add_with_scopes_role_and_replace(paths, fake_faces, capsys, tmp_path):
    photo = write_photo(tmp_path / "p.jpg", 3)
    code, out, _ = run(
        capsys, "add", "T7", "--name", "Pat Teacher", "--photo", str(photo), "--role", "staff",
        "--scope", "website", "--scope", "social",
    )  # fmt: skip
    assert code == 0
    assert "scopes social, website, no expiry date." in out

    code, _, err = run(capsys, "add", "T7", "--name", "Pat Teacher", "--photo", str(photo))
    assert code == 1
    assert "already in the registry" in err and "--replace" in err

    code, out, _ = run(capsys, "add", "T7", "--name", "Pat Teacher-Smith", "--replace")
    assert code == 0
    assert out.startswith("Updated consent for T7 (Pat Teacher-Smith): kept 1 stored template")
    updated = people(paths)["T7"]  # an update keeps what it does not mention
    assert updated.role == "staff" and updated.scopes == ("social", "website")


@pytest.mark.parametrize(
    ("photo_content", "extra", "message"),
    [
        ("NOFACE", (), "no face found in"),
        ("TWOFACES", (), "2 faces found in"),
        (None, (), "photo not found"),
        ("FACE:1", ("--expires", "2020-01-01"), "is in the past"),
        ("FACE:1", ("--expires", "30/06/2027"), "is not a date"),
        ("FACE:1", ("--scope", "billboard"), "invalid choice: 'billboard'"),
        ("FACE:1", ("--role", "parent"), "invalid choice: 'parent'"),
    ],
)
def test_add_errors_save_nothing(
    paths, fake_faces, capsys, tmp_path, photo_content, extra, message
):
    photo = tmp_path / "photo.jpg"
    if photo_content is not None:
        write_photo(photo, photo_content)
    code, out, err = run(
        capsys, "add", "S1", "--name", "Jamie Rivera", "--photo", str(photo), *extra
    )
    assert code == 1
    assert message in err
    assert not paths["registry"].exists() or people(paths) == {}


def test_add_needs_a_photo(paths, fake_faces, capsys):
    code, _, err = run(capsys, "add", "S1", "--name", "Jamie Rivera")
    assert code == 1 and "--photo FILE" in err


def test_revoke_remove_never_publish(paths, fake_faces, capsys, tmp_path, monkeypatch):
    for person_id, seed in (("S1", 1), ("S2", 2), ("S3", 3)):
        photo = write_photo(tmp_path / f"{person_id}.jpg", seed)
        assert main(["add", person_id, "--name", f"Child {person_id}", "--photo", str(photo)]) == 0
    capsys.readouterr()

    code, out, _ = run(capsys, "revoke", "S1")
    assert code == 0
    assert out.startswith("Revoked consent for S1 (Child S1): deleted 1 face template.")
    assert people(paths)["S1"].templates == 0

    code, out, _ = run(capsys, "never-publish", "S2")
    assert code == 0 and "Marked S2 (Child S2) never-publish" in out
    assert people(paths)["S2"].never_publish and people(paths)["S2"].templates == 1

    # remove asks first: with no terminal it needs --yes
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _, err = run(capsys, "remove", "S3")
    assert code == 1 and "--yes" in err
    assert "S3" in people(paths)

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    code, out, _ = run(capsys, "remove", "S3")
    assert code == 0 and "Nothing was removed" in out and "S3" in people(paths)

    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    code, out, _ = run(capsys, "remove", "S3")
    assert code == 0 and out.startswith("Removed S3 (Child S3)")
    assert "S3" not in people(paths)

    code, _, err = run(capsys, "remove", "S9", "--yes")
    assert code == 1 and "no record for S9" in err

    code, out, _ = run(capsys, "show", "S3")
    assert code == 0 and "no longer in the registry" in out and "remove S3" in out

    code, out, _ = run(capsys, "list")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:-1]}
    assert rows["S1"][-2:] == ["revoked", "0"]
    assert rows["S2"][-2:] == ["never-publish", "1"]

    code, out, _ = run(capsys, "audit", "--json")
    actions = [(e["action"], e["person_id"]) for e in json.loads(out)]
    assert actions[-3:] == [("revoke", "S1"), ("never-publish", "S2"), ("remove", "S3")]


def test_unknown_id_and_bad_usage_are_plain_errors(paths, capsys):
    for command in ("revoke", "remove", "never-publish"):
        code, _, err = run(capsys, command, "S404", *(["--yes"] if command == "remove" else []))
        assert code == 1 and "no consent registry" in err.lower()
    assert not paths["registry"].exists()  # only add, import and approve create one
    Registry.open(paths["registry"], paths["key_file"]).close()
    code, _, err = run(capsys, "revoke", "S404")
    assert code == 1 and "no record for S404" in err
    code, _, err = run(capsys, "frobnicate")
    assert code == 1 and "invalid choice" in err
    code, _, err = run(capsys, "add", "S1")
    assert code == 1 and "--name" in err


def test_missing_key_for_an_existing_registry(paths, fake_faces, capsys, tmp_path):
    photo = write_photo(tmp_path / "p.jpg", 1)
    assert main(["add", "S1", "--name", "Jamie Rivera", "--photo", str(photo)]) == 0
    capsys.readouterr()
    missing = tmp_path / "nowhere.key"
    code, _, err = run(capsys, "list", "--key-file", str(missing))
    assert code == 1
    assert "does not exist" in err and "restore the key file from your backup" in err
    assert not missing.exists()


def test_read_only_commands_do_not_create_a_registry(paths, capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0 and "no consent registry" in out.lower()
    code, _, err = run(capsys, "show", "S1")
    assert code == 1 and "no consent registry" in err.lower()
    assert not paths["registry"].exists() and not paths["key_file"].exists()


def test_registry_option_wins_over_environment(paths, fake_faces, capsys, tmp_path):
    other = tmp_path / "other" / "r.sqlite3"
    photo = write_photo(tmp_path / "p.jpg", 1)
    code, _, _ = run(
        capsys, "add", "S1", "--name", "Jamie Rivera", "--photo", str(photo),
        "--registry", str(other), "--key-file", str(tmp_path / "other.key"),
    )  # fmt: skip
    assert code == 0
    assert other.exists() and not paths["registry"].exists()


def test_approve_unapprove_by_file_and_hash(paths, capsys, tmp_path):
    image = tmp_path / "trip.jpg"
    image.write_bytes(b"image bytes of a class trip")
    digest = sha256_bytes(image.read_bytes())
    code, out, _ = run(capsys, "approve", str(image), "--by", "Ms Lee", "--reason", "parents ok")
    assert code == 0 and digest[:12] in out and "Ms Lee" in out
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        assert registry.approvals()[digest].reason == "parents ok"

    code, out, _ = run(capsys, "unapprove", "--sha256", digest.upper())
    assert code == 0 and "Withdrew the approval" in out
    code, _, err = run(capsys, "unapprove", "--sha256", digest)
    assert code == 1 and "no approval" in err

    code, _, err = run(capsys, "approve", str(tmp_path / "gone.jpg"), "--by", "A", "--reason", "B")
    assert code == 1 and "does not exist" in err
    code, _, err = run(capsys, "approve", "--by", "Ms Lee", "--reason", "ok")
    assert code == 1 and "--sha256" in err
    code, _, err = run(capsys, "approve", str(image), "--reason", "ok")
    assert code == 1 and "--by" in err


def _report(path, images) -> None:
    path.write_text(json.dumps({"generated_at": "2026-11-23T09:00:00+00:00", "images": images}))


def test_review(paths, capsys, tmp_path):
    report = tmp_path / "reports" / "consent-report.json"
    code, _, err = run(capsys, "review", "--report", str(report))
    assert code == 1 and "Run `make html` first" in err

    report.parent.mkdir()
    waiting, approved = "1" * 64, "2" * 64
    _report(
        report,
        [
            {"path": "images/trip.jpg", "sha256": waiting, "verdict": "withhold",
             "reasons": ["face at (1,2) 50x50: unknown face"], "faces": [], "approved_by": None,
             "output_path": "images/trip.jpg", "pages": ["news/2026/trip/index.html"]},
            {"path": "images/play.jpg", "sha256": approved, "verdict": "withhold",
             "reasons": ["face: unknown face"], "faces": [], "approved_by": None},
            {"path": "images/logo.png", "sha256": "3" * 64, "verdict": "publish",
             "reasons": ["no faces found"], "faces": [], "approved_by": None},
        ],
    )  # fmt: skip
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.approve(approved, by="Ms Lee", reason="parents ok")

    code, out, _ = run(capsys, "review", "--report", str(report))
    assert code == 0
    assert "1 withheld image waiting for a decision" in out
    assert "images/trip.jpg" in out and "unknown face" in out
    assert "news/2026/trip/index.html" in out
    assert f"consent approve --sha256 {waiting}" in out
    assert "images/play.jpg" not in out and "images/logo.png" not in out
    assert "1 withheld image approved since that build" in out

    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.approve(waiting, by="Ms Lee", reason="parents ok")
    code, out, _ = run(capsys, "review", "--report", str(report))
    assert code == 0 and "No withheld images waiting" in out

    report.write_text("{not json")
    code, _, err = run(capsys, "review", "--report", str(report))
    assert code == 1 and "cannot be read" in err


def test_purge_expired(paths, capsys):
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("OLD", "Old Example", [fake_encoding(1)], expires=date(2020, 6, 30))
        registry.add("NEW", "New Example", [fake_encoding(2)], expires=date(2099, 6, 30))
    code, out, _ = run(capsys, "purge-expired", "--by", "office")
    assert code == 0 and "1 expired record: OLD." in out
    assert people(paths)["OLD"].templates == 0 and people(paths)["NEW"].templates == 1
    code, out, _ = run(capsys, "purge-expired")
    assert code == 0 and "nothing to delete" in out


def test_check_output_and_exit_codes(paths, capsys, tmp_path, monkeypatch):
    """The verdicts come from decision.check_files (replaced here; the real engine is
    exercised in test_consent_integration.py)."""
    from face_engine import decision

    good, bad = tmp_path / "good.jpg", tmp_path / "bad.jpg"
    good.write_bytes(b"good")
    bad.write_bytes(b"bad")
    box = FaceBox(10, 60, 60, 10)
    matched = FaceResult(box, "S1", 0.31, None, True, "matched S1 (consent on file)")
    unknown = FaceResult(box, None, 0.8, None, False, "unknown face")
    verdicts = {
        str(good): Verdict(
            str(good), "g", PUBLISH, ["all 1 face(s) have consent on file"], [matched]
        ),
        str(bad): Verdict(
            str(bad), "b", WITHHOLD, ["face at (10,10) 50x50: unknown face"], [unknown]
        ),
    }
    seen = {}

    def check_files(paths_, snapshot, settings, progress=True, display_names=None):
        seen.update(settings=settings, progress=progress, names=display_names)
        return [verdicts[str(p)] for p in paths_]

    monkeypatch.setattr(decision, "check_files", check_files)
    code, out, err = run(capsys, "check", str(good))
    assert code == 0
    assert out.splitlines()[0] == f"PUBLISH  {good} — all 1 face(s) have consent on file"
    assert "face 1 at (10,10) 50x50: matched S1 (consent on file) (distance 0.31)" in out
    assert "no consent registry" in err.lower()  # no registry yet: every face unknown
    assert seen["settings"].registry == paths["registry"] and seen["progress"] is True

    code, out, _ = run(capsys, "check", str(good), str(bad))
    assert code == 3
    assert f"WITHHOLD {bad} — face at (10,10) 50x50: unknown face" in out

    code, out, _ = run(capsys, "check", "--json", str(good), str(bad))
    assert code == 3 and seen["progress"] is False
    assert [v["verdict"] for v in json.loads(out)] == ["publish", "withhold"]

    code, out, _ = run(capsys, "check", str(tmp_path))  # a folder: every image in it
    assert code == 3 and seen["names"] == [str(bad), str(good)]

    code, _, err = run(capsys, "check", str(tmp_path / "missing.jpg"))
    assert code == 1 and "not found" in err


def test_damaged_registry_is_a_plain_error(paths, fake_faces, capsys, tmp_path):
    photo = write_photo(tmp_path / "p.jpg", 1)
    assert main(["add", "S1", "--name", "Jamie Rivera", "--photo", str(photo)]) == 0
    capsys.readouterr()
    paths["registry"].write_bytes(b"garbage" * 1000)
    code, _, err = run(capsys, "list")
    assert code == 1 and "not a consent registry" in err
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(paths["registry"]).execute("SELECT * FROM people").fetchall()
