"""The `consent` command, called through main() with the face engine replaced."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from consent_cli.cli import main
from consent_registry.advice import approve_command
from consent_registry.registry import Registry
from consent_registry.settings import GateSettings
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
        ("FACE:1", ("--scope", "billboard"), "'billboard' is not one of 'website'"),
        ("FACE:1", ("--role", "parent"), "'parent' is not one of 'student', 'staff'"),
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
    assert code == 1 and "No such command 'frobnicate'" in err and "see `consent --help`" in err
    code, _, err = run(capsys, "add", "S1")
    assert code == 1 and "--name" in err


@pytest.mark.parametrize(
    ("argv", "problem", "where"),
    [
        (("add", "S1", "--frob"), "No such option '--frob'", "consent add"),
        (("add",), "Missing argument 'ID'", "consent add"),
        (("add", "S1", "--if-version", "two"), "'two' is not a valid integer", "consent add"),
        (("check",), "Missing argument 'IMAGE...'", "consent check"),
        (
            ("reconsent", "S1", "--on", "2026-01-01", "--evidence", "form"),
            "Missing option '--by'",
            "consent reconsent",
        ),
        (("user", "add", "m.chen", "--role", "boss"), "'boss' is not one of", "consent user add"),
        (("user",), "Missing command", "consent user"),
        ((), "Missing command", "consent"),
    ],
)
def test_a_mistyped_command_line_says_what_is_wrong_and_changes_nothing(
    paths, capsys, argv, problem, where
):
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert f"Usage: {where} " in err
    assert problem in err and f"(see `{where} --help`)" in err
    assert not paths["registry"].exists() and not paths["key_file"].exists()


def test_help_lists_every_command_by_subject(paths, capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    listed = re.findall(r"(?m)^  ([a-z][\w-]*)  ", out.partition("Commands:")[2])
    assert listed[:3] == ["add", "revoke", "remove"]
    assert {"approve", "check", "purge-expired", "serve", "user", "takedowns-ran"} <= set(listed)
    code, out, _ = run(capsys, "user", "add", "-h")
    assert code == 0
    assert "the sign-in name" in out and "--password-stdin" in out and "--registry PATH" in out
    assert not paths["registry"].exists()


def test_ctrl_c_exits_130_and_says_nothing_more_was_saved(paths, capsys, monkeypatch):
    Registry.open(paths["registry"], paths["key_file"]).close()

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Registry, "list_people", interrupted)
    code, _, err = run(capsys, "list")
    assert code == 130 and "interrupted; nothing more was saved" in err


def test_input_ending_at_a_question_is_an_error_not_a_yes(
    paths, fake_faces, capsys, tmp_path, monkeypatch
):
    photo = write_photo(tmp_path / "p.jpg", 1)
    assert main(["add", "S1", "--name", "Jamie Rivera", "--photo", str(photo)]) == 0
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    def ended(prompt):
        raise EOFError

    monkeypatch.setattr("builtins.input", ended)
    capsys.readouterr()
    code, _, err = run(capsys, "remove", "S1")
    assert code == 1 and "the input ended" in err
    assert "S1" in people(paths)


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
    approve = ("approve", str(image), "--by", "Ms Lee", "--reason", "parents ok")
    code, _, err = run(capsys, *approve)
    assert code == 1 and "say who is in the photo" in err and "--shows nobody" in err
    code, _, err = run(capsys, *approve, "--shows", "S1")
    assert code == 1 and "no record for S1" in err and "nothing was approved" in err
    code, _, err = run(capsys, *approve, "--shows", "nobody", "--shows", "S1")
    assert code == 1 and "cannot be given with ids" in err
    code, out, _ = run(capsys, *approve, "--shows", "nobody")
    assert code == 0 and digest[:12] in out and "Ms Lee" in out and "It shows nobody" in out
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        approval = registry.approvals()[digest]
        assert approval.reason == "parents ok" and approval.shows == ()
        assert approval.label == str(image)

    code, out, _ = run(capsys, "unapprove", "--sha256", digest.upper())
    assert code == 0 and "Withdrew the approval" in out
    code, _, err = run(capsys, "unapprove", "--sha256", digest)
    assert code == 1 and "no approval" in err

    code, _, err = run(
        capsys, "approve", str(tmp_path / "gone.jpg"), "--by", "A", "--reason", "B",
        "--shows", "nobody",
    )  # fmt: skip
    assert code == 1 and "does not exist" in err
    code, _, err = run(capsys, "approve", "--by", "Ms Lee", "--reason", "ok", "--shows", "nobody")
    assert code == 1 and "--sha256" in err
    code, _, err = run(capsys, "approve", str(image), "--reason", "ok", "--shows", "nobody")
    assert code == 1 and "--by" in err
    # The hash as the build prints it may stand in place of the file.
    code, out, _ = run(capsys, "approve", digest, "--by", "A", "--reason", "B", "--shows", "nobody")
    assert code == 0 and f"sha256 {digest[:12]}" in out


def test_approve_names_the_people_in_the_photo(paths, fake_faces, capsys, tmp_path):
    for person_id, seed in (("S1", 1), ("S2", 2)):
        photo = write_photo(tmp_path / f"{person_id}.jpg", seed)
        assert main(["add", person_id, "--name", f"Child {person_id}", "--photo", str(photo)]) == 0
    assert main(["never-publish", "S2"]) == 0
    capsys.readouterr()
    digest = "4" * 64
    base = ("approve", "--sha256", digest, "--by", "Ms Lee", "--reason", "class photo")
    code, _, err = run(capsys, *base, "--shows", "S2")
    assert code == 1 and "--shows S2 (Child S2): marked never-publish" in err
    # The last build recognised S1 in it: the office must name them.
    report = paths["root"] / "reports" / "consent-report.json"
    report.parent.mkdir()
    face = {"person_id": "S1", "ok": True, "reason": "matched S1 (consent on file)"}
    _report(report, [{"output_path": "images/g.jpg", "sha256": digest, "verdict": "withhold",
                      "faces": [face, {"person_id": None, "ok": False}]}])  # fmt: skip
    code, _, err = run(capsys, *base, "--shows", "nobody", "--report", str(report))
    assert code == 1 and "the gate recognises S1" in err and "--shows S1" in err
    code, out, _ = run(capsys, *base, "--shows", "S1", "--report", str(report))
    assert code == 0 and "It shows S1." in out
    code, out, _ = run(capsys, "audit")
    assert "Ms Lee: approve" in out and "shows: S1" in out


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
        registry.approve(approved, by="Ms Lee", reason="parents ok", shows=())

    code, out, _ = run(capsys, "review", "--report", str(report))
    assert code == 0
    assert "1 withheld image waiting for a decision" in out
    assert "images/trip.jpg" in out and "unknown face" in out
    assert "news/2026/trip/index.html" in out
    assert f"to publish it: {approve_command(waiting)}" in out
    assert "images/play.jpg" not in out and "images/logo.png" not in out
    assert "1 withheld image approved since that build" in out

    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
        registry.approve(waiting, by="Ms Lee", reason="parents ok", shows=["S1"])
    code, out, _ = run(capsys, "review", "--report", str(report))
    assert code == 0 and "No withheld images waiting" in out

    # An approval that no longer holds leaves the image waiting again.
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.revoke("S1")
    code, out, _ = run(capsys, "review", "--report", str(report))
    assert code == 0 and "1 withheld image waiting for a decision" in out
    assert "images/trip.jpg" in out

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
    """The verdicts come from batch.check_files (replaced here; the real engine is
    exercised in test_consent_integration.py)."""
    from face_engine import batch

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

    monkeypatch.setattr(batch, "check_files", check_files)
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


# ---------------------------------------------------------------- the build's advice


def _command_in(advice: str) -> list[str]:
    """The `consent ...` command quoted in a piece of advice, as argv without `consent`."""
    (command,) = re.findall(r"`(consent approve [^`]+)`", advice)
    argv = shlex.split(command)
    assert argv[0] == "consent"
    return argv[1:]


@pytest.mark.parametrize("shows", [(), ("S1",)])
def test_the_builds_approve_advice_is_a_command_that_works(paths, capsys, shows):
    from site_gate.gate import approve_hint

    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    digest = sha256_bytes(b"a withheld photo")
    # The build's report, where the short hash the advice prints is looked up.
    report = paths["root"] / "reports" / "consent-report.json"
    report.parent.mkdir()
    _report(report, [{"output_path": "images/a.jpg", "sha256": digest, "verdict": "withhold"},
                     {"output_path": "images/b.jpg", "sha256": "5" * 64}])  # fmt: skip
    advice = approve_hint(digest, shows)
    assert advice.startswith("ask the consent office to check consent")
    assert digest not in advice and f"consent approve {digest[:12]} " in advice
    code, out, err = run(capsys, *_command_in(advice))
    assert code == 0, err
    assert out.startswith(f"Approved sha256 {digest[:12]}")
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        approval = registry.approvals()[digest]
    assert approval.shows == shows and approval.by == "Your Name"


def test_review_prints_the_same_command_with_the_recognised_people(paths, capsys):
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    report = paths["root"] / "reports" / "consent-report.json"
    report.parent.mkdir()
    digest = "5" * 64
    faces = [{"person_id": "S1", "ok": True}, {"person_id": None, "ok": False}]
    reasons = ["face at (1,2) 50x50: unknown face"]
    _report(report, [{"output_path": "images/g.jpg", "sha256": digest, "verdict": "withhold",
                      "reasons": reasons, "faces": faces}])  # fmt: skip
    code, out, _ = run(capsys, "review")  # the default report path, as the build writes it
    assert code == 0
    (line,) = [line for line in out.splitlines() if "to publish it:" in line]
    command = line.split("to publish it: ", 1)[1]
    assert command == approve_command(digest, ["S1"])
    code, _, err = run(capsys, *shlex.split(command)[1:])
    assert code == 0, err


def test_approving_the_file_as_dropped_in_content_covers_the_gate_verdict(paths, capsys):
    """The gate's verdict hash is that of the file as the webmaster dropped it (metadata
    and all), so approving that file by its path approves what the gate decides on."""
    import io

    from face_engine.decision import decide
    from PIL import Image

    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"  # EXIF Make, as a camera writes it
    Image.new("RGB", (64, 48), (120, 130, 140)).save(buffer, "JPEG", exif=exif)
    photo = paths["root"] / "content" / "images" / "camera.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(buffer.getvalue())
    code, _, err = run(
        capsys, "approve", str(photo), "--by", "Ms Lee", "--reason", "ok", "--shows", "nobody"
    )
    assert code == 0, err
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        snapshot = registry.snapshot(date.today())
    verdict = decide(photo.read_bytes(), snapshot, GateSettings.from_mapping({}), faces=[])
    assert verdict.publish and verdict.approved_by == "Ms Lee"


# ---------------------------------------------------------------- revoke, remove, never-publish


def _office_with_a_build(paths) -> tuple[Path, dict]:
    """S1 in a published photo, a withheld one and an approved group photo; S2 alone."""
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
        registry.add("S2", "Sam Example", [fake_encoding(2)])
        registry.approve("a" * 64, by="Ms Lee", reason="group", shows=["S1", "S2"])
        registry.approve("b" * 64, by="Ms Lee", reason="trip", shows=["S1"], label="trip.jpg")
    s1 = {"person_id": "S1", "ok": True}
    unknown = {"person_id": None, "ok": False}
    images = {
        "play": {"output_path": "images/play.jpg", "sha256": "1" * 64, "verdict": "publish",
                 "pages": ["news/play/index.html"], "faces": [s1]},
        "blurry": {"output_path": "images/blurry.jpg", "sha256": "2" * 64,
                   "verdict": "withhold", "pages": [], "faces": [s1, unknown]},
        "group": {"output_path": "images/group.jpg", "sha256": "a" * 64, "verdict": "publish",
                  "pages": ["news/group/index.html"], "faces": [unknown, unknown]},
        "logo": {"output_path": "images/logo.png", "sha256": "3" * 64, "verdict": "publish",
                 "pages": [], "faces": []},
    }  # fmt: skip
    report = paths["root"] / "reports" / "consent-report.json"
    report.parent.mkdir()
    _report(report, list(images.values()))
    return report, images


@pytest.mark.parametrize(
    ("command", "first_line"),
    [
        (("revoke", "S1"), "Revoked consent for S1 (Jamie Rivera): deleted 1 face template."),
        (("remove", "S1", "--yes"), "Removed S1 (Jamie Rivera): the record and 1 face template"),
        (("never-publish", "S1"), "Marked S1 (Jamie Rivera) never-publish"),
    ],
)
def test_ending_consent_lists_the_photos_and_what_the_next_publish_does(
    paths, capsys, command, first_line
):
    _office_with_a_build(paths)
    code, out, _ = run(capsys, *command)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(first_line)
    assert "approved ones included" in lines[0]
    assert lines[1] == "Photos showing S1 in the last build (report of 2026-11-23T09:00:00+00:00):"
    assert lines[2:] == [
        "  images/play.jpg, on news/play/index.html: taken down from the website at the "
        "next publish",
        "  images/blurry.jpg: already withheld; it stays off the website",
        "  images/group.jpg, on news/group/index.html: taken down from the website at the next "
        "publish (the approval by Ms Lee no longer holds)",
        "Approvals naming S1, which no longer hold:",
        f"  trip.jpg, approved by Ms Lee on {date.today():%Y-%m-%d}: withheld wherever it is "
        "used, taken down from the website at the next publish",
    ]
    # And it is true: the approvals naming S1 publish nothing any more.
    from face_engine.decision import verdict_for_faces

    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        snapshot = registry.snapshot(date.today())
    settings = GateSettings.from_mapping({})
    for digest in ("a" * 64, "b" * 64):
        assert verdict_for_faces(digest, [], snapshot, settings).verdict == WITHHOLD


def test_revoke_without_a_report_says_how_to_see_the_photos(paths, capsys):
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    code, out, _ = run(capsys, "revoke", "S1")
    assert code == 0
    assert "There is no build report at reports/consent-report.json" in out
    assert "run `make html` to see them" in out
    code, out, _ = run(capsys, "never-publish", "S1", "--report", "elsewhere.json")
    assert code == 0 and "no build report at elsewhere.json" in out


# ---------------------------------------------------------------- settings


def _settings_file(path: Path, **consent) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ['PLUGINS = ["site_checks", "consent_gate"]']
    lines += [f"{key} = {value!r}" for key, value in consent.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _capture_check(monkeypatch) -> dict:
    from face_engine import batch

    seen = {}

    def check_files(paths_, snapshot, settings, progress=True, display_names=None):
        seen["settings"] = settings
        return [Verdict(str(p), "x", PUBLISH, ["no faces found"], []) for p in paths_]

    monkeypatch.setattr(batch, "check_files", check_files)
    return seen


def test_consent_reads_the_settings_the_build_reads(paths, capsys, monkeypatch, tmp_path):
    seen = _capture_check(monkeypatch)
    image = tmp_path / "x.png"
    image.write_bytes(b"x")
    # Without a settings file: the defaults.
    assert run(capsys, "check", str(image))[0] == 0
    assert seen["settings"].tolerance == GateSettings.from_mapping({}).tolerance

    # pelicanconf.py of the current folder, as `make html` reads it.
    _settings_file(
        tmp_path / "pelicanconf.py",
        CONSENT_TOLERANCE=0.45,
        CONSENT_MODE="detect-only",
        CONSENT_REGISTRY="from-settings.sqlite3",
    )
    assert run(capsys, "check", str(image))[0] == 0
    assert seen["settings"].tolerance == 0.45 and seen["settings"].mode == "detect-only"
    # CONSENT_REGISTRY in the environment still wins over the file...
    assert seen["settings"].registry == paths["registry"]
    # ...and --registry / --key-file over both.
    other = tmp_path / "other.sqlite3"
    assert run(capsys, "check", str(image), "--registry", str(other))[0] == 0
    assert seen["settings"].registry == other
    monkeypatch.delenv("CONSENT_REGISTRY")
    assert run(capsys, "check", str(image))[0] == 0
    assert seen["settings"].registry == Path("from-settings.sqlite3")

    # --settings names another file (publishconf.py, say).
    other_conf = _settings_file(tmp_path / "conf" / "publishconf.py", CONSENT_TOLERANCE=0.5)
    assert run(capsys, "check", str(image), "--settings", str(other_conf))[0] == 0
    assert seen["settings"].tolerance == 0.5


def test_unsafe_settings_stop_the_command(paths, capsys, tmp_path):
    _settings_file(tmp_path / "pelicanconf.py", CONSENT_TOLERANCE=0.7)
    code, _, err = run(capsys, "list")
    assert code == 1 and "CONSENT_TOLERANCE = 0.7 is unsafe" in err and "--settings" in err
    (tmp_path / "pelicanconf.py").write_text('PLUGINS = ["site_checks"]\n')
    code, _, err = run(capsys, "list")
    assert code == 1 and "consent_gate is not in PLUGINS" in err


# ---------------------------------------------------------------- integrity


def test_audit_verify(paths, fake_faces, capsys, tmp_path):
    photo = write_photo(tmp_path / "p.jpg", 1)
    assert main(["add", "S1", "--name", "Jamie Rivera", "--photo", str(photo)]) == 0
    assert main(["revoke", "S1"]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "audit", "--verify")
    assert code == 0 and out.startswith("The audit log is intact (3 entries")

    with sqlite3.connect(paths["registry"]) as raw:
        raw.execute("UPDATE people SET status = 'active'")
        raw.execute("DROP TRIGGER audit_no_update")
        raw.execute("UPDATE audit SET action = 'add' WHERE action = 'revoke'")
    code, out, err = run(capsys, "audit", "--verify")
    assert code == 1
    assert "the audit log breaks at entry 3 (" in out
    assert "people row S1: added or changed outside the consent command" in out
    assert "2 problems above" in err and "restore from backup" in err

    code, out, err = run(capsys, "list")
    assert code == 0 and "people row S1" in err
    assert out.splitlines()[1].split()[-2] == "altered"


# ---------------------------------------------------------------- one person, one record


def test_add_refuses_the_same_face_under_a_second_id(paths, fake_faces, capsys, tmp_path):
    first = write_photo(tmp_path / "jamie.jpg", 1)
    again = write_photo(tmp_path / "jamie-again.jpg", 1)
    assert main(["add", "S1", "--name", "Jamie Rivera", "--photo", str(first)]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, "add", "S2", "--name", "Jamie R", "--photo", str(again))
    assert code == 1
    assert "matches the record S1 (distance 0.00" in err
    assert "--lookalike-of S1" in err and "Nothing was saved" in err
    assert "S2" not in people(paths)

    code, out, _ = run(
        capsys, "add", "S2", "--name", "Alex Rivera", "--photo", str(again),
        "--lookalike-of", "S1", "--by", "Ms Lee",
    )  # fmt: skip
    assert code == 0 and "different person from S1, who looks alike" in out
    assert people(paths)["S2"].lookalikes == ("S1",)
    code, out, _ = run(capsys, "audit", "S2", "--json")
    (entry,) = json.loads(out)
    assert entry["actor"] == "Ms Lee" and entry["details"]["confirmed_lookalike_of"] == ["S1"]


def test_import_refuses_faces_already_enrolled_listing_every_row(
    paths, fake_faces, capsys, tmp_path
):
    jamie = write_photo(tmp_path / "photos" / "jamie.jpg", 1)
    assert main(["add", "S1", "--name", "Jamie Rivera", "--photo", str(jamie)]) == 0
    write_photo(tmp_path / "photos" / "same.jpg", 1)
    write_photo(tmp_path / "photos" / "pat.jpg", 7)
    write_photo(tmp_path / "photos" / "pat2.jpg", 7)
    export = tmp_path / "export.csv"
    export.write_text(
        "Student_Number,Name,Photo Release,Photo\n"
        "S5,Jamie Again,Y,same.jpg\n"
        "S6,Pat Example,Y,pat.jpg\n"
        "S7,Pat Again,Y,pat2.jpg\n"
    )
    capsys.readouterr()
    code, _, err = run(capsys, "import", str(export), "--photos-dir", str(tmp_path / "photos"))
    assert code == 1
    assert "row 2 (S5): the face in its photos matches the record S1" in err
    assert "row 3 (S6): the face in its photos matches row 4 (S7) of this file" in err
    assert "row 4 (S7): the face in its photos matches row 3 (S6) of this file" in err
    assert "--lookalike-of" in err
    assert set(people(paths)) == {"S1"}


def test_import_does_not_build_on_an_altered_record(paths, fake_faces, capsys, tmp_path):
    jamie = write_photo(tmp_path / "photos" / "jamie.jpg", 1)
    assert main(["add", "S1", "--name", "Jamie Rivera", "--photo", str(jamie)]) == 0
    with sqlite3.connect(paths["registry"]) as raw:
        raw.execute("UPDATE people SET scopes = 'print,website'")
    export = tmp_path / "export.csv"
    export.write_text("Student_Number,Name,Photo Release\nS1,Jamie Rivera,Y\n")
    capsys.readouterr()
    code, _, err = run(capsys, "import", str(export))
    assert code == 1
    assert "row 2 (S1): the registry's record S1 was changed outside the consent command" in err
    assert "restore from backup" in err
    assert people(paths)["S1"].scopes == ("print", "website")  # not sealed as genuine
    assert not people(paths)["S1"].authentic


def test_an_old_registry_is_upgraded_by_the_first_command(paths, capsys, caplog):
    from .test_registry_integrity import IMAGE_HASH, schema_1_registry

    schema_1_registry(paths)
    code, out, _ = run(capsys, "list")
    assert code == 0 and "S1" in out
    # A warning (on stderr when run as `consent`; captured by pytest here).
    (warning,) = [r for r in caplog.records if "Upgraded the consent registry" in r.message]
    assert warning.levelname == "WARNING" and "--shows" in warning.message
    code, out, _ = run(capsys, "audit", "--verify")
    assert code == 0 and "intact" in out
    code, out, _ = run(capsys, "audit")
    assert "upgrade-registry" in out and "approvals_needing_shows: 1" in out
    # The old approval approves nothing until it is made again with --shows.
    code, _, _ = run(capsys, "approve", IMAGE_HASH, "--shows", "S1", "--by", "Ms Lee",
                     "--reason", "class photo, again")  # fmt: skip
    assert code == 0
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        assert registry.approvals()[IMAGE_HASH].shows == ("S1",)
