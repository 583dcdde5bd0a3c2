"""Registry integrity: rows changed without the key are ignored and reported, the audit log
is a verified chain, schema-1 registries are upgraded, and one person has one record."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime

import numpy as np
import pytest
from consent_registry import crypto
from consent_registry.registry import (
    SCHEMA_VERSION,
    LookalikeFound,
    PersonNotFound,
    Registry,
    RegistryError,
)
from consent_registry.settings import GateSettings
from face_engine.decision import verdict_for_faces
from face_engine.model import PUBLISH, WITHHOLD, DetectedFace, FaceBox

from .conftest import fake_encoding

TODAY = date(2026, 11, 23)
IMAGE_HASH = "ab" * 32
SETTINGS = GateSettings.from_mapping({})


def raw(paths) -> sqlite3.Connection:
    """The registry file opened with plain sqlite3, as someone without the key would."""
    return sqlite3.connect(paths["registry"], isolation_level=None)


def face_of(seed: int) -> DetectedFace:
    return DetectedFace(FaceBox(10, 130, 130, 10), "test", 0.9, fake_encoding(seed) + 0.001)


def verdict(registry: Registry, *seeds: int):
    snapshot = registry.snapshot(TODAY)
    return verdict_for_faces(IMAGE_HASH, [face_of(s) for s in seeds], snapshot, SETTINGS)


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE people SET status = 'active' WHERE id = 'S1'",
        "UPDATE people SET never_publish = 0 WHERE id = 'S2'",
        "UPDATE people SET expires = '2099-12-31' WHERE id = 'S3'",
        "UPDATE people SET scopes = 'social,website' WHERE id = 'S4'",
    ],
)
def test_a_person_row_changed_without_the_key_is_ignored(registry, paths, caplog, tamper):
    registry.add("S1", "Revoked Example", [fake_encoding(1)])
    registry.revoke("S1")
    registry.add("S2", "Never Example", [fake_encoding(2)])
    registry.set_never_publish("S2")
    registry.add("S3", "Expired Example", [fake_encoding(3)], expires=date(2026, 6, 30))
    registry.add("S4", "Social Example", [fake_encoding(4)], scopes=("social",))
    target = tamper.rsplit("'", 2)[-2]
    with raw(paths) as db:
        db.execute(tamper)
    caplog.clear()
    ids = {r.person_id for r in registry.snapshot(TODAY).records}
    assert target not in ids and len(ids) == 3
    assert f"people row {target}: added or changed outside the consent command" in caplog.text
    assert "restore from backup" in caplog.text
    assert registry.get(target).state(TODAY) == "altered"
    assert any(target in p for p in registry.integrity_problems())
    # The gate does not know the face: withheld, whatever the altered row says.
    if target != "S1":  # S1's templates were deleted by the revoke
        assert verdict(registry, int(target[1])).verdict == WITHHOLD


def test_a_person_row_inserted_without_the_key_is_ignored(registry, paths, caplog):
    registry.add("S1", "Real Example", [fake_encoding(1)])
    with raw(paths) as db:
        db.execute(
            "INSERT INTO people (id, name, role, scopes, status, created_at, updated_at) "
            "VALUES ('S9', 'Forged Example', 'student', 'website', 'active', ?, ?)",
            ("2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        )
        blob, created = db.execute("SELECT encrypted, created_at FROM templates").fetchone()
        db.execute(  # S1's real template copied under a new row id
            "INSERT INTO templates (person_id, encrypted, created_at) VALUES ('S1', ?, ?)",
            (blob, created),
        )
    (record,) = registry.snapshot(TODAY).records
    assert record.person_id == "S1" and len(record.encodings) == 1
    assert "people row S9" in caplog.text and "templates row 2 (S1)" in caplog.text


def test_an_approval_inserted_without_the_key_approves_nothing(registry, paths, caplog):
    registry.add("S1", "Real Example", [fake_encoding(1)])
    assert verdict(registry, 99).verdict == WITHHOLD  # an unknown face
    with raw(paths) as db:
        db.execute(
            "INSERT INTO approvals (sha256, approved_by, reason, approved_at, shows) "
            "VALUES (?, 'Ms Lee', 'forged', '2026-11-01T00:00:00+00:00', '[]')",
            (IMAGE_HASH,),
        )
    caplog.clear()
    assert registry.approvals() == {}
    result = verdict(registry, 99)
    assert result.verdict == WITHHOLD and result.approved_by is None
    assert f"approvals row {IMAGE_HASH}: added or changed outside" in caplog.text
    assert "approves nothing" in caplog.text


def test_an_approval_changed_without_the_key_approves_nothing(registry, paths):
    registry.add("S1", "Real Example", [fake_encoding(1)])
    registry.approve(IMAGE_HASH, by="Ms Lee", reason="cleared", shows=["S1"])
    assert verdict(registry, 1, 99).verdict == PUBLISH
    with raw(paths) as db:  # widen it to a person who never consented
        db.execute("UPDATE approvals SET shows = '[]'")
    assert verdict(registry, 1, 99).verdict == WITHHOLD
    assert any(IMAGE_HASH in p for p in registry.integrity_problems())


def test_an_altered_record_is_not_changed_until_restored_but_can_be_removed(registry, paths):
    registry.add("S1", "Real Example", [fake_encoding(1)], expires=date(2026, 12, 31))
    with raw(paths) as db:
        db.execute("UPDATE people SET expires = '2099-12-31'")
    for change in (
        lambda: registry.revoke("S1"),
        lambda: registry.set_never_publish("S1"),
        lambda: registry.add("S1", "Real Example", [fake_encoding(1)], replace=True),
        lambda: registry.approve(IMAGE_HASH, by="Ms Lee", reason="ok", shows=["S1"]),
    ):
        with pytest.raises(RegistryError, match="changed outside the consent command"):
            change()
    assert registry.get("S1").expires == date(2099, 12, 31)  # not sealed as genuine
    registry.remove("S1")
    assert registry.get("S1") is None and registry.integrity_problems() == []


def test_an_older_genuine_row_copied_back_is_ignored(registry, paths, caplog):
    """Rows from an old backup carry valid MACs: copying them back must not undo a revoke
    or an unapprove."""
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    registry.approve(IMAGE_HASH, by="Ms Lee", reason="ok", shows=())
    with raw(paths) as db:
        person = db.execute("SELECT * FROM people").fetchone()
        template = db.execute("SELECT * FROM templates").fetchone()
        approval = db.execute("SELECT * FROM approvals").fetchone()
    registry.revoke("S1")
    registry.withdraw_approval(IMAGE_HASH)
    with raw(paths) as db:
        db.execute("DELETE FROM people")
        db.execute(f"INSERT INTO people VALUES ({','.join('?' * len(person))})", person)
        db.execute(f"INSERT INTO templates VALUES ({','.join('?' * len(template))})", template)
        db.execute(f"INSERT INTO approvals VALUES ({','.join('?' * len(approval))})", approval)
    caplog.clear()
    snapshot = registry.snapshot(TODAY)
    assert snapshot.records == () and snapshot.approvals == {}
    for row in ("people row S1", "templates row 1 (S1)", f"approvals row {IMAGE_HASH}"):
        assert row in caplog.text
    assert verdict(registry, 1).verdict == WITHHOLD


def test_an_altered_list_of_seals_trusts_nothing(registry, paths, caplog):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    registry.approve(IMAGE_HASH, by="Ms Lee", reason="ok", shows=["S1"])
    assert verdict(registry, 1).verdict == PUBLISH
    with raw(paths) as db:
        db.execute("UPDATE meta SET value = 'x' || value WHERE key = 'row_seals'")
    caplog.clear()
    snapshot = registry.snapshot(TODAY)
    assert snapshot.records == () and snapshot.approvals == {}
    assert "list of sealed rows (meta row_seals)" in caplog.text
    assert verdict(registry, 1).verdict == WITHHOLD
    # No change is saved on top of it (that would vouch for the altered list).
    with pytest.raises(RegistryError, match="list of sealed rows"):
        registry.add("S2", "Sam Example", [fake_encoding(2)])
    assert registry.get("S2") is None


def test_the_audit_log_is_a_chain_that_says_where_it_breaks(registry, paths):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    registry.add("S2", "Sam Example", [fake_encoding(2)])
    registry.revoke("S1")
    assert registry.verify_audit() == []
    with raw(paths) as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET actor = 'someone else' WHERE id = 3")
    (problem,) = registry.verify_audit()
    assert problem.startswith("the audit log breaks at entry 3 (")
    assert "add S2" in problem and "restore from backup" in problem


def test_the_audit_log_reports_inserted_and_removed_entries(registry, paths):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    registry.revoke("S1")
    with raw(paths) as db:
        db.execute(
            "INSERT INTO audit (at, actor, action, person_id, details) "
            "VALUES ('2026-01-01T00:00:00+00:00', 'x', 'add', 'S9', '{}')"
        )
    problems = registry.verify_audit()
    assert len(problems) == 2
    assert "breaks at entry 4" in problems[0] and "add S9" in problems[0]
    assert "holds 4 entries but 3 were written" in problems[1]
    with raw(paths) as db:
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute("DELETE FROM audit WHERE id >= 3")
    (problem,) = registry.verify_audit()
    assert "the last entries were removed" in problem
    # The chain goes on after a break: new entries still verify against their own links.
    registry.add("S2", "Sam Example", [fake_encoding(2)])
    assert all("entry 5" not in p for p in registry.verify_audit())


# -------------------------------------------------------------- schema 1 -> 2

SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE people (
    id TEXT PRIMARY KEY, name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('student', 'staff')), grade TEXT, scopes TEXT NOT NULL,
    expires TEXT, status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    never_publish INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE templates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    encrypted BLOB NOT NULL, created_at TEXT NOT NULL
);
CREATE INDEX templates_person ON templates(person_id);
CREATE TABLE approvals (
    sha256 TEXT PRIMARY KEY, approved_by TEXT NOT NULL, reason TEXT NOT NULL,
    approved_at TEXT NOT NULL
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, person_id TEXT, details TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def schema_1_registry(paths) -> None:
    """A registry as the schema-1 software wrote it: one person, one approval."""
    paths["registry"].parent.mkdir(parents=True)
    key = crypto.create_key_file(paths["key_file"])
    now = datetime(2026, 9, 1, tzinfo=UTC).isoformat()
    with sqlite3.connect(paths["registry"]) as db:
        db.executescript(SCHEMA_1)
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ("schema_version", "1"),
                ("key_check", crypto.encrypt(key, b"x", b"key-check").hex()),
                ("created_at", now),
            ],
        )
        db.execute(
            "INSERT INTO people VALUES ('S1', 'Jamie Rivera', 'student', '5', 'website', "
            "NULL, 'active', 0, ?, ?)",
            (now, now),
        )
        blob = crypto.encrypt(key, fake_encoding(1).astype("<f8").tobytes(), b"template:S1")
        db.execute("INSERT INTO templates (person_id, encrypted, created_at) VALUES ('S1', ?, ?)",
                   (blob, now))  # fmt: skip
        db.execute(
            "INSERT INTO approvals VALUES (?, 'Ms Lee', 'class photo', ?)", (IMAGE_HASH, now)
        )
        for action, person in (("create-registry", None), ("add", "S1"), ("approve", None)):
            db.execute(
                "INSERT INTO audit (at, actor, action, person_id, details) VALUES (?,?,?,?,?)",
                (now, "office", action, person, "{}"),
            )


def test_a_schema_1_registry_is_upgraded_on_first_open(paths, caplog):
    schema_1_registry(paths)
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        assert registry.migrated_from == 1
        assert "Upgraded the consent registry" in caplog.text
        assert "approved again with --shows" in caplog.text
        assert registry.integrity_problems() == []
        assert registry.verify_audit() == []
        (record,) = registry.snapshot(TODAY).records
        assert record.person_id == "S1" and np.array_equal(record.encodings[0], fake_encoding(1))
        approval = registry.approvals()[IMAGE_HASH]
        assert approval.shows is None  # schema 1 did not record who is in the photo
        upgrade = registry.audit_log()[-1]
        assert upgrade.action == "upgrade-registry"
        assert upgrade.details["from_schema"] == 1
        assert upgrade.details["to_schema"] == SCHEMA_VERSION
        assert upgrade.details["approvals_needing_shows"] == 1
        # An approval that does not say who is in the photo publishes nothing.
        result = verdict(registry, 1)
        assert result.verdict == WITHHOLD and "--shows" in result.reasons[0]
    with sqlite3.connect(paths["registry"]) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        meta = dict(db.execute("SELECT key, value FROM meta"))
        assert meta["schema_version"] == str(SCHEMA_VERSION)
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        assert registry.migrated_from is None  # once only
        assert [e.action for e in registry.audit_log()].count("upgrade-registry") == 1


def test_the_upgrade_chain_covers_the_entries_written_before_it(paths):
    schema_1_registry(paths)
    Registry.open(paths["registry"], paths["key_file"]).close()
    with raw(paths) as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET actor = 'someone else' WHERE id = 2")
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        (problem,) = registry.verify_audit()
    assert "breaks at entry 4" in problem and "upgrade-registry" in problem


def test_an_upgrade_without_the_right_key_changes_nothing(paths, tmp_path):
    schema_1_registry(paths)
    other = tmp_path / "other.key"
    crypto.create_key_file(other)
    with pytest.raises(RegistryError, match="does not unlock"):
        Registry.open(paths["registry"], other)
    with sqlite3.connect(paths["registry"]) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            "1",
        )


# -------------------------------------------------------------- one person, one record


def test_the_same_face_under_a_second_id_is_refused(registry):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    again = fake_encoding(1) + 0.01  # the same face from another photo
    with pytest.raises(LookalikeFound) as found:
        registry.add("S2", "Jamie R.", [again], actor="office")
    assert found.value.matches[0][0] == "S1"
    message = str(found.value)
    assert "matches the record S1" in message and "--lookalike-of S1" in message
    assert "consent add S1 --replace" in message and "Nothing was saved" in message
    assert registry.get("S2") is None

    # The gate's tolerance decides: a stricter one lets it through, the default does not.
    assert registry.lookalike_conflicts("S2", [again], tolerance=0.05) == []
    # Revoked records have no templates left to compare.
    registry.revoke("S1")
    assert registry.lookalike_conflicts("S2", [again]) == []


def test_a_confirmed_lookalike_is_recorded_audited_and_kept(registry):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    twin = fake_encoding(1) + 0.02
    with pytest.raises(PersonNotFound, match="--lookalike-of S7"):
        registry.add("S2", "Alex Rivera", [twin], lookalike_of=["S7"])
    person = registry.add("S2", "Alex Rivera", [twin], lookalike_of=["S1"], actor="office")
    assert person.lookalikes == ("S1",)
    entry = registry.audit_log("S2")[-1]
    assert entry.action == "add" and entry.details["confirmed_lookalike_of"] == ["S1"]
    # Both ways round, and on later updates, the confirmation holds.
    registry.add("S2", "Alex Rivera", [twin + 0.001], replace=True)
    registry.add("S1", "Jamie Rivera", [twin - 0.001], replace=True)
    # A third record with the same face is still refused, naming both.
    with pytest.raises(LookalikeFound) as found:
        registry.add("S3", "Jamie Again", [fake_encoding(1)])
    assert {i for i, _ in found.value.matches} == {"S1", "S2"}


def test_the_gate_settings_tolerance_is_the_one_used(registry):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    base = fake_encoding(1)
    direction = np.zeros(128)
    direction[0] = 1.0
    at = base + direction * 0.5  # 0.50 away
    strict = replace(SETTINGS, tolerance=0.45)
    assert registry.lookalike_conflicts("S2", [at], tolerance=strict.tolerance) == []
    ((other, distance),) = registry.lookalike_conflicts("S2", [at], tolerance=SETTINGS.tolerance)
    assert other == "S1" and distance == pytest.approx(0.5)
    registry.add("S2", "Sam Example", [at], tolerance=strict.tolerance)


def test_approve_records_who_is_shown_and_checks_them(registry):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    registry.add("S2", "Sam Example", [fake_encoding(2)], scopes=("print",))
    with pytest.raises(PersonNotFound, match="--shows S9"):
        registry.approve(IMAGE_HASH, by="Ms Lee", reason="ok", shows=["S9"])
    with pytest.raises(RegistryError, match="--shows S2 .*does not cover 'website'"):
        registry.approve(IMAGE_HASH, by="Ms Lee", reason="ok", shows=["S1", "S2"])
    assert registry.approvals() == {}
    approval = registry.approve(
        IMAGE_HASH, by="Ms Lee", reason="ok", shows=["S1", "S1"], label="content/x.jpg"
    )
    assert approval.shows == ("S1",)
    stored = registry.approvals()[IMAGE_HASH]
    assert stored.shows == ("S1",) and stored.label == "content/x.jpg"
    entry = registry.audit_log()[-1]
    assert entry.details["shows"] == ["S1"]
    assert json.dumps(entry.to_json()).count("Jamie") == 0
    assert verdict(registry, 1, 99).verdict == PUBLISH
    registry.revoke("S1")
    result = verdict(registry, 1, 99)
    assert result.verdict == WITHHOLD
    assert "S1, shown in it: consent revoked" in result.reasons[0]
