"""Withdrawn stays withdrawn, with the project's own `consent` commands as the office uses
them: the real face engine on the shared photos for the story of a withdrawal, and
synthetic faces (``fake_faces``) where only the registry file and its journal matter."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from consent_cli.cli import main
from consent_registry import withdrawals
from consent_registry.registry import Registry

from .conftest import write_photo

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def check(capsys, photo: Path) -> dict:
    code, out, _ = run(capsys, "check", "--json", str(photo))
    (verdict,) = json.loads(out)
    assert code == (0 if verdict["verdict"] == "publish" else 3)
    return verdict


def test_a_withdrawn_child_stays_withdrawn_through_approval_restore_and_reconsent(paths, capsys):
    if not FACES.is_dir():
        pytest.fail(f"the shared face photos are missing: expected them at {FACES}")
    photo = FACES / "people/obama/obama2.jpg"
    code, _, err = run(
        capsys, "add", "S1", "--name", "Barack Obama", "--expires", "2099-06-30",
        "--photo", str(FACES / "people/obama/obama1.jpg"),
    )  # fmt: skip
    assert code == 0, err
    assert check(capsys, photo)["verdict"] == "publish"  # the build's scan, in the cache
    backup = paths["root"] / "backups" / "registry.sqlite3"
    assert run(capsys, "backup", str(backup))[0] == 0

    code, out, _ = run(capsys, "revoke", "S1")
    assert code == 0 and "the hashes of 1 photo that showed them" in out
    verdict = check(capsys, photo)
    assert verdict["verdict"] == "withhold"
    assert f"S1 (consent revoked on {date.today().isoformat()})" in verdict["reasons"][0]

    # "Face 1: not on file" is approved, as the office did before: refused, both ways.
    for statement in (["--shows", "nobody"], ["--not-student", "visitor"]):
        code, out, err = run(
            capsys, "approve", str(photo), "--by", "Ms Lee", "--reason", "family agreed by phone",
            *statement,
        )  # fmt: skip
        assert code == 1
        assert "cannot be approved" in err and "consent reconsent S1" in err
        assert "closest: S1 Barack Obama" in out and "(WITHDRAWN)" in out
    assert check(capsys, photo)["verdict"] == "withhold"
    # A photo the build never scanned before the withdrawal: blocked by the face.
    other = check(capsys, FACES / "people/obama/obama3.jpg")
    assert other["verdict"] == "withhold" and "close to S1" in " ".join(other["reasons"])

    code, out, err = run(capsys, "restore", str(backup), "--yes")
    assert code == 0, err
    assert "Withdrawals made after the backup, applied again" in out
    assert f"S1: consent revoked on {date.today().isoformat()}" in out
    assert check(capsys, photo)["verdict"] == "withhold"
    code, out, _ = run(capsys, "show", "S1")
    assert "status:     revoked" in out

    code, out, err = run(
        capsys, "reconsent", "S1", "--on", date.today().isoformat(), "--by", "Michelle Obama",
        "--evidence", "signed form, office file 2026/14",
    )  # fmt: skip
    assert code == 0, err
    assert "Consent given again for S1" in out
    assert check(capsys, photo)["verdict"] == "publish"


@pytest.fixture
def withdrawn_after_backup(paths, capsys, fake_faces) -> Path:
    """S1 and S2 added, backed up, then S1 revoked: the backup file."""
    for person, seed in (("S1", 1), ("S2", 2)):
        photo = write_photo(paths["root"] / f"{person}.txt", seed)
        assert (
            run(capsys, "add", person, "--name", f"Student {person}", "--photo", str(photo))[0] == 0
        )
    backup = paths["root"] / "backups" / "registry.sqlite3"
    code, out, _ = run(capsys, "backup", str(backup))
    assert code == 0
    assert run(capsys, "revoke", "S1", "--by", "m.chen")[0] == 0
    return backup


def state(paths, person_id: str) -> str:
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        return registry.get(person_id).status


def test_restore_refuses_without_its_journal_and_says_what_would_come_back(
    paths, capsys, withdrawn_after_backup
):
    journal = withdrawals.journal_path(paths["registry"])
    journal.unlink()
    code, out, err = run(capsys, "restore", str(withdrawn_after_backup), "--yes")
    assert code == 1
    assert "the restore was refused" in err and "is missing" in err
    assert "S1: withdrawn now, not in the backup" in err
    assert "--without-withdrawals-journal" in err
    assert state(paths, "S1") == "revoked"  # nothing was restored
    code, out, err = run(
        capsys, "restore", str(withdrawn_after_backup), "--yes", "--without-withdrawals-journal"
    )
    assert code == 0
    assert "Restored WITHOUT a usable withdrawals journal" in out and "S1" in out
    assert state(paths, "S1") == "active"  # the office was told, and chose it


def test_restore_refuses_a_damaged_journal(paths, capsys, withdrawn_after_backup):
    journal = withdrawals.journal_path(paths["registry"])
    line = json.loads(journal.read_text())
    line["person_id"] = "S2"  # changed without the key
    journal.write_text(json.dumps(line) + "\n")
    code, _, err = run(capsys, "restore", str(withdrawn_after_backup), "--yes")
    assert code == 1
    assert "changed outside the consent command" in err
    assert "S1: withdrawn now, not in the backup" in err
    assert state(paths, "S1") == "revoked"


def test_restore_refuses_a_journal_cut_short(paths, capsys, withdrawn_after_backup, fake_faces):
    assert run(capsys, "revoke", "S2")[0] == 0
    journal = withdrawals.journal_path(paths["registry"])
    journal.write_text(journal.read_text().splitlines(keepends=True)[0])
    code, _, err = run(capsys, "restore", str(withdrawn_after_backup), "--yes")
    assert code == 1 and "the last were removed" in err and "S2" in err


def test_backup_carries_the_journal_and_restore_lists_reapplied(
    paths, capsys, withdrawn_after_backup
):
    assert withdrawals.journal_path(withdrawn_after_backup).exists() is False  # none yet then
    later = paths["root"] / "backups" / "later.sqlite3"
    code, out, _ = run(capsys, "backup", str(later))
    assert code == 0 and "withdrawals journal" in out
    assert withdrawals.journal_path(later).read_text() == (
        withdrawals.journal_path(paths["registry"]).read_text()
    )
    code, out, _ = run(capsys, "restore", str(later), "--yes")
    assert code == 0 and "No withdrawal was made after the backup" in out
    code, out, _ = run(capsys, "restore", str(withdrawn_after_backup), "--yes")
    assert code == 0 and "S1: consent revoked on" in out and "by m.chen" in out
    assert state(paths, "S1") == "revoked"
    # Withdrawals after the restore continue the same journal.
    assert run(capsys, "never-publish", "S2")[0] == 0
    journal = withdrawals.read(withdrawals.journal_path(paths["registry"]), _key(paths))
    assert journal.problems == [] and [e.seq for e in journal.entries] == [1, 2]


def _key(paths) -> bytes:
    from consent_registry import crypto

    return crypto.read_key_file(paths["key_file"])


def test_editing_commands_refuse_an_older_version(paths, capsys, fake_faces):
    photo = write_photo(paths["root"] / "s1.txt", 1)
    assert run(capsys, "add", "S1", "--name", "Jamie Rivera", "--photo", str(photo))[0] == 0
    code, out, _ = run(capsys, "show", "S1")
    assert "version:    1" in out
    # Two officers opened version 1; one narrows the scopes...
    code, _, _ = run(
        capsys, "add", "S1", "--replace", "--scope", "website", "--if-version", "1", "--by", "a.lee"
    )
    assert code == 0
    # ...the other saves their older form: refused, with what changed and what to do.
    code, _, err = run(
        capsys, "add", "S1", "--replace", "--scope", "website", "--scope", "print",
        "--expires", "2030-06-30", "--if-version", "1", "--by", "b.kim",
    )  # fmt: skip
    assert code == 1
    assert "changed since you opened it" in err and "a.lee: update" in err
    assert "Reload" in err
    for command in (["revoke", "S1"], ["never-publish", "S1"], ["remove", "S1", "--yes"]):
        code, _, err = run(capsys, *command, "--if-version", "1")
        assert code == 1 and "changed since you opened it" in err
    assert run(capsys, "revoke", "S1", "--if-version", "2")[0] == 0
    # An edit, or a new photo, leaves a withdrawn record withdrawn.
    code, out, _ = run(capsys, "add", "S1", "--replace", "--photo", str(photo))
    assert code == 0 and "Consent stays revoked" in out
    assert state(paths, "S1") == "revoked"
    code, _, err = run(capsys, "reconsent", "S1", "--on", "2026-01-05", "--by", "Parent")
    assert code == 1 and "--evidence" in err


def test_purge_expired_removes_block_data_only_after_retention(paths, capsys, fake_faces):
    photo = write_photo(paths["root"] / "s1.txt", 1)
    assert run(capsys, "add", "S1", "--name", "Jamie Rivera", "--photo", str(photo))[0] == 0
    assert run(capsys, "revoke", "S1")[0] == 0
    code, out, _ = run(capsys, "purge-expired")
    assert code == 0 and "block data" not in out
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        (kept,) = registry.withdrawals()
        assert registry.purge_block_data(kept.keep_until) == []
        assert registry.purge_block_data(date.fromordinal(kept.keep_until.toordinal() + 1)) == [
            "S1"
        ]
        assert registry.withdrawals() == []


def test_a_restore_into_a_new_place_uses_the_journal_beside_the_backup(
    paths, capsys, withdrawn_after_backup
):
    """The registry and its journal lost with the machine: the backup's own journal copy
    goes in place, and later withdrawals continue it."""
    later = paths["root"] / "backups" / "later.sqlite3"
    assert run(capsys, "backup", str(later))[0] == 0
    elsewhere = paths["root"] / "new-machine" / "registry.sqlite3"
    code, out, err = run(capsys, "restore", str(later), "--registry", str(elsewhere), "--yes")
    assert code == 0, err
    assert withdrawals.journal_path(elsewhere).read_text() == (
        withdrawals.journal_path(later).read_text()
    )
    code, out, err = run(
        capsys, "restore", str(withdrawn_after_backup), "--registry", str(elsewhere), "--yes"
    )
    assert code == 0 and "S1: consent revoked on" in out  # re-applied from the copy
    # With neither a registry nor any journal: restored, and the office is told.
    bare = paths["root"] / "bare" / "registry.sqlite3"
    code, out, _ = run(
        capsys, "restore", str(withdrawn_after_backup), "--registry", str(bare), "--yes"
    )
    assert code == 0 and "withdrawals made after the backup are not known here" in out


def test_a_photo_taken_down_after_the_backup_is_taken_down_again_by_a_restore(
    paths, capsys, fake_faces
):
    """The office takes one photo down (the family keeps its consent), then last week's
    backup is restored: the photo is held again. A photo published again after the backup
    stays held as the backup has it (never published by a restore)."""
    held_later, released_later = "a" * 64, "b" * 64
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.hold_photo(released_later, by="m.chen", reason="family asked")
    backup = paths["root"] / "backups" / "registry.sqlite3"
    assert run(capsys, "backup", str(backup))[0] == 0
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.hold_photo(held_later, by="m.chen", reason="wrong child named")
        registry.release_photo(released_later, actor="m.chen")
        assert set(registry.photo_holds()) == {held_later}

    code, out, err = run(capsys, "restore", str(backup), "--yes")
    assert code == 0, err
    assert f"photo {held_later[:12]}: taken down on" in out and "taken down again" in out
    assert f"photo {released_later[:12]}: published again on" in out
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        assert set(registry.photo_holds()) == {held_later, released_later}
    # A later withdrawal still continues the journal the restore put in place.
    photo = write_photo(paths["root"] / "S9.txt", 9)
    assert run(capsys, "add", "S9", "--name", "Student S9", "--photo", str(photo))[0] == 0
    assert run(capsys, "revoke", "S9", "--by", "m.chen")[0] == 0
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        journal = withdrawals.read(withdrawals.journal_path(paths["registry"]), registry._key)
    assert not journal.problems and [e.action for e in journal.entries][-1] == "revoke"
