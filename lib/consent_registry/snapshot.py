"""The one way to read the registry for a decision: the build's gate, `consent check` and
the publish-time re-check all call `open_snapshot`, so they read it the same way, for the
day ``clock.consent_today`` gives, and refuse a clock the registry shows to be wrong.

Without a registry file the snapshot is empty (every face is unknown, every photo with a
face is withheld); `publish` refuses that case itself, because an empty registry would
take every consented photo down. A registry that exists but cannot be read raises.

`registry_state` names the registry's exact stored state without opening it, so a
rebuild can tell that nothing a verdict depends on changed (``site_gate.memo``).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

from face_engine.model import RegistrySnapshot

NO_REGISTRY_FINGERPRINT = "no-registry"


def open_snapshot(
    registry: Path,
    key_file: Path,
    today: date,
    *,
    timezone: str | None = None,
    now: datetime | None = None,
) -> tuple[RegistrySnapshot, bool]:
    """(the registry as of `today`, whether a registry file was there).

    `today` is ``clock.consent_today(timezone)``. A clock the registry shows to be wrong
    (``check_dated``) raises ClockError before anything is decided. Reading never changes
    the registry: expiry withholds, and only `consent purge-expired` deletes templates."""
    if not Path(registry).exists():
        empty = RegistrySnapshot(
            records=(), approvals={}, today=today, fingerprint=NO_REGISTRY_FINGERPRINT
        )
        return empty, False
    from .registry import Registry

    with Registry.open(registry, key_file) as opened:
        check_dated(opened, today, timezone=timezone, now=now)
        return opened.snapshot(today), True


def check_dated(
    opened,
    today: date,
    *,
    timezone: str | None,
    told: date | None | bool = True,
    now: datetime | None = None,
    what: str = "the consent decision",
    how_to_tell: str = "SITE_DATE=YYYY-MM-DD",
) -> None:
    """Refuse (``clock.ClockError``) to decide by `today` on the open registry `opened`
    when its audit log shows the clock to be wrong (``clock.check_clock``). `told`: the
    date the user gave; True (the default) reads SITE_DATE, which counts only when it is
    the day decided for (an older SITE_DATE, e.g. a feeds preview, leaves the clock's day,
    and the clock is checked)."""
    from school_feeds.site_date import SiteDateError

    from .clock import check_clock, told_day

    if told is True:
        try:
            told = told_day(timezone)
        except SiteDateError:
            told = None
        if told != today:
            told = None
    expiries = [
        (p.person_id, p.expires)
        for p in opened.list_people()
        if p.expires is not None and p.templates and p.status != "revoked" and not p.never_publish
    ]
    check_clock(
        opened.newest_audit_at(),
        today,
        timezone=timezone,
        told=told or None,
        expiries=expiries,
        now=now,
        what=what,
        how_to_tell=how_to_tell,
    )


def registry_state(registry: Path, key_file: Path) -> str:
    """A digest of every byte the registry's decisions come from: the database, its
    write-ahead log and the key file. Any write (an addition, a revoke, an approval, a
    purge, a forged row) gives another digest; reading the database changes nothing.
    No decryption and no numpy: hashing a 10 MB registry takes about 10 ms."""
    registry, key_file = Path(registry), Path(key_file)
    digest = hashlib.sha256(b"registry-state-1")
    for path in (registry, registry.with_name(registry.name + "-wal"), key_file):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = None
        name = str(path.resolve()).encode("utf-8", "surrogateescape")
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(b"\xff" * 8 if data is None else len(data).to_bytes(8, "big"))
        digest.update(data or b"")
    return digest.hexdigest()
