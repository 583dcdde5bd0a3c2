"""The registry store: encryption at rest, keys, WAL, audit log, snapshots and retention."""

from __future__ import annotations

import json
import sqlite3
import stat
from datetime import date

import numpy as np
import pytest
from consent_registry.registry import (
    SCHEMA_VERSION,
    PersonExists,
    PersonNotFound,
    Registry,
    RegistryError,
)

from .conftest import fake_encoding

TODAY = date(2026, 11, 23)


def _raw_bytes(registry_path) -> bytes:
    data = b""
    for suffix in ("", "-wal"):
        part = registry_path.with_name(registry_path.name + suffix)
        if part.exists():
            data += part.read_bytes()
    return data


def test_templates_round_trip_encrypted(registry, paths):
    first, second = fake_encoding(1), fake_encoding(2)
    registry.add("S1024", "Jamie Rivera", [first, second], grade="5", expires=date(2027, 6, 30))

    snapshot = registry.snapshot(TODAY)
    (record,) = snapshot.records
    assert record.person_id == "S1024"
    assert record.name == "Jamie Rivera"
    assert record.scopes == frozenset({"website"})
    assert record.expires == date(2027, 6, 30)
    assert not record.revoked and not record.never_publish
    assert len(record.encodings) == 2
    assert np.array_equal(record.encodings[0], first)
    assert np.array_equal(record.encodings[1], second)

    # Neither the whole template nor any single value is stored in the clear.
    raw = _raw_bytes(paths["registry"])
    assert raw, "the registry file should exist"
    for encoding in (first, second):
        assert encoding.astype("<f8").tobytes() not in raw
        for value in encoding[:32]:
            assert np.float64(value).astype("<f8").tobytes() not in raw
        assert np.asarray(encoding, dtype="<f4").tobytes()[:16] not in raw


def test_a_second_open_reads_the_same_templates(paths):
    encoding = fake_encoding(7)
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        assert registry.created and registry.created_key
        registry.add("S1", "Ada Example", [encoding])
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        assert not registry.created and not registry.created_key
        (record,) = registry.snapshot(TODAY).records
        assert np.array_equal(record.encodings[0], encoding)


def test_key_file_and_registry_are_private(registry, paths):
    assert stat.S_IMODE(paths["key_file"].stat().st_mode) == 0o600
    assert stat.S_IMODE(paths["registry"].stat().st_mode) == 0o600


def test_wal_mode_and_schema_version(registry, paths):
    with sqlite3.connect(paths["registry"]) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        version = raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert int(version[0]) == SCHEMA_VERSION


def test_wrong_key_is_a_clear_error(paths, tmp_path):
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("S1", "Ada Example", [fake_encoding(1)])
    other_key = tmp_path / "other.key"
    with Registry.open(tmp_path / "other.sqlite3", other_key):
        pass  # makes a second, different key
    with pytest.raises(RegistryError, match="does not unlock the registry"):
        Registry.open(paths["registry"], other_key)


def test_missing_key_never_makes_a_new_one(paths, tmp_path):
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("S1", "Ada Example", [fake_encoding(1)])
    missing = tmp_path / "elsewhere" / "consent.key"
    with pytest.raises(RegistryError, match="restore the key file from your backup"):
        Registry.open(paths["registry"], missing)
    assert not missing.exists()


def test_damaged_key_file_is_a_clear_error(paths):
    Registry.open(paths["registry"], paths["key_file"]).close()
    paths["key_file"].write_text("not a key\n")
    with pytest.raises(RegistryError, match="does not hold a consent registry key"):
        Registry.open(paths["registry"], paths["key_file"])


def test_a_file_that_is_not_a_registry(tmp_path):
    bogus = tmp_path / "notes.sqlite3"
    bogus.write_text("just some text, not a database " * 100)
    with pytest.raises(RegistryError, match="is not a consent registry"):
        Registry.open(bogus, tmp_path / "k.key")


def test_a_newer_schema_is_refused(paths):
    Registry.open(paths["registry"], paths["key_file"]).close()
    with sqlite3.connect(paths["registry"]) as raw:
        raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(RegistryError, match="newer version"):
        Registry.open(paths["registry"], paths["key_file"])


def test_audit_log_records_every_change(registry):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)], actor="office")
    registry.add("S1", "Jamie Rivera", [fake_encoding(2)], replace=True, actor="office")
    registry.add("S2", "Sam Example", [fake_encoding(3)], expires=date(2026, 1, 31))
    registry.set_never_publish("S1", actor="head")
    registry.approve("ab" * 32, by="Ms Lee", reason="parent agreed by phone", shows=())
    registry.withdraw_approval("ab" * 32, actor="Ms Lee")
    registry.purge_expired(TODAY, actor="office")
    registry.revoke("S1", actor="office")
    registry.remove("S1", actor="office")

    entries = registry.audit_log()
    actions = [(e.action, e.person_id) for e in entries]
    assert actions == [
        ("create-registry", None),
        ("add", "S1"),
        ("update", "S1"),
        ("add", "S2"),
        ("never-publish", "S1"),
        ("approve", None),
        ("withdraw-approval", None),
        ("purge-expired", "S2"),
        ("revoke", "S1"),
        ("remove", "S1"),
    ]
    assert entries[1].actor == "office"
    assert entries[4].actor == "head"
    assert entries[5].actor == "Ms Lee"
    assert entries[5].details["sha256"] == "ab" * 32
    assert entries[0].actor  # the OS user when no actor is given
    # Names and template values never go into the audit log.
    text = json.dumps([e.to_json() for e in entries])
    assert "Jamie" not in text and "Rivera" not in text
    assert f"{fake_encoding(1)[0]:.6f}"[:8] not in text
    assert [e.action for e in registry.audit_log("S2")] == ["add", "purge-expired"]


def test_audit_log_is_append_only(registry, paths):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    with sqlite3.connect(paths["registry"]) as raw:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw.execute("DELETE FROM audit")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw.execute("UPDATE audit SET actor = 'someone else'")


def test_fingerprint_changes_with_every_change(registry):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)], expires=date(2026, 12, 31))
    registry.add("S2", "Sam Example", [fake_encoding(2)])
    seen = [registry.snapshot(TODAY).fingerprint]
    assert registry.snapshot(TODAY).fingerprint == seen[0]  # stable when nothing changes

    def changed(action) -> None:
        action()
        fingerprint = registry.snapshot(TODAY).fingerprint
        assert fingerprint not in seen
        seen.append(fingerprint)

    changed(lambda: registry.approve("cd" * 32, by="Ms Lee", reason="class trip", shows=()))
    changed(lambda: registry.revoke("S2"))
    changed(lambda: registry.set_never_publish("S1"))
    changed(lambda: registry.add("S2", "Sam Example", [fake_encoding(3)], replace=True))
    changed(lambda: registry.add("S2", "Sam Example", [fake_encoding(3)], replace=True))
    changed(lambda: registry.withdraw_approval("cd" * 32))
    # Crossing an expiry date changes it too: the same records now mean something else.
    assert registry.snapshot(date(2027, 1, 1)).fingerprint != seen[-1]


def test_snapshot_approvals_are_keyed_by_hash(registry):
    approval = registry.approve("EF" * 32, by="Ms Lee", reason="a whole-school photo", shows=())
    snapshot = registry.snapshot(TODAY)
    assert approval.sha256 == "ef" * 32
    assert snapshot.approvals["ef" * 32].by == "Ms Lee"
    assert snapshot.approvals["ef" * 32].reason == "a whole-school photo"
    assert snapshot.today == TODAY


def test_revoke_deletes_templates(registry, paths):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1), fake_encoding(2)])
    person = registry.revoke("S1")
    assert person.status == "revoked" and person.templates == 0
    with sqlite3.connect(paths["registry"]) as raw:
        assert raw.execute("SELECT COUNT(*) FROM templates").fetchone()[0] == 0
    (record,) = registry.snapshot(TODAY).records
    assert record.revoked and record.encodings == ()
    assert record.refusal(TODAY, "website") == "consent revoked"
    with pytest.raises(RegistryError, match="already revoked"):
        registry.revoke("S1")


def test_remove_deletes_the_record_for_good(registry, paths):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    registry.remove("S1")
    assert registry.get("S1") is None
    assert registry.snapshot(TODAY).records == ()
    with sqlite3.connect(paths["registry"]) as raw:
        assert raw.execute("SELECT COUNT(*) FROM templates").fetchone()[0] == 0
        assert raw.execute("SELECT COUNT(*) FROM people").fetchone()[0] == 0
    with pytest.raises(PersonNotFound):
        registry.remove("S1")


def test_never_publish_keeps_templates_and_survives_replace(registry):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    person = registry.set_never_publish("S1")
    assert person.never_publish and person.templates == 1
    person = registry.add("S1", "Jamie Rivera", [fake_encoding(2)], replace=True)
    assert person.never_publish and person.state(TODAY) == "never-publish"
    (record,) = registry.snapshot(TODAY).records
    assert record.never_publish and len(record.encodings) == 1
    assert record.refusal(TODAY, "website") == "marked never-publish"


def test_expiry_and_purge(registry):
    registry.add("OLD", "Old Example", [fake_encoding(1)], expires=date(2026, 6, 30))
    registry.add("NEW", "New Example", [fake_encoding(2)], expires=date(2027, 6, 30))
    registry.add("ANY", "Open Example", [fake_encoding(3)])
    records = {r.person_id: r for r in registry.snapshot(TODAY).records}
    assert records["OLD"].refusal(TODAY, "website") == "consent expired on 2026-06-30"
    assert records["NEW"].refusal(TODAY, "website") is None
    assert registry.get("OLD").state(TODAY) == "expired"

    assert registry.purge_expired(TODAY) == ["OLD"]
    assert registry.get("OLD").templates == 0
    assert registry.get("NEW").templates == 1 and registry.get("ANY").templates == 1
    assert registry.purge_expired(TODAY) == []  # nothing left to purge


def test_adding_an_existing_id(registry):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)], scopes=("website", "social"))
    with pytest.raises(PersonExists, match="already in the registry"):
        registry.add("S1", "Someone Else", [fake_encoding(2)])
    assert registry.get("S1").name == "Jamie Rivera"
    # replace without new templates keeps the stored ones
    person = registry.add("S1", "Jamie  Rivera-Lopez", [], grade="6", replace=True)
    assert person.name == "Jamie Rivera-Lopez" and person.grade == "6"
    assert person.templates == 1 and person.scopes == ("website",)
    (record,) = registry.snapshot(TODAY).records
    assert np.array_equal(record.encodings[0], fake_encoding(1))


def test_replace_never_reactivates_a_revoked_record(registry):
    """A new photo is not consent given again: the record stays revoked (issue 20)."""
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    registry.revoke("S1")
    with pytest.raises(RegistryError, match="at least one reference photo"):
        registry.add("S1", "Jamie Rivera", [], replace=True)
    person = registry.add("S1", "Jamie Rivera", [fake_encoding(2)], replace=True)
    assert person.status == "revoked" and person.templates == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"person_id": "S 1"}, "not a valid id"),
        ({"person_id": ""}, "not a valid id"),
        ({"name": "  "}, "give a name"),
        ({"role": "parent"}, "role must be student or staff"),
        ({"scopes": ("website", "tv")}, "unknown scope tv"),
        ({"scopes": ()}, "at least one scope"),
        ({"encodings": [np.zeros(64)]}, "128 finite numbers"),
        ({"encodings": [np.full(128, np.nan)]}, "128 finite numbers"),
        ({"encodings": []}, "at least one reference photo"),
    ],
)
def test_add_refuses_bad_values(registry, kwargs, message):
    values = {"person_id": "S1", "name": "Jamie Rivera", "encodings": [fake_encoding(1)]}
    values.update(kwargs)
    with pytest.raises(RegistryError, match=message):
        registry.add(**values)
    assert registry.list_people() == []


def test_approve_refuses_bad_values(registry):
    with pytest.raises(RegistryError, match="not an image hash"):
        registry.approve("1234", by="Ms Lee", reason="ok", shows=())
    with pytest.raises(RegistryError, match="--by"):
        registry.approve("ab" * 32, by=" ", reason="ok", shows=())
    with pytest.raises(RegistryError, match="--reason"):
        registry.approve("ab" * 32, by="Ms Lee", reason="", shows=())
    assert registry.approvals() == {}


def test_a_failed_transaction_saves_nothing(registry):
    with pytest.raises(RuntimeError), registry.transaction():
        registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
        registry.approve("ab" * 32, by="Ms Lee", reason="ok", shows=())
        raise RuntimeError("stop")
    assert registry.list_people() == []
    assert registry.approvals() == {}
    assert [e.action for e in registry.audit_log()] == ["create-registry"]


def test_templates_cannot_be_moved_between_people(registry, paths, caplog):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    registry.add("S2", "Sam Example", [fake_encoding(2)])
    with sqlite3.connect(paths["registry"]) as raw:
        raw.execute("UPDATE templates SET person_id = 'S2' WHERE person_id = 'S1'")
    # The moved row fails its authentication: ignored, so S1's face is unknown and the
    # template never counts as S2's.
    records = {r.person_id: r for r in registry.snapshot(TODAY).records}
    assert records["S1"].encodings == ()
    (own,) = records["S2"].encodings
    assert np.array_equal(own, fake_encoding(2))
    assert "templates row 1 (S2): added or changed outside the consent command" in caplog.text
    assert "restore from backup" in caplog.text


def test_context_manager_closes(paths):
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    with pytest.raises(sqlite3.ProgrammingError):
        registry.list_people()
