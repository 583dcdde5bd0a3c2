"""Withdrawn stays withdrawn: the block list, approvals that must say who is shown, record
versions, consent given again, and the withdrawals journal (a real registry on tmp_path;
faces are synthetic templates, see test_withdrawals_real.py for the real face engine)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from consent_registry import withdrawals
from consent_registry.registry import (
    BlockedImage,
    Registry,
    RegistryError,
    StaleRecord,
    UnstatedFaces,
)
from consent_registry.settings import GateSettings
from face_engine.cache import FaceCache
from face_engine.decision import verdict_for_faces
from face_engine.model import PUBLISH, WITHHOLD, DetectedFace, FaceBox

from .conftest import fake_encoding

PHOTO = "cd" * 32  # a photo of S1 the last build scanned
OTHER = "ef" * 32  # a photo never scanned


@pytest.fixture
def settings(paths) -> GateSettings:
    return replace(GateSettings.from_mapping({}), cache_dir=paths["root"] / "cache", workers=1)


def near(seed: int, distance: float, direction: int = 7) -> np.ndarray:
    """A face encoding at exactly `distance` from fake_encoding(seed)."""
    step = np.random.default_rng(1000 + direction).normal(0.0, 1.0, 128)
    return fake_encoding(seed) + distance * step / np.linalg.norm(step)


def face(encoding: np.ndarray, left: int = 10) -> DetectedFace:
    return DetectedFace(FaceBox(10, left + 80, 90, left), "test", 0.99, encoding)


def cache_photo(settings: GateSettings, sha256: str, *encodings: np.ndarray) -> None:
    FaceCache(settings.cache_dir).put(
        sha256, [face(e, 10 + 100 * i) for i, e in enumerate(encodings)], encoded=True
    )


def verdict(registry: Registry, settings, sha256: str, *encodings: np.ndarray):
    snapshot = registry.snapshot(date.today())
    return verdict_for_faces(sha256, [face(e) for e in encodings], snapshot, settings)


@pytest.fixture
def office(registry, settings):
    """S1 and S2 with consent; the build scanned PHOTO (S1's face) into the face cache."""
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    registry.add("S2", "Sam Example", [fake_encoding(2)])
    cache_photo(settings, PHOTO, near(1, 0.3))
    return registry


def test_revoke_keeps_the_photos_and_templates_to_block(office, settings):
    assert verdict(office, settings, PHOTO, near(1, 0.3)).verdict == PUBLISH
    person = office.revoke("S1", actor="m.chen", settings=settings)
    assert person.status == "revoked" and person.templates == 0
    (kept,) = office.withdrawals()
    assert kept.person_id == "S1" and kept.why == "consent revoked"
    assert kept.photos == (PHOTO,) and kept.templates == 1
    assert kept.keep_until == date.today() + timedelta(days=settings.block_retention_days)
    (blocked,) = office.snapshot(date.today()).blocked
    assert blocked.photos == {PHOTO} and len(blocked.encodings) == 1
    # The photo itself, whatever face the next scan finds in it, and the face anywhere.
    result = verdict(office, settings, PHOTO)
    assert result.verdict == WITHHOLD
    assert f"S1 (consent revoked on {date.today().isoformat()})" in result.reasons[0]
    assert "consent reconsent S1" in result.reasons[0]
    assert verdict(office, settings, OTHER, near(1, 0.3)).verdict == WITHHOLD
    # Templates stay encrypted at rest.
    with sqlite3.connect(office.path) as db:
        (blob,) = db.execute("SELECT encrypted FROM blocked_templates").fetchone()
    assert fake_encoding(1).astype("<f8").tobytes()[:16] not in blob


def test_an_approval_cannot_publish_a_withdrawn_person(office, settings):
    office.revoke("S1", settings=settings)
    for sha256 in (PHOTO, OTHER):
        with pytest.raises(BlockedImage, match="S1 \\(consent revoked on"):
            office.approve(
                sha256,
                by="Ms Lee",
                reason="family agreed by phone",
                shows=(),
                faces=[face(near(1, 0.3))],
                settings=settings,
            )
    with pytest.raises(BlockedImage):
        office.approve(
            PHOTO, by="Ms Lee", reason="ok", shows=(), not_student="visitor", settings=settings
        )
    with pytest.raises(RegistryError, match="--shows S1 .*consent revoked"):
        office.approve(OTHER, by="Ms Lee", reason="ok", shows=["S1"], faces=[])
    assert office.approvals() == {}


def test_an_approval_made_before_the_withdrawal_no_longer_publishes(office, settings):
    office.approve(OTHER, by="Ms Lee", reason="ok", shows=(), faces=[], settings=settings)
    # Approved as "nobody", then the gate sees S1's face there after S1 withdrew.
    office.revoke("S1", settings=settings)
    result = verdict(office, settings, OTHER, near(1, 0.3))
    assert result.verdict == WITHHOLD and "close to S1" in " ".join(result.reasons)


@pytest.mark.parametrize("extra", [0.02, 0.07])
def test_a_face_within_tolerance_plus_margin_of_a_blocked_template_is_withheld(
    office, settings, extra
):
    office.revoke("S1", settings=settings)
    distance = settings.tolerance + extra  # unknown to matching, close to the block list
    office.approve(OTHER, by="Ms Lee", reason="visitor", shows=(), not_student="visitor", faces=[])
    result = verdict(office, settings, OTHER, near(1, distance))
    assert result.verdict == WITHHOLD
    assert f"distance {distance:.2f}" in " ".join(result.reasons)
    far = settings.tolerance + settings.margin + 0.02
    assert verdict(office, settings, OTHER, near(1, far)).verdict == PUBLISH


def test_a_consented_face_far_closer_to_its_own_record_is_not_blocked(registry, settings):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    twin = near(1, 0.5, direction=3)
    registry.add("S2", "Jo Rivera", [twin], lookalike_of=["S1"])
    registry.revoke("S1", settings=settings)
    assert verdict(registry, settings, OTHER, near(1, 0.45, direction=3)).verdict == PUBLISH
    assert verdict(registry, settings, OTHER, near(1, 0.2)).verdict == WITHHOLD


def test_approvals_must_say_who_each_unmatched_face_is(office, settings):
    office.revoke("S1", settings=settings)
    stranger = near(1, 0.9)  # far from everyone: a face matching no record
    cache_photo(settings, OTHER, near(2, 0.1), stranger)
    with pytest.raises(UnstatedFaces, match="--not-student") as refused:
        office.approve(OTHER, by="Ms Lee", reason="ok", shows=["S2"], settings=settings)
    ((number, _, closest),) = refused.value.faces
    assert number == 2
    assert [(c.person.person_id, c.withdrawn) for c in closest][0] == ("S1", True)
    with pytest.raises(UnstatedFaces):
        office.approve(OTHER, by="Ms Lee", reason="ok", shows=(), settings=settings)
    approval = office.approve(
        OTHER, by="Ms Lee", reason="ok", shows=["S2"], not_student="parent", settings=settings
    )
    assert approval.not_student == "parent"
    assert office.approvals()[OTHER].shows_text() == "S2; not a student: parent"
    assert office.audit_log()[-1].details["not_student"] == "parent"
    # Nobody identifiable: still "--shows nobody" when the build saw no unmatched face.
    office.approve(PHOTO[::-1], by="Ms Lee", reason="ok", shows=(), settings=settings)


def test_closest_records_include_withdrawn_and_removed(office, settings):
    office.revoke("S1", settings=settings)
    office.set_never_publish("S2", settings=settings)
    office.remove("S2")
    found = office.closest_records(near(1, 0.2), limit=5)
    assert [(c.person.person_id, c.withdrawn) for c in found] == [("S1", True), ("S2", True)]
    assert found[0].distance == pytest.approx(0.2)
    assert found[1].person.name == "(record removed)"
    assert len(office.closest_records(near(1, 0.2), limit=1)) == 1


def test_a_change_from_an_older_version_is_refused_with_what_changed(office, settings):
    seen = office.get("S1").version
    office.add("S1", "Jamie Rivera", [], scopes=("website",), replace=True, actor="a.officer")
    narrowed = office.get("S1")
    assert narrowed.version == seen + 1
    with pytest.raises(StaleRecord) as stale:
        office.add(
            "S1",
            "Jamie Rivera",
            [],
            scopes=("website", "print", "social"),
            expires=date(2030, 6, 30),
            replace=True,
            actor="b.officer",
            expected_version=seen,
        )
    message = str(stale.value)
    assert "a.officer: update" in message and "Reload" in message
    assert f"your version {seen}, now version {seen + 1}" in message
    assert office.get("S1").scopes == ("website",)
    for change in (
        lambda v: office.revoke("S1", expected_version=v, settings=settings),
        lambda v: office.set_never_publish("S1", expected_version=v, settings=settings),
        lambda v: office.remove("S1", expected_version=v),
    ):
        with pytest.raises(StaleRecord):
            change(seen)
    office.revoke("S1", expected_version=narrowed.version, settings=settings)
    assert office.get("S1").version == narrowed.version + 1


def test_an_edit_or_a_new_photo_never_gives_consent_again(office, settings):
    office.revoke("S1", settings=settings)
    person = office.add("S1", "Jamie Rivera", [near(1, 0.05)], replace=True)
    assert person.status == "revoked"
    assert verdict(office, settings, PHOTO, near(1, 0.3)).verdict == WITHHOLD


def test_consent_given_again_makes_the_photo_publishable(office, settings):
    office.approve(PHOTO, by="Ms Lee", reason="ok", shows=["S1"], faces=[], settings=settings)
    office.revoke("S1", settings=settings)
    assert verdict(office, settings, PHOTO, near(1, 0.3)).verdict == WITHHOLD
    with pytest.raises(RegistryError, match="--evidence"):
        office.give_consent_again("S1", given_on=date.today(), by="Parent", evidence=" ")
    person = office.give_consent_again(
        "S1", given_on=date.today(), by="Ana Rivera", evidence="signed form 2026/14"
    )
    assert person.status == "active" and person.templates == 1
    assert office.withdrawals() == [] and office.snapshot(date.today()).blocked == ()
    assert verdict(office, settings, PHOTO, near(1, 0.3)).verdict == PUBLISH
    entry = office.audit_log("S1")[-1]
    assert entry.action == "reconsent" and entry.details["evidence"] == "signed form 2026/14"
    with pytest.raises(RegistryError, match="not withdrawn"):
        office.give_consent_again("S1", given_on=date.today(), by="x", evidence="y")
    office.set_never_publish("S1", settings=settings)
    with pytest.raises(RegistryError, match="never-publish"):
        office.give_consent_again("S1", given_on=date.today(), by="x", evidence="y")


def test_expiry_purge_blocks_until_the_consent_is_renewed(registry, settings):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)], expires=date(2026, 6, 30))
    cache_photo(settings, PHOTO, near(1, 0.3))
    assert registry.purge_expired(date(2026, 7, 1), settings=settings) == ["S1"]
    (kept,) = registry.withdrawals()
    assert kept.why == "consent expired" and kept.withdrawn_on == date(2026, 6, 30)
    assert PHOTO in kept.photos
    registry.approve(OTHER, by="Ms Lee", reason="ok", shows=(), faces=[])
    assert verdict(registry, settings, OTHER, near(1, 0.3)).verdict == WITHHOLD
    # Renewed (a new end date and photos): the expiry no longer blocks.
    registry.add(
        "S1", "Jamie Rivera", [fake_encoding(1)], expires=date.today() + timedelta(days=30),
        replace=True,
    )  # fmt: skip
    assert verdict(registry, settings, PHOTO, near(1, 0.3)).verdict == PUBLISH


def test_block_data_is_purged_only_after_its_retention(office, settings):
    office.revoke("S1", settings=replace(settings, block_retention_days=30))
    (kept,) = office.withdrawals()
    assert office.purge_block_data(kept.keep_until) == []
    assert office.withdrawals() and office.snapshot(date.today()).blocked
    assert office.purge_block_data(kept.keep_until + timedelta(days=1)) == ["S1"]
    assert office.withdrawals() == []
    with sqlite3.connect(office.path) as db:
        assert db.execute("SELECT COUNT(*) FROM blocked_templates").fetchone()[0] == 0
    assert office.audit_log("S1")[-1].action == "purge-block-data"
    assert office.integrity_problems() == []


def test_block_data_deleted_outside_the_command_suspends_every_approval(office, settings):
    office.approve(OTHER, by="Ms Lee", reason="ok", shows=(), faces=[], settings=settings)
    office.revoke("S1", settings=settings)
    with sqlite3.connect(office.path) as db:
        db.execute("DELETE FROM withdrawals")
        db.execute("DELETE FROM blocked_templates")
    snapshot = office.snapshot(date.today())
    assert snapshot.blocked == () and snapshot.approvals == {}
    assert verdict(office, settings, OTHER, near(1, 0.3)).verdict == WITHHOLD


@pytest.mark.parametrize(
    "tamper",
    ["UPDATE withdrawals SET photos = '[]'", "UPDATE blocked_templates SET created_at = 'x'"],
)
def test_block_rows_changed_outside_the_command_suspend_every_approval(office, settings, tamper):
    office.approve(OTHER, by="Ms Lee", reason="ok", shows=(), faces=[], settings=settings)
    office.revoke("S1", settings=settings)
    with sqlite3.connect(office.path) as db:
        db.execute(tamper)
    assert office.snapshot(date.today()).approvals == {}
    assert verdict(office, settings, OTHER, near(1, 0.3)).verdict == WITHHOLD
    assert any("suspended" in problem for problem in office.integrity_problems())


def test_every_withdrawal_is_journalled_in_a_chain(office, settings):
    office.revoke("S1", actor="m.chen", settings=settings)
    office.set_never_publish("S2", settings=settings)
    office.give_consent_again("S1", given_on=date.today(), by="Ana", evidence="form")
    journal = withdrawals.read(withdrawals.journal_path(office.path), office._key)
    assert journal.problems == []
    assert [(e.seq, e.action, e.person_id) for e in journal.entries] == [
        (1, "revoke", "S1"),
        (2, "never-publish", "S2"),
        (3, "reconsent", "S1"),
    ]
    assert journal.entries[0].photos == (PHOTO,) and journal.entries[0].actor == "m.chen"
    path = journal.path
    lines = path.read_text().splitlines()
    data = json.loads(lines[0])
    data["person_id"] = "S9"
    path.write_text("\n".join([json.dumps(data), *lines[1:]]) + "\n")
    damaged = withdrawals.read(path, office._key)
    assert damaged.entries == [] and "line 1" in damaged.problems[0]
    path.write_text("\n".join([lines[0], lines[2]]) + "\n")
    assert "does not follow line 1" in withdrawals.read(path, office._key).problems[0]


def test_a_damaged_journal_never_stops_a_withdrawal(office, settings, caplog):
    path = withdrawals.journal_path(office.path)
    office.revoke("S1", settings=settings)
    path.write_text("garbage\n")
    office.set_never_publish("S2", settings=settings)
    assert "withdrawals journal" in caplog.text and "damaged" in caplog.text
    journal = withdrawals.read(path, office._key)
    assert journal.problems == [] and [e.seq for e in journal.entries] == [2]
    assert list(path.parent.glob(path.name + ".damaged-*"))


def test_a_schema_2_registry_is_upgraded_keeping_its_seals(paths):
    """A schema-2 registry (the columns and tables of schema 3 removed) opens, is upgraded,
    and keeps the verdicts it had; an altered row stays altered."""
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
        registry.add("S2", "Sam Example", [fake_encoding(2)])
        registry.approve(OTHER, by="Ms Lee", reason="ok", shows=["S1"], faces=[])
    downgrade_to_schema_2(paths)
    with sqlite3.connect(paths["registry"]) as db:
        db.execute("UPDATE people SET scopes = 'print,website' WHERE id = 'S2'")
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        assert registry.migrated_from == 2
        assert {p.person_id: p.authentic for p in registry.list_people()} == {
            "S1": True,
            "S2": False,
        }
        assert registry.approvals()[OTHER].shows == ("S1",)
        assert registry.get("S1").version == 1
        assert registry.verify_audit() == []


def downgrade_to_schema_2(paths) -> None:
    """Make the registry look as schema 2 wrote it: the MACs of people and approvals over
    their schema-2 columns, no version / not_student columns, no block tables."""
    from consent_registry import crypto

    key = crypto.read_key_file(paths["key_file"])
    row_key = crypto.derive_key(key, "rows")
    with sqlite3.connect(paths["registry"]) as db:
        meta = dict(db.execute("SELECT key, value FROM meta"))
        mac, _, text = meta["row_seals"].partition(" ")
        seals = json.loads(text)
        for table in ("withdrawals", "blocked_templates"):
            seals.pop(table, None)
        for row in db.execute(
            "SELECT id, name, role, grade, scopes, expires, status, never_publish, "
            "created_at, updated_at, lookalikes FROM people"
        ).fetchall():
            seals["people"][row[0]] = crypto.mac(row_key, "people", *row)
            db.execute("UPDATE people SET mac = ? WHERE id = ?", (seals["people"][row[0]], row[0]))
        for row in db.execute(
            "SELECT sha256, approved_by, reason, approved_at, shows, label FROM approvals"
        ).fetchall():
            seals["approvals"][row[0]] = crypto.mac(row_key, "approvals", *row)
            db.execute(
                "UPDATE approvals SET mac = ? WHERE sha256 = ?",
                (seals["approvals"][row[0]], row[0]),
            )
        text = json.dumps(seals, sort_keys=True, separators=(",", ":"))
        db.execute(
            "UPDATE meta SET value = ? WHERE key = 'row_seals'",
            (crypto.mac(row_key, "row-seals", text) + " " + text,),
        )
        db.execute("DROP TABLE withdrawals")
        db.execute("DROP TABLE blocked_templates")
        db.execute("ALTER TABLE people DROP COLUMN version")
        db.execute("ALTER TABLE approvals DROP COLUMN not_student")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        db.execute("PRAGMA user_version = 2")


def test_the_registry_settings_serve_callers_that_give_none(office, settings):
    """An import or the workspace revokes without settings: the registry's own (set by
    whoever opened it, as `consent` does) find the photos in the right face cache."""
    office.gate_settings = settings
    office.revoke("S1")
    (kept,) = office.withdrawals()
    assert kept.photos == (PHOTO,)


def test_a_withdrawal_rolled_back_journals_nothing(office, settings):
    with pytest.raises(RuntimeError), office.transaction():
        office.revoke("S1", settings=settings)
        raise RuntimeError("a later step of the same change failed")
    assert office.get("S1").status == "active" and office.withdrawals() == []
    assert not withdrawals.journal_path(office.path).exists()
    office.revoke("S1", settings=settings)  # the next one starts the journal cleanly
    journal = withdrawals.read(withdrawals.journal_path(office.path), office._key)
    assert journal.problems == [] and [e.seq for e in journal.entries] == [1]


def test_each_blocked_person_is_measured_on_their_own_templates(settings):
    """Many withdrawn people, some kept by photo only: the face is named against the right
    one, at its own distance."""
    from face_engine.model import BlockedPerson, RegistrySnapshot

    people = [BlockedPerson("W0", date.today(), "consent revoked", (), frozenset({PHOTO}))] + [
        BlockedPerson(
            f"W{i}",
            date.today(),
            "consent revoked",
            (fake_encoding(i), near(i, 0.9, direction=50 + i)),
        )
        for i in range(1, 40)
    ]
    snapshot = RegistrySnapshot((), {}, date.today(), "test", tuple(people))
    result = verdict_for_faces(OTHER, [face(near(17, 0.33))], snapshot, settings)
    assert result.verdict == WITHHOLD
    (reason,) = result.reasons
    assert "close to W17 (consent revoked" in reason and "distance 0.33" in reason
    far = verdict_for_faces(OTHER, [face(near(17, 0.7))], snapshot, settings)
    assert [r for r in far.reasons if "close to" in r] == []  # unknown, no more


def test_consent_given_again_after_expiry_takes_the_new_terms(registry, settings):
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)], expires=date(2026, 6, 30))
    registry.purge_expired(date(2026, 7, 1), settings=settings)
    renewed = date.today() + timedelta(days=365)
    person = registry.give_consent_again(
        "S1", given_on=date.today(), by="Ana Rivera", evidence="form", expires=renewed,
        scopes=("website", "print"),
    )  # fmt: skip
    assert person.expires == renewed and person.scopes == ("print", "website")
    assert person.templates == 1 and registry.withdrawals() == []
    assert verdict(registry, settings, PHOTO, near(1, 0.3)).verdict == PUBLISH
