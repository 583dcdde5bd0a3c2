"""The one way to read the registry for a decision: the build's gate, `consent check` and
the publish-time re-check all call `open_snapshot`, so they read it the same way.

Without a registry file the snapshot is empty (every face is unknown, every photo with a
face is withheld); `publish` refuses that case itself, because an empty registry would
take every consented photo down. A registry that exists but cannot be read raises.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from face_engine.model import RegistrySnapshot

NO_REGISTRY_FINGERPRINT = "no-registry"


def open_snapshot(
    registry: Path, key_file: Path, today: date, *, purge_expired: bool = False
) -> tuple[RegistrySnapshot, bool]:
    """(the registry as of `today`, whether a registry file was there).

    `purge_expired` (the build does it) first deletes the templates of consent that
    expired, by the real date, never by a preview date (SITE_DATE) in the future."""
    if not Path(registry).exists():
        empty = RegistrySnapshot(
            records=(), approvals={}, today=today, fingerprint=NO_REGISTRY_FINGERPRINT
        )
        return empty, False
    from .registry import Registry

    with Registry.open(registry, key_file) as opened:
        if purge_expired:
            opened.purge_expired(min(today, date.today()), actor="site build")
        return opened.snapshot(today), True
