"""Every time the consent registry writes comes from one clock (``clock.now_utc``): the
records, the audit log, approvals, the withdrawals journal and backup names. Set there, it
is the clock of all of them."""

from __future__ import annotations

from datetime import UTC, datetime

from consent_registry import clock, crypto, storage, withdrawals

from .conftest import fake_encoding

MOMENT = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_every_time_the_registry_writes_comes_from_the_one_clock(registry, paths, monkeypatch):
    monkeypatch.setattr(clock, "now_utc", lambda: MOMENT)
    registry.add("S1", "Jamie Rivera", [fake_encoding(1)])
    approval = registry.approve(
        "ab" * 32, "Ms Lee", "class trip", shows=["S1"], today=MOMENT.date()
    )
    registry.revoke("S1")

    person = registry.get("S1")
    assert (person.created_at, person.updated_at) == (MOMENT, MOMENT)
    assert approval.at == MOMENT
    assert {entry.at for entry in registry.audit_log("S1")} == {MOMENT}
    key = crypto.read_key_file(paths["key_file"])
    journal = withdrawals.read(withdrawals.journal_path(paths["registry"]), key)
    assert journal.problems == []
    assert [entry.at for entry in journal.entries] == [MOMENT.isoformat(timespec="seconds")]
    assert storage.backup_name(paths["registry"]) == "registry-20310506T070809Z.sqlite3"
