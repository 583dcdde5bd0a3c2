"""Helpers for the search tests: reading a Pagefind bundle back as bytes."""

from __future__ import annotations

import gzip
from pathlib import Path

SIGNATURE = b"pagefind_dcd"


def search_plugins() -> list[str]:
    """The project's PLUGINS with site_search switched on, just before the consent gate."""
    import pelicanconf

    others = [name for name in pelicanconf.PLUGINS if name not in ("site_search", "consent_gate")]
    return [*others, "site_search", "consent_gate"]


def bundle_bytes(bundle: Path) -> bytes:
    """Every index file of a bundle, decompressed and joined (the UI scripts left out)."""
    parts = []
    for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
            assert data.startswith(SIGNATURE), f"{path} is not a Pagefind file"
            parts.append(data)
        elif path.suffix == ".json":
            parts.append(data)
    return b"\n".join(parts)
