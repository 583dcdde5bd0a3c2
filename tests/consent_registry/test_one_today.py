"""One "today" for every consent decision (``consent_registry.clock``) and the clock the
registry refuses, with an injected clock: the rule itself, the build's read of the registry
(which never purges), `publish`'s re-check and the workspace's decisions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from consent_registry import clock
from consent_registry.clock import AHEAD_DAYS, ClockError, check_clock, consent_today
from consent_registry.registry import Registry, RegistryError
from consent_registry.settings import GateSettings

from .conftest import fake_encoding

NY = "America/New_York"


def test_after_8pm_in_new_york_a_utc_clock_is_still_the_school_day(monkeypatch):
    monkeypatch.delenv("SITE_DATE", raising=False)
    late = datetime(2026, 12, 8, 1, 30, tzinfo=UTC)  # 20:30 on the 7th in New York
    assert consent_today(NY, now=late) == date(2026, 12, 7)
    assert consent_today("UTC", now=late) == date(2026, 12, 8)


def test_site_date_only_ever_moves_the_day_later(monkeypatch):
    now = datetime(2026, 12, 8, 1, 30, tzinfo=UTC)
    monkeypatch.setenv("SITE_DATE", "2027-01-05")
    assert consent_today(NY, now=now) == date(2027, 1, 5)
    monkeypatch.setenv("SITE_DATE", "2020-01-05")
    assert consent_today(NY, now=now) == date(2026, 12, 7)
    monkeypatch.setenv("SITE_DATE", "next tuesday")  # the build stops on it with its message
    assert consent_today(NY, now=now) == date(2026, 12, 7)


def test_the_timezone_setting_is_carried_and_checked():
    assert GateSettings.from_mapping({"TIMEZONE": NY}).timezone == NY
    assert GateSettings.from_mapping({}).timezone is None
    with pytest.raises(ValueError, match="is not a time zone"):
        GateSettings.from_mapping({"TIMEZONE": "Mars/Olympus"})


NEWEST = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def test_a_clock_behind_the_newest_audit_entry_is_refused():
    behind = NEWEST - timedelta(days=2)
    with pytest.raises(ClockError, match="earlier than the consent registry's newest audit"):
        check_clock(NEWEST, behind.date(), timezone=NY, told=None, now=behind)
    # A few minutes of difference between clocks is not a wrong clock.
    check_clock(NEWEST, NEWEST.date(), timezone=NY, told=None, now=NEWEST - clock.SKEW / 2)
    # Told the date (SITE_DATE), it goes ahead, unless the date told is before the log.
    check_clock(NEWEST, date(2026, 12, 7), timezone=NY, told=date(2026, 12, 7), now=behind)
    with pytest.raises(ClockError, match="before the consent registry's newest audit entry"):
        check_clock(NEWEST, date(2026, 12, 1), timezone=NY, told=date(2026, 12, 1), now=behind)


def test_a_clock_far_ahead_is_refused_only_when_an_expiry_depends_on_it():
    ahead = NEWEST + timedelta(days=40)
    today = ahead.date()
    ended = [("S1", date(2026, 12, 20))]  # ended after the newest entry, before "today"
    with pytest.raises(ClockError, match=r"S1 \(last day 2026-12-20\).*only this clock says so"):
        check_clock(NEWEST, today, timezone=NY, told=None, expiries=ended, now=ahead)
    # A registry nobody changed for months, with no consent ending meanwhile: fine.
    earlier = [("S2", date(2026, 11, 1)), ("S3", date(2027, 6, 30))]
    check_clock(NEWEST, today, timezone=NY, told=None, expiries=earlier, now=ahead)
    # Within AHEAD_DAYS of the newest entry, the clock is not questioned.
    near = NEWEST + timedelta(days=AHEAD_DAYS)
    soon = [("S1", date(2026, 12, 8))]
    check_clock(NEWEST, near.date(), timezone=NY, told=None, expiries=soon, now=near)
    # Told the date, it goes ahead.
    check_clock(NEWEST, today, timezone=NY, told=today, expiries=ended, now=ahead)


@pytest.fixture
def expired_registry(paths):
    """A registry with a consent that ended (templates still held) and a current one."""
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("OLD", "Old Consent", [fake_encoding(1)], expires=date(2020, 6, 30))
        registry.add("NEW", "New Consent", [fake_encoding(2)], expires=date(2099, 6, 30))
    return paths


def _templates(paths) -> dict[str, int]:
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        return {p.person_id: p.templates for p in registry.list_people()}


def test_the_build_withholds_expired_consent_and_never_deletes_it(expired_registry):
    from site_gate.gate import load_snapshot

    paths = expired_registry
    settings = GateSettings.from_mapping({"TIMEZONE": NY})
    snapshot, present = load_snapshot(settings, consent_today(NY))
    assert present
    old = next(r for r in snapshot.records if r.person_id == "OLD")
    assert old.refusal(snapshot.today, "website")  # expired: withheld
    assert _templates(paths) == {"OLD": 1, "NEW": 1}  # nothing purged
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        assert "purge-expired" not in [e.action for e in registry.audit_log()]


def _clock_at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(clock, "now_utc", lambda: moment)


def test_the_build_and_publish_refuse_a_clock_behind_the_registry(expired_registry, monkeypatch):
    from s3_publish.consent import open_snapshot
    from s3_publish.errors import PublishError
    from site_gate.gate import load_snapshot

    monkeypatch.delenv("SITE_DATE", raising=False)
    settings = GateSettings.from_mapping({"TIMEZONE": NY})
    behind = datetime.now(UTC) - timedelta(days=3)
    _clock_at(monkeypatch, behind)
    with pytest.raises(ClockError, match="earlier than the consent registry's newest"):
        load_snapshot(settings, consent_today(NY))
    with pytest.raises(PublishError, match="earlier than .* Nothing was published"):
        open_snapshot(settings)
    # An older SITE_DATE (a feeds preview) does not decide the day: the clock is checked.
    monkeypatch.setenv("SITE_DATE", "2020-01-27")
    with pytest.raises(ClockError, match="earlier than the consent registry's newest"):
        load_snapshot(settings, consent_today(NY))
    # Told the date, both go ahead.
    monkeypatch.setenv("SITE_DATE", datetime.now(UTC).date().isoformat())
    load_snapshot(settings, consent_today(NY))
    open_snapshot(settings)


def test_publish_refuses_a_clock_far_ahead_when_a_consent_ended_meanwhile(paths, monkeypatch):
    from s3_publish.consent import open_snapshot
    from s3_publish.errors import PublishError

    monkeypatch.delenv("SITE_DATE", raising=False)
    ends = datetime.now(UTC).date() + timedelta(days=10)
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("S1", "Ends Soon", [fake_encoding(1)], expires=ends)
    _clock_at(monkeypatch, datetime.now(UTC) + timedelta(days=30))
    with pytest.raises(PublishError, match=r"S1 \(last day .*only this clock says so"):
        open_snapshot(GateSettings.from_mapping({"TIMEZONE": NY}))


def test_workspace_decisions_use_the_one_day_and_refuse_a_wrong_clock(paths, monkeypatch):
    from consent_office.settings import OfficeSettings
    from consent_office.web import Workspace

    monkeypatch.delenv("SITE_DATE", raising=False)
    workspace = Workspace(OfficeSettings.from_mapping({"TIMEZONE": NY}, project=paths["root"]))
    late = datetime(2026, 12, 8, 1, 30, tzinfo=UTC)
    _clock_at(monkeypatch, late)
    assert workspace.today() == date(2026, 12, 7)
    monkeypatch.setenv("SITE_DATE", "2027-03-01")
    assert workspace.today() == date(2027, 3, 1)
    monkeypatch.delenv("SITE_DATE")
    _clock_at(monkeypatch, datetime.now(UTC))
    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("S1", "Some One", [fake_encoding(1)])
        assert workspace.decision_day(registry, "the approval") == workspace.today()
        _clock_at(monkeypatch, datetime.now(UTC) - timedelta(days=2))
        with pytest.raises(RegistryError, match="the approval was refused"):
            workspace.decision_day(registry, "the approval")


def test_a_back_dated_audit_entry_is_refused_but_a_withdrawal_never_waits(paths, monkeypatch):
    import consent_registry.audit as audit_module

    with Registry.open(paths["registry"], paths["key_file"]) as registry:
        registry.add("S1", "Some One", [fake_encoding(1)])
        registry.add("S2", "Other One", [fake_encoding(2)])
        log = registry.audit_log()
        earlier = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds")
        monkeypatch.setattr(audit_module, "_now", lambda: earlier)
        with pytest.raises(RegistryError, match="earlier than the registry's newest audit"):
            registry.add("S1", "Some One", [fake_encoding(3)], replace=True)
        with pytest.raises(RegistryError, match="earlier than the registry's newest audit"):
            registry.add("S3", "New One", [fake_encoding(4)])
        assert registry.get("S3") is None and len(registry.audit_log()) == len(log)
        # A withdrawal is recorded, at the newest entry's time, with the clock's reading.
        registry.revoke("S2", actor="office")
        assert registry.get("S2").status == "revoked"
        entry = registry.audit_log()[-1]
        assert entry.action == "revoke" and entry.at == log[-1].at
        assert entry.details["clock_read"] == earlier
        assert registry.verify_audit() == []
