"""The one way to read the registry for a decision: the build's gate, `consent check` and
the publish-time re-check all call `open_snapshot`, so they read it the same way.

Without a registry file the snapshot is empty (every face is unknown, every photo with a
face is withheld); `publish` refuses that case itself, because an empty registry would
take every consented photo down. A registry that exists but cannot be read raises.

`registry_state` names the registry's exact stored state without opening it, so a
rebuild can tell that nothing a verdict depends on changed (``consent_gate.memo``).
"""

from __future__ import annotations

import hashlib
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
