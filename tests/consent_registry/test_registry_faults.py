"""The registry's own faults in the office's words: a damaged row, a read-only folder, a
full disk at the backup's end; `consent add --replace` keeps what it does not mention; the
copies a restore keeps are not kept for ever."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from consent_cli.cli import main
from consent_registry import storage
from consent_registry.registry import Registry

from .conftest import fake_encoding, write_photo


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def filled(paths):
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
        registry.add("S2", "Alex Morgan", [fake_encoding(2)])
    return paths


def test_a_damaged_row_says_damaged_and_how_to_restore(filled, capsys):
    path = filled["registry"]
    data = bytearray(path.read_bytes())  # the last close wrote the WAL back into the file
    at = data.find(b"Jamie Rivera")
    assert at > 0
    data[at : at + 2] = b"\xff\xfe"  # two flipped bytes: no longer UTF-8
    path.write_bytes(bytes(data))
    for command in (["list"], ["show", "S1"], ["revoke", "S1"]):
        code, _, err = run(capsys, *command)
        assert code == 1
        assert "damaged: restore from backup" in err, err
        assert f"consent restore BACKUP --registry {path}" in err
        assert "try again" not in err


def test_a_read_only_registry_says_so_and_what_to_do(filled, capsys, monkeypatch):
    connect = sqlite3.connect

    def read_only(database, *args, **kwargs):
        """The registry as SQLite sees it on a read-only folder or disk."""
        return connect(f"file:{database}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only)
    code, _, err = run(capsys, "revoke", "S1")
    monkeypatch.setattr(sqlite3, "connect", connect)
    assert code == 1
    assert f"the consent registry {filled['registry']} is read-only" in err, err
    assert "write access" in err and "try again" not in err
    with Registry.open(filled["registry"], filled["key_file"]) as registry:
        assert registry.get("S1").status == "active"


def test_a_full_disk_at_the_backup_names_the_backup_not_the_registry(
    filled, capsys, monkeypatch, tmp_path
):
    connect = sqlite3.connect

    def full_target(database, *args, **kwargs):
        db = connect(database, *args, **kwargs)
        if str(database).endswith(".partial"):  # the backup's own file: its disk is full
            db.execute("PRAGMA max_page_count = 1")
        return db

    monkeypatch.setattr(sqlite3, "connect", full_target)
    code, _, err = run(capsys, "backup", str(tmp_path / "backups" / "copy.sqlite3"))
    monkeypatch.setattr(sqlite3, "connect", connect)
    assert code == 1
    assert f"the disk of {tmp_path / 'backups'} is full (the registry is unchanged)" in err, err
    assert err.count("is full") == 1 and "cannot be written" not in err
    assert not list((tmp_path / "backups").glob("*"))


def test_a_full_disk_is_said_once(filled, capsys, monkeypatch, fake_faces, tmp_path):
    connect = sqlite3.connect

    def full_disk(*args, **kwargs):
        db = connect(*args, **kwargs)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
        return db

    from face_engine import faces

    many = [fake_encoding(10 + i) for i in range(200)]  # enough to grow the file
    monkeypatch.setattr(faces, "reference_templates", lambda data, source="", face=None: many)
    monkeypatch.setattr(sqlite3, "connect", full_disk)
    photo = write_photo(tmp_path / "p.txt", 5)
    code, _, err = run(capsys, "add", "S9", "--name", "New Student", "--photo", str(photo))
    monkeypatch.setattr(sqlite3, "connect", connect)
    assert code == 1 and err.count("disk is full") == 1, err
    assert str(filled["registry"]) in err and "Free some space" in err


def test_replace_with_a_new_photo_keeps_the_name_and_the_rest(filled, capsys, fake_faces, tmp_path):
    photo = write_photo(tmp_path / "new.txt", 42)
    code, out, err = run(capsys, "add", "S1", "--replace", "--photo", str(photo))
    assert code == 0, err
    assert "Updated consent for S1 (Jamie Rivera)" in out
    with Registry.open(filled["registry"], filled["key_file"]) as registry:
        assert registry.get("S1").name == "Jamie Rivera"
        (record,) = [r for r in registry.snapshot(datetime.now(UTC).date()).records
                     if r.person_id == "S1"]  # fmt: skip
        assert (record.encodings[0] == fake_encoding(42)).all()
    code, _, err = run(capsys, "add", "S7", "--photo", str(photo))  # a new record needs it
    assert code == 1 and "--name" in err


def test_a_restore_keeps_only_the_last_copies_it_replaced(filled, capsys, tmp_path):
    registry = filled["registry"]
    now = datetime.now(UTC)
    made = {}
    for days in (200, 100, 60, 45, 10):  # copies kept by earlier restores
        stamp = (now - timedelta(days=days)).strftime("%Y%m%dT%H%M%SZ")
        copy = registry.with_name(f"{registry.name}.before-restore-{stamp}")
        copy.write_bytes(b"an older registry")
        copy.with_name(copy.name + "-wal").write_bytes(b"its journal")
        made[days] = copy
    unrelated = registry.with_name(f"{registry.name}.before-restore-by-hand")
    unrelated.write_bytes(b"the office's own copy")
    backup = tmp_path / "backup.sqlite3"
    assert run(capsys, "backup", str(backup))[0] == 0
    code, out, err = run(capsys, "restore", "--yes", str(backup))
    assert code == 0, err
    left = {p.name for p in registry.parent.glob("*.before-restore-*")}
    # The newest three stay (the one this restore made, 10 and 45 days old); older ones
    # go once past RESTORE_KEEP_DAYS, with their journals.
    assert storage.RESTORE_KEEP == 3 and storage.RESTORE_KEEP_DAYS == 30
    for days in (10, 45):
        assert made[days].name in left
    for days in (60, 100, 200):
        assert not made[days].exists()
        assert not made[days].with_name(made[days].name + "-wal").exists()
    assert unrelated.exists()  # not a copy a restore made: left alone
    assert len([n for n in left if not n.endswith(("-wal", "-shm", "by-hand"))]) == 3
